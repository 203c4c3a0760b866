import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, TestClock } from "effect"
import { readdir, symlink } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { MeterName } from "../../src/config/Config.js"
import { defaultConfig } from "../../src/config/defaults.js"
import type { CpuPowerMeterShape } from "../../src/device/CpuPowerMeter.js"
import { HWMON_PRIMARY_PRIORITY, makeHwmonMeter } from "../../src/device/hwmonMeter.js"
import { selectCpuPowerMeter } from "../../src/device/meterSelection.js"
import { nodeFamilies } from "../../src/exporter/prometheus/families.js"
import { makePowerMonitor, type MonitorOptions } from "../../src/monitor/PowerMonitor.js"
import { controlledInformer } from "../support/fakes.js"
import { withLogs } from "../support/logs.js"
import { makeTree, writeTree } from "./tempTree.js"

const fixtures = fileURLToPath(new URL("../fixtures/device/", import.meta.url))
const sysfs = path.join(fixtures, "sys")
const hwmon = path.join(sysfs, "class", "hwmon")

/** Every zone's name, index, path (relative to class/hwmon) and one reading. */
const describeZones = (meter: CpuPowerMeterShape, base: string) =>
  Effect.forEach(
    meter.zones,
    (z) =>
      Effect.map(z.read, (reading) =>
        [z.name, z.index, z.path.startsWith("aggregated-") ? z.path : path.relative(base, z.path), reading] as const)
  )

const W = (watts: number) => ({ _tag: "Power" as const, microwatts: Math.round(watts * 1e6) })
const J = (microjoules: bigint) => ({ _tag: "Energy" as const, microjoules })

