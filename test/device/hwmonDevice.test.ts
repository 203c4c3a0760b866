import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { symlink } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { HwmonChipRule } from "../../src/config/Config.js"
import {
  cleanMetricName,
  type HwmonDevice,
  NO_MATCHING_LABELS,
  planDevice,
  sensorChannels,
  specPath
} from "../../src/device/hwmonDevice.js"
import { readHwmonDevice } from "../../src/device/hwmonScan.js"
import { readSpec } from "../../src/device/hwmonZones.js"
import { makeTree } from "./tempTree.js"

const hwmon = fileURLToPath(new URL("../fixtures/device/sys/class/hwmon/", import.meta.url))

interface ExpectedZone {
  readonly name: string
  readonly index: number
  /** File (relative to the device directory) exported as the zone's path. */
  readonly path: string
  readonly reading: { readonly _tag: "Power"; readonly microwatts: number } | {
    readonly _tag: "Energy"
    readonly microjoules: bigint
  }
}

const W = (watts: number) => ({ _tag: "Power" as const, microwatts: Math.round(watts * 1e6) })
const J = (microjoules: bigint) => ({ _tag: "Energy" as const, microjoules })

/** Reads one device directory, plans it and reads every zone it yields. */
const zonesIn = (dir: string, rules: ReadonlyArray<HwmonChipRule> = []) =>
  Effect.gen(function*() {
    const info = yield* readHwmonDevice(dir)
    const plan = yield* planDevice(info, rules)
    const zones = yield* Effect.forEach(plan.zones, (spec) =>
      Effect.map(readSpec(spec), (reading) => ({
        name: spec.name,
        index: spec.index,
        path: path.relative(dir, specPath(spec)),
        reading
      })))
    return { chip: info.chip, driver: info.driver, tier: plan.tier, zones }
  })

const zonesOf = (device: string, rules: ReadonlyArray<HwmonChipRule> = []) => zonesIn(path.join(hwmon, device), rules)

