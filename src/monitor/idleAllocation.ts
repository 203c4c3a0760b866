/**
 * Idle-power allocation (issue 13, `monitor.idlePolicy`): one pure function from the previous
 * allocation, this interval's CPU snapshot and the processes' CPU-tick deltas to the cumulative
 * idle energy each container, VM and pod is charged with. Kepler keeps idle energy at node level
 * (`none`, the default, computes nothing); chargeback wants it spread:
 *
 * - `cpu-share`: idle splits like active, by CPU ticks; the share of processes outside every
 *   container and VM stays at node level;
 * - `equal`: one equal part per running container and per running VM outside a container;
 * - `requests`: Kubernetes pods by their CPU requests (Σ of the pod spec's containers), each
 *   pod's part over its running containers by theirs (equally when none has one); VMs, other
 *   containers and pods without requests are charged nothing, that idle stays at node level.
 *
 * A process belongs to its container if it has one, else to its VM, so a VM's qemu inside a
 * container (KubeVirt) is charged once. Pods = Σ their containers. Every interval, per zone,
 * Σ containers + Σ VMs + node level = the zone's interval idle energy, to the µJ (the same
 * largest-remainder split as the active energy), so cumulatively too. Kepler's families are not
 * touched: these are separate `joulemon_*_cpu_idle_joules_total` families.
 */
import type { IdlePolicy } from "../config/Config.js"
import type { ProcessInfo, ResourceReading } from "../resource/types.js"
import { splitLargestRemainder } from "./largestRemainder.js"
import { type ShortLivedWeights, shortLivedWeights } from "./shortLived.js"
import type { Snapshot, Workloads } from "./snapshot.js"

export type { IdlePolicy }

/** Cumulative idle µJ per zone (indexed like `Snapshot.zones`). */
export type ZoneEnergies = ReadonlyArray<bigint>

export interface IdleAllocation {
  readonly policy: IdlePolicy
  /** By container id, VM id and pod id: running ones and those still listed as terminated. */
  readonly containers: ReadonlyMap<string, ZoneEnergies>
  readonly vms: ReadonlyMap<string, ZoneEnergies>
  readonly pods: ReadonlyMap<string, ZoneEnergies>
  /** Idle energy that stayed at node level (processes outside containers and VMs; no claimant). */
  readonly nodeLevel: ZoneEnergies
}

export const initialIdleAllocation = (policy: IdlePolicy): IdleAllocation => ({
  policy,
  containers: new Map(),
  vms: new Map(),
  pods: new Map(),
  nodeLevel: []
})

type Claimant = { readonly kind: "container" | "vm"; readonly id: string }

const claimantOf = (p: ProcessInfo): Claimant | undefined =>
  p.containerId !== ""
    ? { kind: "container", id: p.containerId }
    : p.vmId !== ""
    ? { kind: "vm", id: p.vmId }
    : undefined

/** The row of `id`, created from its previous totals (or zeros) on first use this interval. */
const ensure = (
  into: Map<string, Array<bigint>>,
  id: string,
  before: ZoneEnergies | undefined,
  zones: number
): Array<bigint> => {
  let row = into.get(id)
  if (row === undefined) {
    row = Array.from({ length: zones }, (_, k) => before?.[k] ?? 0n)
    into.set(id, row)
  }
  return row
}

const add = (
  into: Map<string, Array<bigint>>,
  id: string,
  before: ZoneEnergies | undefined,
  z: number,
  zones: number,
  amount: number
) => {
  const row = ensure(into, id, before, zones)
  row[z] = (row[z] ?? 0n) + BigInt(amount)
}

/** Keeps the previous totals of workloads that are still exported (running or terminated). */
const carry = (
  into: Map<string, Array<bigint>>,
  previous: ReadonlyMap<string, ZoneEnergies>,
  ids: Iterable<string>,
  zones: number
) => {
  for (const id of ids) {
    const before = previous.get(id)
    if (before !== undefined) ensure(into, id, before, zones)
  }
}

const exportedIds = (w: Workloads<{ readonly id: string }>): Array<string> =>
  [...w.running, ...w.terminated].map((x) => x.id)

/** What of the reading the allocation uses: processes' ticks, and for `requests` the requests. */
export type IdleInputs = Pick<ResourceReading, "processes" | "containers" | "podCpuRequests" | "cgroups"> & {
  readonly node: Pick<ResourceReading["node"], "activeTicks">
}

/** `requests`: each running pod with a request, with its running containers and their weights. */
const requestClaims = (snapshot: Snapshot, reading: IdleInputs) => {
  const byPod = new Map<string, Array<{ readonly id: string; readonly request: number }>>()
  for (const c of snapshot.containers.running) {
    if (c.podId === "") continue
    const list = byPod.get(c.podId) ?? []
    list.push({ id: c.id, request: reading.containers.get(c.id)?.cpuRequestMillis ?? 0 })
    byPod.set(c.podId, list)
  }
  return [...byPod.keys()].sort().flatMap((pod) => {
    const weight = reading.podCpuRequests?.get(pod) ?? 0
    const containers = (byPod.get(pod) ?? []).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    if (weight <= 0 || containers.length === 0) return []
    const requested = containers.some((c) => c.request > 0)
    return [{ weight, containers: containers.map((c) => ({ id: c.id, weight: requested ? c.request : 1 })) }]
  })
}