describe("HwmonMeter on the fixture tree", () => {
  it.effect("gives every device's zones, aggregated by name and sorted by (name, index)", () =>
    Effect.gen(function*() {
      const [meter, lines] = yield* withLogs(makeHwmonMeter(sysfs, [], []))
      expect(meter.name).toBe("hwmon")
      expect(meter.estimated).toBe(false)
      expect(yield* describeZones(meter, hwmon)).toEqual([
        ["channel_1", 1, "hwmon_disabled_channel/in1_input", W(12)],
        ["channel_2", 2, "hwmon_disabled_channel/in2_input", W(10)],
        ["core", 2, "hwmon0/power2_input", W(15)],
        ["device_path_test", 1, "hwmon_device_path/power1_input", W(25)],
        ["dir_fallback_test", 1, "hwmon_dir_fallback/power1_input", W(35)],
        ["gpu", 1, "hwmon1/power1_average", W(118)],
        ["ina226_power1", 1, "hwmon_ina226/in1_input", W(60)],
        ["ina3221_power1", 1, "hwmon_ina3221/in1_input", W(12)],
        ["ina3221_power2", 2, "hwmon_ina3221/in2_input", W(2.5)],
        ["ina3221_power3", 3, "hwmon_ina3221/in3_input", W(0.66)],
        ["max20730_power2", 2, "hwmon_max20730/in2_input", W(120)],
        // k10temp's Package (45 W) + hwmon_aggregate's two "package" sensors (50 W + 30 W).
        ["package", -1, "aggregated-package", W(125)],
        ["platform_sensor_power1", 1, "hwmon2/power1_input", W(30)],
        ["power_chip_energy1", 1, "hwmon_energy_no_label/energy1_input", J(300000000n)],
        ["psu_rail_a", 1, "hwmon_disabled_power/power1_input", W(45)],
        ["psu_rail_b", 2, "hwmon_disabled_power/power2_input", W(15)],
        ["rail_a", 1, "hwmon_energy_disabled/energy1_input", J(500000000n)],
        ["rail_b", 2, "hwmon_energy_disabled/energy2_input", J(200000000n)],
        ["sensor_a", 1, "hwmon_energy_multi/energy1_input", J(500000000n)],
        ["sensor_b", 2, "hwmon_energy_multi/energy2_input", J(200000000n)],
        ["sensor_c", 3, "hwmon_energy_multi/energy3_input", J(100000000n)],
        ["total", 1, "hwmon_energy/energy1_input", J(500000000n)],
        ["unknown_chip_power1", 1, "hwmon_same_index/in1_input", W(60)],
        ["unknown_chip_power2", 2, "hwmon_same_index/in2_input", W(10)],
        // Four VDD_CPU rails: 60 W + 57.82 W (averages) + 60 W + 60 W.
        ["vdd_cpu", -1, "aggregated-vdd_cpu", W(237.82)],
        ["vdd_gpu", 2, "hwmon_voltage_current_multi/in2_input", W(33)]
      ])
      expect(meter.primaryZone.name).toBe("package")
      // The one device that cannot be used is named in the log, with Kepler's reason.
      expect(lines.map((l) => [l.level, l.message, l.annotations["device"]])).toEqual([
        ["WARN", "skipping hwmon device", path.join(hwmon, "hwmon_voltage_current_no_labels")]
      ])
    }))

  it.effect("experimental.hwmon.zones filters by cleaned name, case-insensitively", () =>
    Effect.gen(function*() {
      const meter = yield* makeHwmonMeter(sysfs, ["GPU", "VDD_CPU", "nosuch"], [])
      expect(meter.zones.map((z) => z.name)).toEqual(["gpu", "vdd_cpu"])
      // gpu outranks vdd_cpu, which is not in the priority list.
      expect(meter.primaryZone.name).toBe("gpu")
    }))

  it.effect("a filter that keeps nothing says what was found", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeHwmonMeter(sysfs, ["nosuch"], []))
      expect(error.reason).toMatch(
        /^no hwmon zones found after filtering \(experimental\.hwmon\.zones: nosuch; found: package, core, gpu, /
      )
    }))

  it.effect("experimental.hwmon.chipRules apply without forceEnabled (unlike Kepler)", () =>
    Effect.gen(function*() {
      const rule = { name: "ina226", pairings: { "0": 1 }, skipVoltages: [], skipCurrents: [], useSameIndex: false }
      const meter = yield* makeHwmonMeter(sysfs, ["ina226_power0", "ina226_power1"], [rule])
      // The config rule replaces the built-in one for both ina226 devices: in0 × curr1.
      expect(yield* describeZones(meter, hwmon)).toEqual([
        ["ina226_power0", -1, "aggregated-ina226_power0", W(1.5 * 5 + 5 * 2)]
      ])
    }))

  it.effect("the primary zone follows Kepler's hwmon priority", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["core", "package", "gpu"], "package"],
        [["gpu", "core"], "core"],
        [["gpu", "platform_sensor_power1"], "gpu"],
        [["vdd_gpu", "total"], "total"]
      ]
      for (const [zones, primary] of cases) {
        const meter = yield* makeHwmonMeter(sysfs, zones, [])
        expect(meter.primaryZone.name).toBe(primary)
      }
      expect(HWMON_PRIMARY_PRIORITY.slice(0, 4)).toEqual(["package", "socket", "cpu", "core"])
    }))
})

