/**
 * `exporter.prometheus.maxProcesses`: the process families export the top N processes by
 * energy and fold the rest into one `comm="other"` series per state and zone, so a fleet can
 * bound its series count without losing energy (kepler#1486). Pure; families.ts applies it.
 */
import type { ProcessWorkload, Workloads } from "../../monitor/snapshot.js"

/**
 * The identity labels of the folded series (pid, comm, exe, type, container_id, vm_id).
 * `pid=""` is what makes it unique: every real process has a pid, so even one whose comm is
 * "other" never shares its label set (Prometheus treats an empty value as an absent label, which
 * no real process series is). `type="other"`, `exe`, `container_id` and `vm_id` empty: the folded
 * processes are of every kind, so any label but its own would misattribute their energy.
 */
export const OTHER_PROCESS_IDENTITY: ReadonlyArray<string> = ["", "other", "", "other", "", ""]

/** What the process families keep when folding: these workloads, the rest go to "other". */
export interface Fold<W> {
  readonly kept: ReadonlySet<W>
  readonly identity: ReadonlyArray<string>
}

/** Highest energy in `zone` first; ties by pid, then by key (pid:starttime), so the choice is deterministic. */
export const byEnergyThenPid = (zone: number) => (a: ProcessWorkload, b: ProcessWorkload): number => {
  const ea = a.energy[zone] ?? 0n
  const eb = b.energy[zone] ?? 0n
  if (ea !== eb) return ea > eb ? -1 : 1
  if (a.pid !== b.pid) return a.pid - b.pid
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}

/**
 * The fold for `max` (0: none, Kepler's behaviour): the top `max` processes — running and
 * terminated ranked together by their energy in the snapshot's primary zone, the one that ranks
 * terminated workloads — or nothing to fold when there are no more than `max`.
 */
export const processFold = (
  processes: Workloads<ProcessWorkload>,
  primaryZone: number,
  max: number
): Fold<ProcessWorkload> | undefined => {
  const count = processes.running.length + processes.terminated.length
  if (max <= 0 || count <= max) return undefined
  const ranked = [...processes.running, ...processes.terminated].sort(byEnergyThenPid(primaryZone))
  return { kept: new Set(ranked.slice(0, max)), identity: OTHER_PROCESS_IDENTITY }
}
