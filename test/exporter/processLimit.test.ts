import { describe, expect, it } from "@effect/vitest"
import { syntheticSnapshot } from "../../scripts/lib/syntheticSnapshot.js"
import { METRICS_LEVELS } from "../../src/config/Config.js"
import { writeFamilies } from "../../src/exporter/prometheus/exposition.js"
import { type MetricFamily, type Sample, snapshotFamilies } from "../../src/exporter/prometheus/families.js"
import { processFold } from "../../src/exporter/prometheus/processLimit.js"
import type { ProcessWorkload, Snapshot } from "../../src/monitor/snapshot.js"
import { parseSamples } from "../support/exposition.js"

const base = syntheticSnapshot(300)

const at = <A>(xs: ReadonlyArray<A>, i: number): A => {
  const x = xs[i]
  if (x === undefined) throw new Error(`no element ${i}`)
  return x
}

/** The base snapshot with some terminated processes (the highest-energy running ones, frozen). */
const withTerminated: Snapshot = {
  ...base,
  processes: {
    running: base.processes.running.slice(20),
    terminated: base.processes.running.slice(0, 20).map((p) => ({ ...p, watts: p.watts.map(() => 0) }))
  }
}

const familiesOf = (s: Snapshot, maxProcesses = 0): ReadonlyArray<MetricFamily> =>
  snapshotFamilies(s, { levels: new Set(METRICS_LEVELS), nodeName: "n", maxProcesses })
const family = (fs: ReadonlyArray<MetricFamily>, name: string): ReadonlyArray<Sample> =>
  Array.from(fs.find((f) => f.name === name)?.samples ?? [])

/** µJ back from an exported joules value (exact for these magnitudes). */
const micro = (joules: number): bigint => BigInt(Math.round(joules * 1e6))

/** Σ of the samples per the label values at `keep` (e.g. per state and zone: every process summed). */
const sumsBy = (samples: ReadonlyArray<Sample>, keep: ReadonlyArray<number>, toMicro: boolean) => {
  const sums = new Map<string, bigint | number>()
  for (const s of samples) {
    const key = keep.map((i) => s.labels[i]).join("|")
    const prev = sums.get(key)
    if (toMicro) sums.set(key, (typeof prev === "bigint" ? prev : 0n) + micro(s.value))
    else sums.set(key, (typeof prev === "number" ? prev : 0) + s.value)
  }
  return sums
}

describe("processFold", () => {
  it("keeps the top N by primary-zone energy, running and terminated ranked together", () => {
    const all = [...withTerminated.processes.running, ...withTerminated.processes.terminated]
    const fold = processFold(withTerminated.processes, withTerminated.primaryZone, 25)
    expect(fold?.kept.size).toBe(25)
    const energy = (p: ProcessWorkload) => p.energy[withTerminated.primaryZone] ?? 0n
    const keptEnergies = [...(fold?.kept ?? [])].map(energy)
    const lowestKept = keptEnergies.reduce((m, e) => (e < m ? e : m), at(keptEnergies, 0))
    expect(all.filter((p) => !(fold?.kept.has(p) ?? false))).toHaveLength(all.length - 25)
    for (const p of all) if (!(fold?.kept.has(p) ?? false)) expect(energy(p) <= lowestKept).toBe(true)
  })

  it("breaks ties by pid, then by key, whatever the input order", () => {
    const tied = (pid: number, key: string): ProcessWorkload => ({
      ...at(base.processes.running, 0),
      pid,
      key,
      energy: [5n, 5n, 5n]
    })
    const ps = [tied(30, "30:1"), tied(10, "10:9"), tied(10, "10:2"), tied(20, "20:1")]
    const kept = (order: ReadonlyArray<ProcessWorkload>) =>
      [...(processFold({ running: order, terminated: [] }, 0, 2)?.kept ?? [])].map((p) => p.key).sort()
    expect(kept(ps)).toEqual(["10:2", "10:9"])
    expect(kept([...ps].reverse())).toEqual(["10:2", "10:9"])
    expect(processFold({ running: [at(ps, 0), at(ps, 1), at(ps, 3)], terminated: [] }, 0, 2)?.kept.has(at(ps, 0))).toBe(
      false
    )
  })

  it("folds nothing when unset, 0, or at least the number of processes", () => {
    expect(processFold(base.processes, 0, 0)).toBeUndefined()
    expect(processFold(base.processes, 0, 300)).toBeUndefined()
    const unlimited = writeFamilies(familiesOf(withTerminated), "prometheus")
    expect(writeFamilies(familiesOf(withTerminated, 0), "prometheus")).toBe(unlimited)
    expect(writeFamilies(familiesOf(withTerminated, 300), "prometheus")).toBe(unlimited)
  })
})