describe("HwmonMeter on built trees", () => {
  it.scoped("accepts symlinked device entries, as real sysfs has them", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({ "class/hwmon/": "" })
      for (const device of ["hwmon0", "hwmon1"]) {
        yield* Effect.promise(() => symlink(path.join(hwmon, device), path.join(root, "class", "hwmon", device)))
      }
      // A plain file in class/hwmon is not a device.
      yield* writeTree(root, { "class/hwmon/stray": "x\n" })
      const meter = yield* makeHwmonMeter(root, [], [])
      expect(meter.zones.map((z) => [z.name, z.path])).toEqual([
        ["core", path.join(root, "class/hwmon/hwmon0/power2_input")],
        ["gpu", path.join(root, "class/hwmon/hwmon1/power1_average")],
        ["package", path.join(root, "class/hwmon/hwmon0/power1_input")]
      ])
    }))

  it.scoped("same-named energy sensors aggregate as one counter of summed deltas", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        "class/hwmon/hwmon0/name": "amd_energy\n",
        "class/hwmon/hwmon0/energy1_input": "1000\n",
        "class/hwmon/hwmon0/energy1_label": "Esocket\n",
        "class/hwmon/hwmon1/name": "amd_energy\n",
        "class/hwmon/hwmon1/energy1_input": "5000\n",
        "class/hwmon/hwmon1/energy1_label": "Esocket\n"
      })
      const meter = yield* makeHwmonMeter(root, [], [])
      const [zone] = meter.zones
      expect([zone?.name, zone?.index, zone?.path, zone?.maxEnergy]).toEqual(["esocket", -1, "aggregated-esocket", 0n])
      expect(yield* Effect.flatMap(Effect.fromNullable(zone), (z) => z.read)).toEqual(J(6000n))
      yield* writeTree(root, {
        "class/hwmon/hwmon0/energy1_input": "1500\n",
        "class/hwmon/hwmon1/energy1_input": "5250\n"
      })
      expect(yield* Effect.flatMap(Effect.fromNullable(zone), (z) => z.read)).toEqual(J(6750n))
    }))

  it.scoped("an energy and a power sensor with one name: the energy counter is kept, the power left out and logged", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        "class/hwmon/hwmon0/name": "a\n",
        "class/hwmon/hwmon0/energy1_input": "1000\n",
        "class/hwmon/hwmon0/energy1_label": "SoC\n",
        "class/hwmon/hwmon1/name": "b\n",
        "class/hwmon/hwmon1/power1_input": "2000000\n",
        "class/hwmon/hwmon1/power1_label": "SoC\n"
      })
      const [meter, lines] = yield* withLogs(makeHwmonMeter(root, [], []))
      expect(yield* describeZones(meter, path.join(root, "class/hwmon"))).toEqual([[
        "soc",
        1,
        "hwmon0/energy1_input",
        J(1000n)
      ]])
      expect(lines.map((l) => [l.message, l.annotations["path"]])).toEqual([
        [
          "hwmon power sensor left out: an energy sensor has the same name",
          path.join(root, "class/hwmon/hwmon1/power1_input")
        ]
      ])
    }))

  it.scoped("an unreadable sensor is left out at startup; the rest are used", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        "class/hwmon/hwmon0/name": "chip\n",
        "class/hwmon/hwmon0/power1_input": "7000000\n",
        "class/hwmon/hwmon0/power1_label": "good\n",
        "class/hwmon/hwmon0/power2_input": "not a number\n",
        "class/hwmon/hwmon0/power2_label": "broken\n"
      })
      const [meter, lines] = yield* withLogs(makeHwmonMeter(root, [], []))
      expect(meter.zones.map((z) => z.name)).toEqual(["good"])
      expect(lines.map((l) => [l.level, l.message, l.annotations["zone"]])).toEqual([
        ["WARN", "skipping unreadable hwmon sensor", "broken"]
      ])
      // When nothing is readable the meter is unavailable, with the reason.
      const error = yield* Effect.flip(makeHwmonMeter(root, ["broken"], []))
      expect(error.reason).toContain(
        `no readable hwmon sensor: cannot read zone broken (${path.join(root, "class/hwmon/hwmon0/power2_input")})`
      )
    }))

  it.scoped("a machine without hwmon, or with no power sensor, is unavailable with a hint", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(makeHwmonMeter(path.join(fixtures, "bad_sysfs"), [], []))
      expect(missing.reason).toBe(
        `no hwmon devices: cannot read ${path.join(fixtures, "bad_sysfs/class/hwmon")}: ENOENT (no such file)`
      )
      expect(missing.hint).toContain("no hwmon power or energy sensor on this machine")
      const root = yield* makeTree({
        "class/hwmon/hwmon0/name": "k10temp\n",
        "class/hwmon/hwmon0/temp1_input": "40000\n"
      })
      const none = yield* Effect.flip(makeHwmonMeter(root, [], []))
      expect(none.reason).toBe(`no hwmon power or energy sensors found under ${path.join(root, "class/hwmon")}`)
    }))
})

describe("meter selection with hwmon", () => {
  const config = (preferredMeters: ReadonlyArray<MeterName>, sys: string) => ({
    ...defaultConfig,
    host: { sysfs: sys, procfs: path.join(fixtures, "proc") },
    cpu: { ...defaultConfig.cpu, preferredMeters }
  })

  it("the default order is rapl, hwmon, model", () => {
    expect(defaultConfig.cpu.preferredMeters).toEqual(["rapl", "hwmon", "model"])
  })

  it.scoped("a machine with hwmon sensors and no RAPL gets hwmon from the default order", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({ "class/powercap/": "" })
      const entries = yield* Effect.promise(() => readdir(hwmon))
      yield* writeTree(root, { "class/hwmon/": "" })
      for (const e of entries) {
        yield* Effect.promise(() => symlink(path.join(hwmon, e), path.join(root, "class/hwmon", e)))
      }
      const meter = yield* Effect.orDie(selectCpuPowerMeter(config(defaultConfig.cpu.preferredMeters, root)))
      expect(meter.name).toBe("hwmon")
      expect(meter.primaryZone.name).toBe("package")
    }))
})

