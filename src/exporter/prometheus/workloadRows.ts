/**
 * The samples of a joulemon per-workload, per-zone energy family (idle allocation, short-lived
 * work): one row per workload and zone, running then terminated, with the workload's identity
 * labels, its state, the zone, and the family's trailing labels.
 */
import type { Snapshot, Workloads } from "../../monitor/snapshot.js"
import { joules } from "../../monitor/snapshot.js"
import type { Sample } from "./families.js"

export const workloadZoneRows = <W extends { readonly id: string }>(
  s: Snapshot,
  workloads: Workloads<W>,
  energies: ReadonlyMap<string, ReadonlyArray<bigint>>,
  identity: (w: W) => ReadonlyArray<string>,
  trailing: ReadonlyArray<string>
): Iterable<Sample> => ({
  *[Symbol.iterator]() {
    const seen = new Set<string>()
    for (const [state, list] of [["running", workloads.running], ["terminated", workloads.terminated]] as const) {
      for (const w of list) {
        // A terminated entry with a running one's id (a restarted container) is the running one.
        if (seen.has(w.id)) continue
        seen.add(w.id)
        const energy = energies.get(w.id)
        if (energy === undefined) continue
        const id = identity(w)
        for (const [z, zone] of s.zones.entries()) {
          yield { labels: [...id, state, zone.name, ...trailing], value: joules(energy[z] ?? 0n) }
        }
      }
    }
  }
})
