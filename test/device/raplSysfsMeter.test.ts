import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { MeterUnavailable } from "../../src/device/CpuPowerMeter.js"
import { energyReading, ZoneReadError } from "../../src/device/EnergyZone.js"
import { describeEnergyReadFailure, makeRaplMeter, RAPL_PERMISSION_HINT } from "../../src/device/raplSysfsMeter.js"
import { readFailure } from "../../src/device/sysfsFile.js"
import { makeTree, raplZoneFiles, writeTree } from "./tempTree.js"

const fixtures = fileURLToPath(new URL("../fixtures/device/", import.meta.url))
const sysfs = path.join(fixtures, "sys")
const powercap = path.join(sysfs, "class", "powercap")

describe("makeRaplMeter on Kepler's fixture (kepler-behaviour.md §12 check 1)", () => {
  it.effect("dedups mmio, aggregates the two packages and keeps core", () =>
    Effect.gen(function*() {
      const meter = yield* makeRaplMeter(sysfs, [])
      expect(meter.name).toBe("rapl")
      expect(meter.estimated).toBe(false)
      expect(meter.zones.map((z) => [z.name, z.index, z.path])).toEqual([
        ["core", 0, path.join(powercap, "intel-rapl:0:0")],
        ["package", -1, "aggregated-package"]
      ])
      expect(meter.zones.some((z) => z.path.includes("mmio"))).toBe(false)
      const [core, pkg] = meter.zones
      expect(pkg?.maxEnergy).toBe(524286657700n)
      expect(yield* Effect.flatMap(Effect.fromNullable(pkg), (z) => z.read)).toEqual(energyReading(480844732534n))
      expect(yield* Effect.flatMap(Effect.fromNullable(core), (z) => z.read)).toEqual(energyReading(118821284256n))
      expect(meter.primaryZone.name).toBe("package")
      for (const zone of meter.zones) {
        expect(zone.maxEnergy).toBeGreaterThanOrEqual(1000n * 1_000_000n)
        const reading = yield* zone.read
        expect(reading._tag === "Energy" && reading.microjoules >= 1000n * 1_000_000n).toBe(true)
      }
    }))

  it.effect("applies rapl.zones case-insensitively", () =>
    Effect.gen(function*() {
      const meter = yield* makeRaplMeter(sysfs, ["CORE"])
      expect(meter.zones.map((z) => z.name)).toEqual(["core"])
      expect(meter.primaryZone.name).toBe("core")
    }))

  it.effect("fails when the filter leaves nothing", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeRaplMeter(sysfs, ["dram"]))
      expect(error).toBeInstanceOf(MeterUnavailable)
      expect(error.meter).toBe("rapl")
      expect(error.reason).toBe("no RAPL zones found after filtering (rapl.zones: dram; found: package, core)")
    }))

  it.effect("fails on a machine without powercap, naming the directory", () =>
    Effect.gen(function*() {
      const bad = path.join(fixtures, "bad_sysfs")
      const error = yield* Effect.flip(makeRaplMeter(bad, []))
      expect(error.reason).toBe(`no RAPL zones found under ${path.join(bad, "class", "powercap")}`)
      expect(error.hint).toContain("no powercap RAPL on this machine")
    }))
})

describe("standard beats mmio on disk (kepler-behaviour.md §12 check 3)", () => {
  it.scoped("mmio entry listed first", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        ...raplZoneFiles("intel-rapl-mmio:0", "package-0", 5n),
        ...raplZoneFiles("intel-rapl:0", "package-0", 7n)
      })
      const meter = yield* makeRaplMeter(root, [])
      expect(meter.zones.map((z) => [z.name, z.index, z.path])).toEqual([
        ["package", 0, path.join(root, "class/powercap/intel-rapl:0")]
      ])
      expect(yield* meter.primaryZone.read).toEqual(energyReading(7n))
    }))

  it.scoped("mmio entry listed last", () =>
    Effect.gen(function*() {
      // "z-…" sorts after "intel-rapl:0", so here the standard zone is met first.
      const root = yield* makeTree({
        ...raplZoneFiles("intel-rapl:0", "package-0", 7n),
        ...raplZoneFiles("z-intel-rapl-mmio:0", "package-0", 5n)
      })
      const meter = yield* makeRaplMeter(root, [])
      expect(meter.zones.map((z) => z.path)).toEqual([path.join(root, "class/powercap/intel-rapl:0")])
    }))
})