// kepler-behaviour.md §3.9 and §7.1: every hwmon fixture device, one row each.
const table: ReadonlyArray<{
  readonly device: string
  readonly chip: string
  readonly tier: string
  readonly zones: ReadonlyArray<ExpectedZone>
}> = [
  {
    device: "hwmon0",
    chip: "k10temp",
    tier: "power",
    zones: [
      { name: "package", index: 1, path: "power1_input", reading: W(45) },
      { name: "core", index: 2, path: "power2_input", reading: W(15) }
    ]
  },
  // power1_average (118 W) wins over power1_input (120 W).
  {
    device: "hwmon1",
    chip: "amdgpu",
    tier: "power",
    zones: [{ name: "gpu", index: 1, path: "power1_average", reading: W(118) }]
  },
  // No label: <chip>_power<N>.
  {
    device: "hwmon2",
    chip: "platform_sensor",
    tier: "power",
    zones: [{ name: "platform_sensor_power1", index: 1, path: "power1_input", reading: W(30) }]
  },
  // Two sensors labelled "package": both kept here; the meter aggregates them.
  {
    device: "hwmon_aggregate",
    chip: "multi_sensor",
    tier: "power",
    zones: [
      { name: "package", index: 1, path: "power1_input", reading: W(50) },
      { name: "package", index: 2, path: "power2_input", reading: W(30) }
    ]
  },
  // Chip name from the resolved `device` link: <devType>_<devName>.
  {
    device: "hwmon_device_path",
    chip: "drm_card0",
    tier: "power",
    zones: [{ name: "device_path_test", index: 1, path: "power1_input", reading: W(25) }]
  },
  // Neither a device link nor a name file: the directory name.
  {
    device: "hwmon_dir_fallback",
    chip: "hwmon_dir_fallback",
    tier: "power",
    zones: [{ name: "dir_fallback_test", index: 1, path: "power1_input", reading: W(35) }]
  },
  // in3_enable = 0 disables channel_3; the rest pair by label.
  {
    device: "hwmon_disabled_channel",
    chip: "ina3221",
    tier: "label",
    zones: [
      { name: "channel_1", index: 1, path: "in1_input", reading: W(12) },
      { name: "channel_2", index: 2, path: "in2_input", reading: W(10) }
    ]
  },
  // power3_enable = 0.
  {
    device: "hwmon_disabled_power",
    chip: "test_power_chip",
    tier: "power",
    zones: [
      { name: "psu_rail_a", index: 1, path: "power1_input", reading: W(45) },
      { name: "psu_rail_b", index: 2, path: "power2_input", reading: W(15) }
    ]
  },
  {
    device: "hwmon_energy",
    chip: "energy_meter",
    tier: "energy",
    zones: [{ name: "total", index: 1, path: "energy1_input", reading: J(500000000n) }]
  },
  // energy3_enable = 0.
  {
    device: "hwmon_energy_disabled",
    chip: "energy_with_enable",
    tier: "energy",
    zones: [
      { name: "rail_a", index: 1, path: "energy1_input", reading: J(500000000n) },
      { name: "rail_b", index: 2, path: "energy2_input", reading: J(200000000n) }
    ]
  },
  {
    device: "hwmon_energy_multi",
    chip: "multi_energy",
    tier: "energy",
    zones: [
      { name: "sensor_a", index: 1, path: "energy1_input", reading: J(500000000n) },
      { name: "sensor_b", index: 2, path: "energy2_input", reading: J(200000000n) },
      { name: "sensor_c", index: 3, path: "energy3_input", reading: J(100000000n) }
    ]
  },
  {
    device: "hwmon_energy_no_label",
    chip: "power_chip",
    tier: "energy",
    zones: [{ name: "power_chip_energy1", index: 1, path: "energy1_input", reading: J(300000000n) }]
  },
  // Built-in rule: in0 is the shunt voltage, in1 × curr1 = 12 V × 5 A.
  {
    device: "hwmon_ina226",
    chip: "ina226",
    tier: "chip-rule",
    zones: [{ name: "ina226_power1", index: 1, path: "in1_input", reading: W(60) }]
  },
  // Built-in rule: same index, in4–in7 (shunts and their sum) skipped.
  {
    device: "hwmon_ina3221",
    chip: "ina3221",
    tier: "chip-rule",
    zones: [
      { name: "ina3221_power1", index: 1, path: "in1_input", reading: W(12) },
      { name: "ina3221_power2", index: 2, path: "in2_input", reading: W(2.5) },
      { name: "ina3221_power3", index: 3, path: "in3_input", reading: W(0.66) }
    ]
  },
  // Built-in rule: curr1 is the output current, paired with VOUT (in2): 12 V × 10 A.
  {
    device: "hwmon_max20730",
    chip: "max20730",
    tier: "chip-rule",
    zones: [{ name: "max20730_power2", index: 2, path: "in2_input", reading: W(120) }]
  },
  {
    device: "hwmon_same_index",
    chip: "unknown_chip",
    tier: "same-index",
    zones: [
      { name: "unknown_chip_power1", index: 1, path: "in1_input", reading: W(60) },
      { name: "unknown_chip_power2", index: 2, path: "in2_input", reading: W(10) }
    ]
  },
  // VDD_CPU 12000 mV × 5000 mA = 60 W.
  {
    device: "hwmon_voltage_current",
    chip: "ina3221",
    tier: "label",
    zones: [{ name: "vdd_cpu", index: 1, path: "in1_input", reading: W(60) }]
  },
  // Both have _average: 11800 mV × 4900 mA.
  {
    device: "hwmon_voltage_current_average",
    chip: "ina3221",
    tier: "label",
    zones: [{ name: "vdd_cpu", index: 1, path: "in1_average", reading: W(57.82) }]
  },
  // VDD_SOC has no current: left out.
  {
    device: "hwmon_voltage_current_multi",
    chip: "ina3221",
    tier: "label",
    zones: [
      { name: "vdd_cpu", index: 1, path: "in1_input", reading: W(60) },
      { name: "vdd_gpu", index: 2, path: "in2_input", reading: W(33) }
    ]
  },
  // Only the voltage has _average: inputs on both sides.
  {
    device: "hwmon_voltage_current_partial_average",
    chip: "ina3221",
    tier: "label",
    zones: [{ name: "vdd_cpu", index: 1, path: "in1_input", reading: W(60) }]
  }
]

describe("hwmon devices (fixture table, kepler-behaviour.md §3.9)", () => {
  for (const row of table) {
    it.scoped(`${row.device}: ${row.zones.map((z) => z.name).join(", ")}`, () =>
      Effect.gen(function*() {
        const got = yield* zonesOf(row.device)
        expect(got.chip).toBe(row.chip)
        expect(got.tier).toBe(row.tier)
        expect(got.zones).toEqual(row.zones)
      }))
  }

  it.effect("hwmon_voltage_current_no_labels: unpairable V × I sensors are Kepler's error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(zonesOf("hwmon_voltage_current_no_labels"))
      expect(error._tag).toBe("HwmonDeviceError")
      expect(error.message).toBe(
        `hwmon device ${path.join(hwmon, "hwmon_voltage_current_no_labels")}: ${NO_MATCHING_LABELS} ` +
          "(chip \"ina226\": add an experimental.hwmon.chipRules entry)"
      )
    }))

  it.effect("a config chip rule pairs what the built-in table cannot, and overrides a built-in rule", () =>
    Effect.gen(function*() {
      const rule = (over: Partial<HwmonChipRule>): HwmonChipRule => ({
        name: "INA226 ",
        pairings: {},
        skipVoltages: [],
        skipCurrents: [],
        useSameIndex: false,
        ...over
      })
      // in0 (5000 mV) × curr1 (2000 mA) = 10 W, named by the voltage index.
      const fixed = yield* zonesOf("hwmon_voltage_current_no_labels", [rule({ pairings: { "0": 1 } })])
      expect(fixed.tier).toBe("chip-rule")
      expect(fixed.zones).toEqual([{ name: "ina226_power0", index: 0, path: "in0_input", reading: W(10) }])
      // Overriding ina3221's built-in rule: only in2 × curr2.
      const overridden = yield* zonesOf("hwmon_ina3221", [rule({ name: "ina3221", pairings: { "2": 2 } })])
      expect(overridden.zones.map((z) => [z.name, z.reading])).toEqual([["ina3221_power2", W(2.5)]])
    }))
})

