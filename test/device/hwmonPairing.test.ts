import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { BUILTIN_CHIP_RULES, findChipRule } from "../../src/device/hwmonChipRules.js"
import { type ElectricalChannel, pairVoltageCurrent } from "../../src/device/hwmonPairing.js"

const ch = (index: number, label = "", average = false): ElectricalChannel => ({
  index,
  label,
  input: `x${index}_input`,
  average: average ? `x${index}_average` : undefined
})

const volts = (...channels: ReadonlyArray<ElectricalChannel>) =>
  channels.map((c) => ({
    ...c,
    input: `in${c.index}_input`,
    average: c.average === undefined ? undefined : `in${c.index}_average`
  }))
const amps = (...channels: ReadonlyArray<ElectricalChannel>) =>
  channels.map((c) => ({
    ...c,
    input: `curr${c.index}_input`,
    average: c.average === undefined ? undefined : `curr${c.index}_average`
  }))

describe("findChipRule", () => {
  it("covers the built-in chip families of the issue", () => {
    for (
      const chip of [
        "ina3221",
        "ina226",
        "ina219",
        "ina209",
        "ina238",
        "ltc2945",
        "ltc2992",
        "adm1275",
        "max20730",
        "max20751",
        "max34440"
      ]
    ) {
      expect(BUILTIN_CHIP_RULES.has(chip)).toBe(true)
    }
  })

  it("matches case-insensitively and prefers the config rule", () => {
    expect(findChipRule("INA3221", [])).toBe(BUILTIN_CHIP_RULES.get("ina3221"))
    const configured = findChipRule("ina3221", [
      { name: " Ina3221 ", pairings: { "3": 1, "1": 2 }, skipVoltages: [9], skipCurrents: [], useSameIndex: false }
    ])
    expect(configured).toEqual({ pairings: [[1, 2], [3, 1]], skipVoltages: [9], skipCurrents: [], useSameIndex: false })
    expect(findChipRule("", [])).toBeUndefined()
    expect(findChipRule("nosuchchip", [])).toBeUndefined()
  })
})

describe("pairVoltageCurrent", () => {
  it("labels first: only labelled pairs, named by label, indexed by the current", () => {
    const pairing = pairVoltageCurrent(
      "chip",
      BUILTIN_CHIP_RULES.get("ina3221"),
      volts(ch(1, "vdd_cpu"), ch(2, "vdd_soc"), ch(3)),
      amps(ch(4, "vdd_cpu"), ch(3))
    )
    expect(pairing).toEqual({
      strategy: "label",
      rails: [{ name: "vdd_cpu", index: 4, voltageFile: "in1_input", currentFile: "curr4_input" }]
    })
  })

  it("averages only when both sides have one", () => {
    const both = pairVoltageCurrent("c", undefined, volts(ch(1, "", true)), amps(ch(1, "", true)))
    const one = pairVoltageCurrent("c", undefined, volts(ch(1, "", true)), amps(ch(1)))
    expect(both?.rails).toEqual([{
      name: "c_power1",
      index: 1,
      voltageFile: "in1_average",
      currentFile: "curr1_average"
    }])
    expect(one?.rails).toEqual([{ name: "c_power1", index: 1, voltageFile: "in1_input", currentFile: "curr1_input" }])
  })

  it("same-index chip rules honour both skip lists", () => {
    const rule = { pairings: [], skipVoltages: [2], skipCurrents: [3], useSameIndex: true }
    const pairing = pairVoltageCurrent("c", rule, volts(ch(1), ch(2), ch(3), ch(4)), amps(ch(1), ch(2), ch(3)))
    expect(pairing).toEqual({
      strategy: "chip-rule",
      rails: [{ name: "c_power1", index: 1, voltageFile: "in1_input", currentFile: "curr1_input" }]
    })
  })

  it("a rule that pairs nothing falls through to the same index; nothing at all is undefined", () => {
    const ina226 = BUILTIN_CHIP_RULES.get("ina226")
    expect(pairVoltageCurrent("c", ina226, volts(ch(2)), amps(ch(2)))?.strategy).toBe("same-index")
    expect(pairVoltageCurrent("c", ina226, volts(ch(0)), amps(ch(1)))).toBeUndefined()
  })

  it("no voltages or no currents: no rails and no error", () => {
    expect(pairVoltageCurrent("c", undefined, volts(ch(1)), [])).toEqual({ strategy: "same-index", rails: [] })
    expect(pairVoltageCurrent("c", undefined, [], amps(ch(1)))).toEqual({ strategy: "same-index", rails: [] })
  })

  it("rails use existing channels, each voltage at most once; unlabelled chips pair exactly the shared indices", () => {
    const channel = FastCheck.record({
      index: FastCheck.integer({ min: 0, max: 8 }),
      label: FastCheck.constantFrom("", "a", "b")
    })
    const channels = FastCheck.uniqueArray(channel, { selector: (c) => c.index, maxLength: 6 })
    FastCheck.assert(
      FastCheck.property(channels, channels, (vs, cs) => {
        const byIndex = <T extends { readonly index: number }>(xs: ReadonlyArray<T>) =>
          [...xs].sort((a, b) => a.index - b.index)
        const v = volts(...byIndex(vs).map((c) => ch(c.index, c.label)))
        const c = amps(...byIndex(cs).map((x) => ch(x.index, x.label)))
        const rails = pairVoltageCurrent("c", undefined, v, c)?.rails ?? []
        for (const rail of rails) {
          expect(v.some((x) => x.input === rail.voltageFile)).toBe(true)
          expect(c.some((x) => x.input === rail.currentFile)).toBe(true)
        }
        expect(new Set(rails.map((r) => r.voltageFile)).size).toBe(rails.length)
        const unlabelled = pairVoltageCurrent(
          "c",
          undefined,
          v.map((x) => ({ ...x, label: "" })),
          c.map((x) => ({ ...x, label: "" }))
        )
        const shared = v.filter((x) => c.some((y) => y.index === x.index)).map((x) => x.index)
        expect((unlabelled?.rails ?? []).map((r) => r.index)).toEqual(shared)
      }),
      { seed: 42, numRuns: 200 }
    )
  })
})