describe("the process families with maxProcesses", () => {
  const limited = familiesOf(withTerminated, 40)
  const unlimited = familiesOf(withTerminated)
  // Label order: pid, comm, exe, type, container_id, vm_id, state, zone, node_name.
  const byStateZone = [6, 7, 8]

  it("exports the top 40 processes plus one other series per state and zone", () => {
    const joules = family(limited, "kepler_process_cpu_joules_total")
    const kept = new Set([...(processFold(withTerminated.processes, 0, 40)?.kept ?? [])].map((p) => String(p.pid)))
    expect(new Set(joules.map((s) => s.labels[0]).filter((pid) => pid !== ""))).toEqual(kept)
    const other = joules.filter((s) => s.labels[0] === "")
    expect(other.map((s) => s.labels)).toEqual(
      ["running", "terminated"].flatMap((state) =>
        ["package", "core", "dram"].map((zone) => ["", "other", "", "other", "", "", state, zone, "n"])
      )
    )
    const seconds = family(limited, "kepler_process_cpu_seconds_total").filter((s) => s.labels[0] === "")
    expect(seconds.map((s) => s.labels)).toEqual([["", "other", "", "other", "", "", "n"]])
  })

  it("keeps every sum exactly: energy in µJ per state and zone, watts and seconds", () => {
    const j = "kepler_process_cpu_joules_total"
    expect(sumsBy(family(limited, j), byStateZone, true)).toEqual(sumsBy(family(unlimited, j), byStateZone, true))
    const exact = [...withTerminated.processes.running, ...withTerminated.processes.terminated].reduce(
      (a, p) => a + (p.energy[0] ?? 0n),
      0n
    )
    const packageSum = family(limited, j).filter((s) => s.labels[7] === "package").reduce(
      (a, s) => a + micro(s.value),
      0n
    )
    expect(packageSum).toBe(exact)
    for (
      const [name, keep] of [["kepler_process_cpu_watts", byStateZone], ["kepler_process_cpu_seconds_total", [
        6
      ]]] as const
    ) {
      const mine = sumsBy(family(limited, name), keep, false)
      const all = sumsBy(family(unlimited, name), keep, false)
      expect([...mine.keys()]).toEqual([...all.keys()])
      for (const [k, v] of all) expect(mine.get(k)).toBeCloseTo(v as number, 9)
    }
  })

  it("is valid Prometheus text: no two samples of a family share a label set", () => {
    const text = writeFamilies(limited, "prometheus")
    const seen = new Set<string>()
    for (const s of parseSamples(text)) {
      const key = `${s.name}${JSON.stringify(s.labels)}`
      expect(seen.has(key)).toBe(false)
      seen.add(key)
    }
    expect(text).toContain(
      "kepler_process_cpu_joules_total{pid=\"\",comm=\"other\",exe=\"\",type=\"other\",container_id=\"\",vm_id=\"\",state=\"running\",zone=\"package\",node_name=\"n\"}"
    )
  })

  it("leaves the other levels alone", () => {
    for (
      const name of ["kepler_container_cpu_joules_total", "kepler_vm_cpu_joules_total", "kepler_node_cpu_joules_total"]
    ) {
      expect(family(limited, name)).toEqual(family(unlimited, name))
    }
  })
})
