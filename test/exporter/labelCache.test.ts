import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { syntheticSnapshot } from "../../scripts/lib/syntheticSnapshot.js"
import { METRICS_LEVELS } from "../../src/config/Config.js"
import { writeFamilies } from "../../src/exporter/prometheus/exposition.js"
import { snapshotFamilies } from "../../src/exporter/prometheus/families.js"
import { makeLabelCache } from "../../src/exporter/prometheus/labelCache.js"
import { exposition, type ExpositionFormat } from "../../src/exporter/prometheus/render.js"
import type { ProcessWorkload, Snapshot } from "../../src/monitor/snapshot.js"

const base = syntheticSnapshot(120)
const all = [...base.processes.running, ...base.processes.terminated]

/** What one scrape's snapshot does to the base processes: which stay, which get new labels. */
interface Churn {
  readonly kept: ReadonlyArray<boolean>
  /** A new comm for the process at that index (same key: same incarnation, renamed). */
  readonly renames: ReadonlyArray<readonly [number, string]>
  readonly containerName: string
}

const churnArbitrary: fc.Arbitrary<Churn> = fc.record({
  kept: fc.array(fc.boolean(), { minLength: all.length, maxLength: all.length }),
  renames: fc.array(
    fc.tuple(fc.nat({ max: all.length - 1 }), fc.constantFrom("x", "q\"uote", "back\\slash", "new\nline", "é")),
    { maxLength: 6 }
  ),
  containerName: fc.constantFrom("svc", "svc\"2", "svc\n3")
})

const apply = (churn: Churn): Snapshot => {
  const renamed = new Map(churn.renames)
  const keep = (p: ProcessWorkload) => churn.kept[all.indexOf(p)] === true
  const rename = (p: ProcessWorkload): ProcessWorkload => {
    const comm = renamed.get(all.indexOf(p))
    return comm === undefined ? { ...p } : { ...p, comm }
  }
  return {
    ...base,
    processes: {
      running: base.processes.running.filter(keep).map(rename),
      terminated: base.processes.terminated.filter(keep).map(rename)
    },
    containers: {
      running: base.containers.running.map((c, i) => (i % 2 === 0 ? { ...c, name: churn.containerName } : { ...c })),
      terminated: base.containers.terminated
    }
  }
}

const families = (s: Snapshot) => snapshotFamilies(s, { levels: new Set(METRICS_LEVELS), nodeName: "n" })

/** Distinct workloads with identity labels in `s` (what the cache should hold after a scrape). */
const workloadsIn = (s: Snapshot): number =>
  new Set([
    ...[...s.processes.running, ...s.processes.terminated].map((p) => `p${p.key}`),
    ...[...s.containers.running, ...s.containers.terminated].map((c) => `c${c.id}`),
    ...[...s.vms.running, ...s.vms.terminated].map((v) => `v${v.id}`),
    ...[...s.pods.running, ...s.pods.terminated].map((p) => `q${p.id}`)
  ]).size

describe("the label cache across scrapes", () => {
  for (const format of ["prometheus", "openmetrics"] as ReadonlyArray<ExpositionFormat>) {
    it(`gives the same bytes as no cache over scrapes with churn, ${format} (property)`, () => {
      fc.assert(
        fc.property(fc.array(churnArbitrary, { minLength: 2, maxLength: 5 }), (scrapes) => {
          const cache = makeLabelCache()
          for (const churn of scrapes) {
            const snapshot = apply(churn)
            const cached = [...exposition(families(snapshot), format, [], cache)].join("")
            const uncached = [...exposition(families(snapshot), format)].join("")
            expect(cached).toBe(uncached)
            expect(cache.size()).toBe(workloadsIn(snapshot))
          }
        }),
        { seed: 11, numRuns: 40 }
      )
    })
  }

  it("reuses a workload's rendered labels on the next scrape, and drops workloads that left", () => {
    const cache = makeLabelCache()
    const first = apply({ kept: all.map(() => true), renames: [], containerName: "svc" })
    writeFamiliesCached(first, cache)
    expect(cache.size()).toBe(workloadsIn(first))
    let rendered = 0
    const spy = {
      ...cache,
      head: (...args: Parameters<typeof cache.head>) =>
        cache.head(args[0], args[1], args[2], args[3], () => (rendered++, args[4]()))
    }
    writeFamiliesCached(first, spy)
    expect(rendered).toBe(0)

    const fewer = apply({ kept: all.map((_, i) => i % 2 === 0), renames: [[0, "renamed"]], containerName: "svc" })
    const body = writeFamiliesCached(fewer, spy)
    expect(rendered).toBe(1) // only the renamed process
    expect(body).toContain("comm=\"renamed\"")
    expect(cache.size()).toBe(workloadsIn(fewer))
    expect(cache.size()).toBeLessThan(workloadsIn(first))
  })

  it("keeps its entries when a scrape is abandoned before the end", () => {
    const cache = makeLabelCache()
    const s = apply({ kept: all.map(() => true), renames: [], containerName: "svc" })
    writeFamiliesCached(s, cache)
    const size = cache.size()
    const smaller = apply({ kept: all.map((_, i) => i < 3), renames: [], containerName: "svc" })
    const chunks = exposition(families(smaller), "prometheus", [], cache)
    chunks.next()
    chunks.return(undefined)
    expect(cache.size()).toBe(size)
  })
})

const writeFamiliesCached = (s: Snapshot, cache: ReturnType<typeof makeLabelCache>): string => {
  const body = [...exposition(families(s), "prometheus", [], cache)].join("")
  expect(body).toBe(writeFamilies(families(s), "prometheus"))
  return body
}