const monitorOptions: MonitorOptions = {
  interval: Duration.zero,
  staleness: Duration.millis(500),
  parallelism: 4,
  maxPlausibleWatts: 5000,
  maxTerminated: 500,
  minTerminatedEnergyThreshold: 10
}

describe("a node snapshot on an hwmon tree", () => {
  it.scoped("integrates power zones and steps energy zones into exact joules and watts", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        "class/hwmon/hwmon0/name": "k10temp\n",
        "class/hwmon/hwmon0/power1_input": "45000000\n",
        "class/hwmon/hwmon0/power1_label": "Package\n",
        "class/hwmon/hwmon0/power2_input": "15000000\n",
        "class/hwmon/hwmon0/power2_label": "Core\n",
        "class/hwmon/hwmon1/name": "ina3221\n",
        "class/hwmon/hwmon1/in1_input": "12000\n",
        "class/hwmon/hwmon1/in1_label": "VDD_SOC\n",
        "class/hwmon/hwmon1/curr1_input": "500\n",
        "class/hwmon/hwmon1/curr1_label": "VDD_SOC\n",
        "class/hwmon/hwmon2/name": "amd_energy\n",
        "class/hwmon/hwmon2/energy1_input": "1000000000\n",
        "class/hwmon/hwmon2/energy1_label": "Esocket0\n"
      })
      const meter = yield* makeHwmonMeter(root, [], [])
      const { informer } = yield* controlledInformer
      const monitor = yield* makePowerMonitor(meter, informer, monitorOptions)

      // t = 0: the baseline; nothing is booked.
      const first = yield* monitor.snapshot
      expect(first.zones.map((z) => [z.name, z.status, z.energyTotal])).toEqual([
        ["core", "baseline", 0n],
        ["esocket0", "baseline", 0n],
        ["package", "baseline", 0n],
        ["vdd_soc", "baseline", 0n]
      ])

      // 2 s later the energy counter has advanced 10 J; the power sensors are unchanged.
      yield* writeTree(root, { "class/hwmon/hwmon2/energy1_input": "1010000000\n" })
      yield* TestClock.adjust(Duration.seconds(2))
      const second = yield* monitor.refresh
      expect(
        second.zones.map((z) => [z.name, z.status, z.energyTotal, z.activeEnergyTotal, z.idleEnergyTotal, z.watts])
      ).toEqual([
        // 15 W × 2 s; the informer reports 50 of 100 ticks active.
        ["core", "ok", 30_000_000n, 15_000_000n, 15_000_000n, 15],
        ["esocket0", "ok", 10_000_000n, 5_000_000n, 5_000_000n, 5],
        ["package", "ok", 90_000_000n, 45_000_000n, 45_000_000n, 45],
        // 12 V × 0.5 A = 6 W.
        ["vdd_soc", "ok", 12_000_000n, 6_000_000n, 6_000_000n, 6]
      ])

      // The power sensor changes; the next interval uses its new value.
      yield* writeTree(root, { "class/hwmon/hwmon0/power1_input": "60000000\n" })
      yield* TestClock.adjust(Duration.seconds(1))
      const third = yield* monitor.refresh
      const pkg = third.zones.find((z) => z.name === "package")
      expect([pkg?.energyTotal, pkg?.watts]).toEqual([150_000_000n, 60])

      // And that is what /metrics exports.
      const joules = nodeFamilies(third, "n1").find((f) => f.name === "kepler_node_cpu_joules_total")
      expect(joules?.samples).toEqual([
        { labels: ["core", path.join(root, "class/hwmon/hwmon0/power2_input"), "n1"], value: 45 },
        { labels: ["esocket0", path.join(root, "class/hwmon/hwmon2/energy1_input"), "n1"], value: 10 },
        { labels: ["package", path.join(root, "class/hwmon/hwmon0/power1_input"), "n1"], value: 150 },
        { labels: ["vdd_soc", path.join(root, "class/hwmon/hwmon1/in1_input"), "n1"], value: 18 }
      ])
    }))
})
