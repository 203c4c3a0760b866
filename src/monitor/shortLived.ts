/**
 * Short-lived work (`monitor.shortLived: cgroup`, issue 13): the CPU time that no process seen
 * at two scans accounts for. Pure; the attribution (attribute.ts) adds these weights after the
 * processes' own, so one largest-remainder split books every part and conservation stays exact:
 *
 * - per running container: its cgroup's ticks this interval minus its seen processes' ticks,
 *   when positive — processes that started and exited between the scans (a compiler of a CI
 *   job, a batch pod's worker), booked to that container (and so its pod);
 * - at node level: /proc/stat's active ticks minus everything above, when positive — short-lived
 *   processes outside containers, interrupt and steal time — booked to the explicit
 *   `unattributed` residual instead of being spread over whoever was seen.
 *
 * Where the seen processes cover more than the cgroup (or the node) — the scans do not sample
 * every file at the same instant, and /proc's ticks are rounded per process — the gap is 0, not
 * negative: nothing is taken back from a process.
 */
import type { ContainerCgroup, ProcessInfo } from "../resource/types.js"

export interface ShortLivedShare {
  readonly containerId: string
  readonly ticks: number
}

export interface ShortLivedWeights {
  /** Containers with short-lived ticks this interval, sorted by id. */
  readonly containers: ReadonlyArray<ShortLivedShare>
  /** Active ticks of /proc/stat that neither a seen process nor a container cgroup accounts for. */
  readonly residualTicks: number
}

export const shortLivedWeights = (
  processes: ReadonlyArray<ProcessInfo>,
  cgroups: ReadonlyMap<string, ContainerCgroup>,
  activeTicks: number
): ShortLivedWeights => {
  const seen = new Map<string, number>()
  let accounted = 0
  for (const p of processes) {
    accounted += p.cpuTicksDelta
    if (p.containerId !== "") seen.set(p.containerId, (seen.get(p.containerId) ?? 0) + p.cpuTicksDelta)
  }
  const containers: Array<ShortLivedShare> = []
  for (const id of [...cgroups.keys()].sort()) {
    const ticks = cgroups.get(id)?.ticks ?? null
    // A container without running processes has no workload to book to (the reading only
    // carries running containers' cgroups; this guards other informers).
    if (ticks === null || !seen.has(id)) continue
    const unseen = ticks - (seen.get(id) ?? 0)
    if (unseen > 0) {
      containers.push({ containerId: id, ticks: unseen })
      accounted += unseen
    }
  }
  return { containers, residualTicks: Math.max(0, activeTicks - accounted) }
}

/**
 * Cumulative short-lived energy per zone (µJ) of the containers and pods whose cgroups are read,
 * running or still in the terminated lists.
 */
export interface ShortLivedTotals {
  readonly containers: ReadonlyMap<string, ReadonlyArray<bigint>>
  readonly pods: ReadonlyMap<string, ReadonlyArray<bigint>>
}

const plus = (before: ReadonlyArray<bigint> | undefined, share: ReadonlyArray<number>): ReadonlyArray<bigint> =>
  Object.freeze(share.map((s, z) => (before?.[z] ?? 0n) + BigInt(s)))

/**
 * The totals after one interval. Every running container whose cgroup is read has a series
 * from its first interval (0 until it has short-lived work); a pod's share is the Σ of its
 * containers'. Terminated entries keep their last totals while they are listed.
 */
export const nextShortLivedTotals = (
  previous: ShortLivedTotals | undefined,
  interval: ReadonlyMap<string, ReadonlyArray<number>>,
  cgroups: ReadonlyMap<string, unknown>,
  running: ReadonlyArray<{ readonly id: string; readonly podId: string }>,
  runningPods: ReadonlySet<string>,
  terminated: { readonly containers: ReadonlyArray<string>; readonly pods: ReadonlyArray<string> },
  zoneCount: number
): ShortLivedTotals => {
  const none: ReadonlyArray<number> = new Array<number>(zoneCount).fill(0)
  const containers = new Map<string, ReadonlyArray<bigint>>()
  const podShares = new Map<string, Array<number>>()
  for (const c of running) {
    const before = previous?.containers.get(c.id)
    if (before === undefined && !cgroups.has(c.id)) continue
    const share = interval.get(c.id) ?? none
    containers.set(c.id, plus(before, share))
    if (c.podId === "" || !runningPods.has(c.podId)) continue
    const pod = podShares.get(c.podId) ?? new Array<number>(zoneCount).fill(0)
    for (let z = 0; z < zoneCount; z++) pod[z] = (pod[z] ?? 0) + (share[z] ?? 0)
    podShares.set(c.podId, pod)
  }
  const pods = new Map<string, ReadonlyArray<bigint>>()
  for (const id of [...podShares.keys()].sort()) pods.set(id, plus(previous?.pods.get(id), podShares.get(id) ?? none))
  const keep = (
    into: Map<string, ReadonlyArray<bigint>>,
    from: ReadonlyMap<string, ReadonlyArray<bigint>> | undefined,
    ids: ReadonlyArray<string>
  ) => {
    for (const id of ids) {
      const last = from?.get(id)
      if (last !== undefined && !into.has(id)) into.set(id, last)
    }
  }
  keep(containers, previous?.containers, terminated.containers)
  keep(pods, previous?.pods, terminated.pods)
  return { containers, pods }
}