describe("hwmon device details", () => {
  it("cleanMetricName lowercases, replaces invalid characters and trims underscores", () => {
    expect(cleanMetricName("VDD_CPU")).toBe("vdd_cpu")
    expect(cleanMetricName("  PSU Rail-A (12V)  ")).toBe("psu_rail_a__12v")
    expect(cleanMetricName("__x:y__")).toBe("x:y")
    expect(cleanMetricName("---")).toBe("")
  })

  it("sensorChannels groups files by type and index, sorted by index", () => {
    const files = [
      "power10_input",
      "power2_label",
      "power2_input",
      "in1_input",
      "curr1_input",
      "power1_average",
      "name",
      "intrusion0_alarm"
    ]
    expect(sensorChannels(files, "power").map((c) => [c.index, [...c.files.entries()]])).toEqual([
      [1, [["average", "power1_average"]]],
      [2, [["label", "power2_label"], ["input", "power2_input"]]],
      [10, [["input", "power10_input"]]]
    ])
    expect(sensorChannels(files, "in").map((c) => c.index)).toEqual([1])
  })

  const device = (files: ReadonlyArray<string>, over: Partial<HwmonDevice> = {}): HwmonDevice => ({
    dir: "/sys/class/hwmon/hwmon9",
    chip: "chip",
    driver: "chip",
    files,
    labels: new Map(),
    disabled: new Set(),
    ...over
  })

  it("energy beats power, power beats V × I, on the same device", () => {
    const all = ["energy1_input", "power1_input", "in1_input", "curr1_input"]
    const tierOf = (files: ReadonlyArray<string>, over: Partial<HwmonDevice> = {}) =>
      Either.map(planDevice(device(files, over), []), (p) => [p.tier, p.zones.map((z) => z._tag)])
    expect(tierOf(all)).toEqual(Either.right(["energy", ["Energy"]]))
    expect(tierOf(all.slice(1))).toEqual(Either.right(["power", ["Power"]]))
    expect(tierOf(all.slice(2))).toEqual(Either.right(["same-index", ["VoltageCurrent"]]))
    // Every energy channel disabled: the power tier is used.
    expect(tierOf(all, { disabled: new Set(["energy1"]) })).toEqual(Either.right(["power", ["Power"]]))
    // A sensor with no input file is no sensor.
    expect(tierOf(["power1_label", "in1_input"])).toEqual(Either.right(["none", []]))
  })

  it("a label that cleans to nothing falls back to <chip>_power<N>", () => {
    const plan = planDevice(
      device(["power3_input", "power3_label"], { labels: new Map([["power3_label", " -- "]]) }),
      []
    )
    expect(Either.map(plan, (p) => p.zones.map((z) => z.name))).toEqual(Either.right(["chip_power3"]))
  })

  it.scoped("a missing or unreadable _enable file leaves the channel enabled; only \"0\" disables", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        "hwmon9/name": "chip\n",
        "hwmon9/power1_input": "1000000\n",
        "hwmon9/power1_enable": "1\n",
        "hwmon9/power2_input": "2000000\n",
        "hwmon9/power3_input": "3000000\n",
        "hwmon9/power3_enable": "0\n",
        "hwmon9/power4_input": "4000000\n"
      })
      // A dangling link: listed like a file, unreadable (ENOENT).
      yield* Effect.promise(() => symlink("no-such-target", path.join(root, "hwmon9", "power2_enable")))
      const info = yield* readHwmonDevice(path.join(root, "hwmon9"))
      expect(info.files).toContain("power2_enable")
      expect([...info.disabled]).toEqual(["power3"])
      const plan = yield* planDevice(info, [])
      expect(plan.zones.map((z) => z.name)).toEqual(["chip_power1", "chip_power2", "chip_power4"])
    }))
})