/**
 * `cpu-share` and `equal`: each container (or VM outside one) with a running process and its
 * weight, in a fixed order (kind, then id) so the split is the same whatever order the processes
 * came in; and the weight of the processes in neither, which stays at node level. Under
 * `monitor.shortLived: cgroup`, cpu-share weighs CPU time as the active split does: a
 * container's short-lived ticks are its own, the node residual's stay at node level.
 */
const shareClaims = (
  policy: "cpu-share" | "equal",
  processes: ReadonlyArray<ProcessInfo>,
  unseen: ShortLivedWeights | undefined
) => {
  const weights = new Map<string, { readonly claimant: Claimant; weight: number }>()
  let nodeLevelWeight = 0
  for (const p of processes) {
    const c = claimantOf(p)
    const ticks = Math.max(0, p.cpuTicksDelta)
    if (c === undefined) {
      if (policy === "cpu-share") nodeLevelWeight += ticks
      continue
    }
    const key = `${c.kind === "container" ? 0 : 1}:${c.id}`
    const entry = weights.get(key) ?? { claimant: c, weight: 0 }
    entry.weight = policy === "equal" ? 1 : entry.weight + ticks
    weights.set(key, entry)
  }
  if (policy === "cpu-share" && unseen !== undefined) {
    for (const c of unseen.containers) {
      const entry = weights.get(`0:${c.containerId}`)
      if (entry !== undefined) entry.weight += c.ticks
    }
    nodeLevelWeight += unseen.residualTicks
  }
  const claimants = [...weights.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e)
  return { claimants, nodeLevelWeight }
}

export const allocateIdle = (prev: IdleAllocation, snapshot: Snapshot, reading: IdleInputs): IdleAllocation => {
  if (prev.policy === "none") return prev
  const zones = snapshot.zones.length
  const { claimants, nodeLevelWeight } = prev.policy === "requests"
    ? { claimants: [], nodeLevelWeight: 0 }
    : shareClaims(
      prev.policy,
      reading.processes,
      reading.cgroups === undefined
        ? undefined
        : shortLivedWeights(reading.processes, reading.cgroups, reading.node.activeTicks)
    )
  const split = [...claimants.map((e) => e.weight), nodeLevelWeight]

  const containers = new Map<string, Array<bigint>>()
  const vms = new Map<string, Array<bigint>>()
  const nodeLevel = Array.from({ length: zones }, (_, z) => prev.nodeLevel[z] ?? 0n)
  const podClaims = prev.policy === "requests" ? requestClaims(snapshot, reading) : []
  // Every workload that may be charged has its series from the start, also through intervals
  // without idle energy (a saturated CPU books none).
  for (const pod of podClaims) {
    for (const c of pod.containers) ensure(containers, c.id, prev.containers.get(c.id), zones)
  }
  for (const { claimant: c } of claimants) {
    if (c.kind === "container") ensure(containers, c.id, prev.containers.get(c.id), zones)
    else ensure(vms, c.id, prev.vms.get(c.id), zones)
  }
  snapshot.zones.forEach((zone, z) => {
    const idle = Number(zone.intervalEnergy - zone.intervalActiveEnergy)
    if (idle <= 0) return
    if (prev.policy === "requests") {
      // Pods by request, then each pod's part over its containers; the rest stays at node level.
      const podParts = splitLargestRemainder(idle, podClaims.map((p) => p.weight))
      let allocated = 0
      podClaims.forEach((pod, i) => {
        const containerParts = splitLargestRemainder(podParts[i] ?? 0, pod.containers.map((c) => c.weight))
        pod.containers.forEach((c, k) => {
          const part = containerParts[k] ?? 0
          allocated += part
          add(containers, c.id, prev.containers.get(c.id), z, zones, part)
        })
      })
      nodeLevel[z] = (nodeLevel[z] ?? 0n) + BigInt(idle - allocated)
      return
    }
    const parts = splitLargestRemainder(idle, split)
    let allocated = 0
    claimants.forEach((e, i) => {
      const part = parts[i] ?? 0
      allocated += part
      if (e.claimant.kind === "container") {
        add(containers, e.claimant.id, prev.containers.get(e.claimant.id), z, zones, part)
      } else add(vms, e.claimant.id, prev.vms.get(e.claimant.id), z, zones, part)
    })
    // Whatever no claimant took (node-level weight, or nobody to charge) stays at node level.
    nodeLevel[z] = (nodeLevel[z] ?? 0n) + BigInt(idle - allocated)
  })
  carry(containers, prev.containers, exportedIds(snapshot.containers), zones)
  carry(vms, prev.vms, exportedIds(snapshot.vms), zones)

  // Pods = Σ their containers' interval parts, added to the pods' previous totals.
  const pods = new Map<string, Array<bigint>>()
  for (const c of snapshot.containers.running) {
    if (c.podId === "") continue
    const now = containers.get(c.id)
    const before = prev.containers.get(c.id)
    if (now === undefined) continue
    for (let z = 0; z < zones; z++) {
      const delta = (now[z] ?? 0n) - (before?.[z] ?? 0n)
      add(pods, c.podId, prev.pods.get(c.podId), z, zones, Number(delta))
    }
  }
  carry(pods, prev.pods, exportedIds(snapshot.pods), zones)
  return { policy: prev.policy, containers, vms, pods, nodeLevel }
}
