/**
 * Pairs voltage and current channels into power rails (P = V × I) for hwmon chips that report
 * no power sensor (kepler-behaviour.md §3.9). Pure. In order of trust:
 * 1. labels — `in1_label` and `curr1_label` both say `VDD_CPU`: the driver told us;
 * 2. a chip rule (config first, then the built-in table);
 * 3. the same index, which is right for most drivers.
 * The first strategy that yields any rail wins; the others are not mixed in.
 */
import type { ChipPairingRule } from "./hwmonChipRules.js"

/** One `inN` or `currN` channel that has an `_input` file and is enabled. */
export interface ElectricalChannel {
  readonly index: number
  /** Cleaned label, "" when there is none. */
  readonly label: string
  readonly input: string
  /** The `_average` file, when the driver has one. */
  readonly average: string | undefined
}

export interface PowerRail {
  readonly name: string
  readonly index: number
  /** mV */
  readonly voltageFile: string
  /** mA */
  readonly currentFile: string
}

export type PairingStrategy = "label" | "chip-rule" | "same-index"

export interface Pairing {
  readonly strategy: PairingStrategy
  readonly rails: ReadonlyArray<PowerRail>
}

/**
 * Both averages or both instantaneous inputs: an averaged voltage times an instantaneous
 * current would multiply values from different windows.
 */
const rail = (name: string, index: number, voltage: ElectricalChannel, current: ElectricalChannel): PowerRail =>
  voltage.average !== undefined && current.average !== undefined
    ? { name, index, voltageFile: voltage.average, currentFile: current.average }
    : { name, index, voltageFile: voltage.input, currentFile: current.input }

const railName = (chip: string, index: number, voltage: ElectricalChannel): string =>
  voltage.label !== "" ? voltage.label : `${chip}_power${index}`

const byIndex = <C extends ElectricalChannel>(channels: ReadonlyArray<C>): ReadonlyMap<number, C> =>
  new Map(channels.map((c) => [c.index, c]))

/** The first channel with each label (channels come sorted by index, so this is deterministic). */
const byLabel = (channels: ReadonlyArray<ElectricalChannel>): ReadonlyMap<string, ElectricalChannel> => {
  const out = new Map<string, ElectricalChannel>()
  for (const c of channels) if (c.label !== "" && !out.has(c.label)) out.set(c.label, c)
  return out
}

/** A rail per label present on both sides; named by the label, indexed by the current channel (as Kepler). */
export const pairByLabel = (
  voltages: ReadonlyArray<ElectricalChannel>,
  currents: ReadonlyArray<ElectricalChannel>
): ReadonlyArray<PowerRail> => {
  const currentByLabel = byLabel(currents)
  const rails: Array<PowerRail> = []
  for (const [label, voltage] of byLabel(voltages)) {
    const current = currentByLabel.get(label)
    if (current !== undefined) rails.push(rail(label, current.index, voltage, current))
  }
  return rails
}

/**
 * Same-index rules honour both skip lists; explicit pairings are taken as written (Kepler's
 * behaviour: the skip lists document which channels the pairing leaves out).
 */
export const pairByChipRule = (
  chip: string,
  rule: ChipPairingRule,
  voltages: ReadonlyArray<ElectricalChannel>,
  currents: ReadonlyArray<ElectricalChannel>
): ReadonlyArray<PowerRail> => {
  const voltageAt = byIndex(voltages)
  const currentAt = byIndex(currents)
  if (rule.useSameIndex) {
    return voltages.flatMap((voltage) => {
      const current = currentAt.get(voltage.index)
      if (
        current === undefined || rule.skipVoltages.includes(voltage.index) || rule.skipCurrents.includes(voltage.index)
      ) {
        return []
      }
      return [rail(railName(chip, voltage.index, voltage), voltage.index, voltage, current)]
    })
  }
  return rule.pairings.flatMap(([v, c]) => {
    const voltage = voltageAt.get(v)
    const current = currentAt.get(c)
    return voltage === undefined || current === undefined ? [] : [rail(railName(chip, v, voltage), v, voltage, current)]
  })
}

export const pairBySameIndex = (
  chip: string,
  voltages: ReadonlyArray<ElectricalChannel>,
  currents: ReadonlyArray<ElectricalChannel>
): ReadonlyArray<PowerRail> => {
  const currentAt = byIndex(currents)
  return voltages.flatMap((voltage) => {
    const current = currentAt.get(voltage.index)
    return current === undefined ? [] : [rail(railName(chip, voltage.index, voltage), voltage.index, voltage, current)]
  })
}

/**
 * The rails of one chip, or `undefined` when it has both kinds of channel but no strategy pairs
 * any of them (Kepler's "no matching labels" error). A chip without voltages or without
 * currents simply has no rails.
 */
export const pairVoltageCurrent = (
  chip: string,
  rule: ChipPairingRule | undefined,
  voltages: ReadonlyArray<ElectricalChannel>,
  currents: ReadonlyArray<ElectricalChannel>
): Pairing | undefined => {
  if (voltages.length === 0 || currents.length === 0) return { strategy: "same-index", rails: [] }
  const labelled = pairByLabel(voltages, currents)
  if (labelled.length > 0) return { strategy: "label", rails: labelled }
  if (rule !== undefined) {
    const ruled = pairByChipRule(chip, rule, voltages, currents)
    if (ruled.length > 0) return { strategy: "chip-rule", rails: ruled }
  }
  const same = pairBySameIndex(chip, voltages, currents)
  return same.length > 0 ? { strategy: "same-index", rails: same } : undefined
}
