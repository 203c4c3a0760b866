import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assignZoneIndices, discoverRaplZones, splitZoneName } from "../../src/device/raplDiscovery.js"
import { makeTree, raplZoneFiles } from "./tempTree.js"

const fixtures = fileURLToPath(new URL("../fixtures/device/", import.meta.url))
const sysfs = path.join(fixtures, "sys")
const powercap = path.join(sysfs, "class", "powercap")

describe("zone names (kepler-behaviour.md §12 check 2)", () => {
  it("splits name-index pairs", () => {
    expect(splitZoneName("package-0")).toEqual({ name: "package", index: 0 })
    expect(splitZoneName("package-10")).toEqual({ name: "package", index: 10 })
  })

  it("keeps other names whole", () => {
    expect(splitZoneName("core")).toEqual({ name: "core", index: undefined })
    expect(splitZoneName("package-a")).toEqual({ name: "package-a", index: undefined })
    expect(splitZoneName("a-b-1")).toEqual({ name: "a-b-1", index: undefined })
    expect(splitZoneName("package-")).toEqual({ name: "package-", index: undefined })
  })

  it("numbers three unindexed dram zones 0, 1, 2", () => {
    expect(assignZoneIndices(["dram", "dram", "dram"])).toEqual([
      { name: "dram", index: 0 },
      { name: "dram", index: 1 },
      { name: "dram", index: 2 }
    ])
  })

  it("continues an unindexed name after the last index seen, per name", () => {
    expect(assignZoneIndices(["package-5", "package", "core", " core\n"])).toEqual([
      { name: "package", index: 5 },
      { name: "package", index: 6 },
      { name: "core", index: 0 },
      { name: "core", index: 1 }
    ])
  })
})

describe("discoverRaplZones", () => {
  it.effect("finds the fixture's four raw zones in directory order, enabled=0 included", () =>
    Effect.gen(function*() {
      const zones = yield* discoverRaplZones(sysfs)
      expect(zones).toEqual([
        { name: "package", index: 0, path: path.join(powercap, "intel-rapl-mmio:0"), maxEnergy: 262143328850n },
        { name: "package", index: 0, path: path.join(powercap, "intel-rapl:0"), maxEnergy: 262143328850n },
        { name: "core", index: 0, path: path.join(powercap, "intel-rapl:0:0"), maxEnergy: 262143328850n },
        { name: "package", index: 10, path: path.join(powercap, "intel-rapl:a"), maxEnergy: 262143328850n }
      ])
    }))

  it.effect("finds nothing (and does not fail) when there is no powercap directory", () =>
    Effect.gen(function*() {
      expect(yield* discoverRaplZones(path.join(fixtures, "bad_sysfs"))).toEqual([])
    }))

  it.scoped("numbers unindexed dram zones on disk 0, 1, 2 in entry-name order", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        ...raplZoneFiles("intel-rapl:0:2", "dram", 3n),
        ...raplZoneFiles("intel-rapl:0:1", "dram", 2n),
        ...raplZoneFiles("intel-rapl:0:0", "dram", 1n),
        "class/powercap/intel-rapl/enabled": "1\n"
      })
      const zones = yield* discoverRaplZones(root)
      expect(zones.map((z) => [z.name, z.index, path.basename(z.path)])).toEqual([
        ["dram", 0, "intel-rapl:0:0"],
        ["dram", 1, "intel-rapl:0:1"],
        ["dram", 2, "intel-rapl:0:2"]
      ])
    }))

  it.scoped("fails the whole discovery on a missing max_energy_range_uj, naming the file", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        ...raplZoneFiles("intel-rapl:0", "package-0", 1n),
        ...raplZoneFiles("intel-rapl:1", "package-1", 1n, "missing")
      })
      const error = yield* Effect.flip(discoverRaplZones(root))
      const file = path.join(root, "class/powercap/intel-rapl:1/max_energy_range_uj")
      expect(error.path).toBe(file)
      expect(error.message).toBe(`RAPL discovery failed at ${file}: ENOENT (no such file)`)
    }))

  it.scoped("fails on an unparsable max_energy_range_uj", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        ...raplZoneFiles("intel-rapl:0", "package-0", 1n),
        "class/powercap/intel-rapl:0/max_energy_range_uj": "lots\n"
      })
      const error = yield* Effect.flip(discoverRaplZones(root))
      expect(error.reason).toBe("not an unsigned 64-bit integer: \"lots\"")
    }))
})
