/**
 * How to pair an hwmon chip's voltage inputs (`inN`) with its current inputs (`currN`) when the
 * driver gives no labels (kepler-behaviour.md §3.9). Index numbers are per sensor type in the
 * hwmon ABI, so whether `in1` belongs with `curr1` depends on how the driver registers its
 * channels; this is the table of drivers where we know. Rules from
 * `experimental.hwmon.chipRules` come first, so an operator can fix or extend a chip without a
 * new build.
 */
import type { HwmonChipRule } from "../config/Config.js"

export interface ChipPairingRule {
  /** Explicit voltage index → current index pairs, in voltage-index order. */
  readonly pairings: ReadonlyArray<readonly [voltage: number, current: number]>
  /** Voltage channels that are never a power rail (shunt voltages, sums, aux ADCs). */
  readonly skipVoltages: ReadonlyArray<number>
  /** Current channels without a matching voltage (per-phase, current-only channels). */
  readonly skipCurrents: ReadonlyArray<number>
  /** `inN` pairs with `currN`; `pairings` is then ignored. */
  readonly useSameIndex: boolean
}

const sameIndex = (
  skip: { readonly voltages?: ReadonlyArray<number>; readonly currents?: ReadonlyArray<number> } = {}
) =>
  ({
    pairings: [],
    skipVoltages: skip.voltages ?? [],
    skipCurrents: skip.currents ?? [],
    useSameIndex: true
  }) satisfies ChipPairingRule

const paired = (
  pairings: ChipPairingRule["pairings"],
  skip: { readonly voltages?: ReadonlyArray<number>; readonly currents?: ReadonlyArray<number> } = {}
) =>
  ({
    pairings,
    skipVoltages: skip.voltages ?? [],
    skipCurrents: skip.currents ?? [],
    useSameIndex: false
  }) satisfies ChipPairingRule

/** Kepler's built-in table, keyed by the driver's `name` file (Linux hwmon driver docs). */
export const BUILTIN_CHIP_RULES: ReadonlyMap<string, ChipPairingRule> = new Map<string, ChipPairingRule>([
  // TI INA family. INA3221: in1–in3 bus voltages, in4–in6 shunt voltages, in7 their sum.
  ["ina3221", sameIndex({ voltages: [4, 5, 6, 7] })],
  // INA226/219/209/238: in0 is the shunt voltage, in1 the bus voltage, curr1 the current.
  ["ina226", paired([[1, 1]], { voltages: [0] })],
  ["ina219", paired([[1, 1]], { voltages: [0] })],
  ["ina209", paired([[1, 1]], { voltages: [0] })],
  ["ina238", paired([[1, 1]], { voltages: [0] })],
  // INA260 has its shunt inside and reports no shunt voltage; INA233's in2 is the shunt.
  ["ina260", paired([[1, 1]])],
  ["ina233", paired([[1, 1]], { voltages: [2] })],
  // Analog Devices / Linear Technology LTC family.
  ["ltc2945", paired([[1, 1]], { voltages: [2] })],
  ["ltc2947", paired([[0, 1]])],
  ["ltc4260", paired([[1, 1]], { voltages: [2] })],
  ["ltc4261", paired([[1, 1]], { voltages: [2] })],
  // LTC2992: two rails (in0→curr1, in2→curr2); in1/in3 are delta-sense, in4/in5 GPIO.
  ["ltc2992", paired([[0, 1], [2, 2]], { voltages: [1, 3, 4, 5] })],
  ["ltc4282", paired([[1, 1]], { voltages: [2, 3, 4] })],
  // ADM PMBus hot-swap controllers: in1 = VIN, in2 = VOUT, curr1 = input current.
  ["adm1275", paired([[1, 1]])],
  ["adm1276", paired([[1, 1]])],
  ["adm1278", paired([[1, 1]])],
  ["adm1293", paired([[1, 1]])],
  // MAX20730/20751: curr1 is the OUTPUT current, so it pairs with VOUT (in2), not VIN (in1).
  ["max20730", paired([[2, 1]])],
  ["max20751", paired([[2, 1]])],
  ["max34440", sameIndex({ currents: [7, 8] })],
  ["max34451", sameIndex()],
  // PMBus regulators and sequencers: one page per rail, same index.
  ["tps40422", sameIndex()],
  ["tps53679", sameIndex()],
  ["tps546d24", sameIndex()],
  ["ir35221", sameIndex()],
  ["xdpe12284", sameIndex()],
  // MP2975: curr2 and up are per-phase output currents.
  ["mp2975", paired([[1, 1]], { currents: [2, 3, 4, 5, 6, 7, 8] })],
  ["pmbus", sameIndex()],
  ["ucd9000", sameIndex()],
  ["ucd90320", sameIndex()]
])

const normalise = (name: string): string => name.trim().toLowerCase()

/** A rule from the config; YAML map keys are strings (`{1: 1}` arrives as `{"1": 1}`). */
export const fromConfigRule = (rule: HwmonChipRule): ChipPairingRule => ({
  pairings: Object.entries(rule.pairings)
    .map(([voltage, current]) => [Number(voltage), current] as const)
    .sort(([a], [b]) => a - b),
  skipVoltages: rule.skipVoltages,
  skipCurrents: rule.skipCurrents,
  useSameIndex: rule.useSameIndex
})

/**
 * The rule for a driver name (the cleaned `name` file): the first matching config rule, else the
 * built-in one, else none. Matching ignores case and surrounding spaces, as Kepler's.
 */
export const findChipRule = (
  driver: string,
  configRules: ReadonlyArray<HwmonChipRule>
): ChipPairingRule | undefined => {
  const wanted = normalise(driver)
  if (wanted === "") return undefined
  const configured = configRules.find((rule) => normalise(rule.name) === wanted)
  return configured === undefined ? BUILTIN_CHIP_RULES.get(wanted) : fromConfigRule(configured)
}