describe("reading and failing", () => {
  it.scoped("reads energy_uj afresh on every read, aggregated members with their own wrap", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        ...raplZoneFiles("intel-rapl:0", "package-0", 900n, 1000n),
        ...raplZoneFiles("intel-rapl:1", "package-1", 800n, 1000n),
        ...raplZoneFiles("intel-rapl:0:0", "core", 10n, 1000n)
      })
      const meter = yield* makeRaplMeter(root, [])
      const [core, pkg] = meter.zones
      if (core === undefined || pkg === undefined) return yield* Effect.die("expected two zones")
      expect(pkg.maxEnergy).toBe(2000n)
      expect(yield* pkg.read).toEqual(energyReading(1700n))
      expect(yield* core.read).toEqual(energyReading(10n))
      yield* writeTree(root, {
        "class/powercap/intel-rapl:0/energy_uj": "100\n",
        "class/powercap/intel-rapl:1/energy_uj": "850\n",
        "class/powercap/intel-rapl:0:0/energy_uj": "20\n"
      })
      expect(yield* pkg.read).toEqual(energyReading(1950n))
      expect(yield* core.read).toEqual(energyReading(20n))
    }))

  it.scoped("an energy_uj that cannot be read stops the meter at build time (EISDIR)", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        ...raplZoneFiles("intel-rapl:0:0", "core", 1n),
        "class/powercap/intel-rapl:0/name": "package-0\n",
        "class/powercap/intel-rapl:0/max_energy_range_uj": "262143328850\n",
        "class/powercap/intel-rapl:0/energy_uj/": ""
      })
      const error = yield* Effect.flip(makeRaplMeter(root, []))
      expect(error.reason).toBe(
        `cannot read ${path.join(root, "class/powercap/intel-rapl:0/energy_uj")}: EISDIR (is a directory)`
      )
      expect(error.hint).toBeUndefined()
    }))

  it.scoped("a zone that becomes unreadable fails its read instead of reading 0", () =>
    Effect.gen(function*() {
      const root = yield* makeTree(raplZoneFiles("intel-rapl:0", "package-0", 5n))
      const meter = yield* makeRaplMeter(root, [])
      yield* writeTree(root, { "class/powercap/intel-rapl:0/energy_uj": "\n" })
      const error = yield* Effect.flip(meter.primaryZone.read)
      expect(error).toBeInstanceOf(ZoneReadError)
      expect(error.zone).toBe("package")
      expect(error.reason).toContain("not an unsigned 64-bit integer: \"\"")
    }))

  it.scoped("a missing max_energy_range_uj fails the meter, naming the file", () =>
    Effect.gen(function*() {
      const root = yield* makeTree(raplZoneFiles("intel-rapl:0", "package-0", 5n, "missing"))
      const error = yield* Effect.flip(makeRaplMeter(root, []))
      expect(error.reason).toContain(path.join(root, "class/powercap/intel-rapl:0/max_energy_range_uj"))
    }))
})

describe("permission denied (tests run as root, which ignores file modes: the mapping is tested directly)", () => {
  const file = "/sys/class/powercap/intel-rapl:0/energy_uj"
  const errno = (code: string) =>
    readFailure(file, Object.assign(new Error(`${code}: permission denied, open '${file}'`), { code }))

  it("EACCES names the file and gives the fix", () => {
    const failure = describeEnergyReadFailure(errno("EACCES"))
    expect(failure.reason).toBe(`cannot read ${file}: EACCES (permission denied)`)
    expect(failure.hint).toBe(RAPL_PERMISSION_HINT)
    expect(RAPL_PERMISSION_HINT).toContain("run joulemon as root")
    expect(RAPL_PERMISSION_HINT).toContain("sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj")
    expect(RAPL_PERMISSION_HINT).toContain("z /sys/class/powercap/intel-rapl:*/energy_uj 0440 root joulemon -")
  })

  it("EPERM gets the same hint", () => {
    expect(describeEnergyReadFailure(errno("EPERM")).hint).toBe(RAPL_PERMISSION_HINT)
  })

  it("other failures get no permission hint", () => {
    expect(describeEnergyReadFailure(errno("EIO")).hint).toBeUndefined()
    expect(describeEnergyReadFailure(errno("ENOENT")).hint).toBeUndefined()
  })
})
