import { describe, expect, it } from "@effect/vitest"
import type { RaplZoneInfo } from "../../src/device/raplDiscovery.js"
import { dedupRaplZones, filterRaplZones, groupRaplZones } from "../../src/device/raplZoneSet.js"

const zone = (name: string, index: number, entry: string, maxEnergy = 1000n): RaplZoneInfo => ({
  name,
  index,
  path: `/sys/class/powercap/${entry}`,
  maxEnergy
})

const standard = zone("package", 0, "intel-rapl:0")
const mmio = zone("package", 0, "intel-rapl-mmio:0")

describe("filterRaplZones", () => {
  const zones = [
    zone("package", 0, "intel-rapl:0"),
    zone("core", 0, "intel-rapl:0:0"),
    zone("dram", 0, "intel-rapl:0:1")
  ]

  it("keeps everything with an empty filter", () => {
    expect(filterRaplZones(zones, [])).toEqual(zones)
  })

  it("matches names case-insensitively and ignores unknown names", () => {
    expect(filterRaplZones(zones, ["PACKAGE", "Dram", "gpu"]).map((z) => z.name)).toEqual(["package", "dram"])
  })

  it("can leave nothing", () => {
    expect(filterRaplZones(zones, ["psys"])).toEqual([])
  })
})

describe("dedupRaplZones (kepler-behaviour.md §12 check 3)", () => {
  it("standard beats mmio when mmio comes first", () => {
    expect(dedupRaplZones([mmio, standard])).toEqual([standard])
  })

  it("standard beats mmio when mmio comes second", () => {
    expect(dedupRaplZones([standard, mmio])).toEqual([standard])
  })

  it("the last of two non-standard zones wins", () => {
    const other = zone("package", 0, "dptf-mmio:0")
    expect(dedupRaplZones([mmio, other])).toEqual([other])
  })

  it("keeps zones with different indices", () => {
    const second = zone("package", 1, "intel-rapl:1")
    expect(dedupRaplZones([standard, second])).toEqual([standard, second])
  })
})

describe("groupRaplZones", () => {
  it("groups by name in name order, members by index", () => {
    const p1 = zone("package", 1, "intel-rapl:1")
    const p0 = zone("package", 0, "intel-rapl:0")
    const core = zone("core", 0, "intel-rapl:0:0")
    const d1 = zone("dram", 1, "intel-rapl:1:1")
    const d0 = zone("dram", 0, "intel-rapl:0:1")
    expect(groupRaplZones([p1, d1, core, p0, d0])).toEqual([[core], [d0, d1], [p0, p1]])
  })
})
