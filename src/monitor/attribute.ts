/**
 * The attribution: one deterministic pure function from (previous state, this interval's zone
 * samples and resource reading) to (next state, snapshot). DESIGN.md §3:
 *
 * - per zone, the booked delta splits into active = ⌊ΔE × Δactive/Δtotal⌋ (from /proc/stat)
 *   and idle = ΔE − active;
 * - active energy splits over running processes by their integer CPU-tick deltas with the
 *   largest-remainder method (ties to the lower pid), so Σ processes = active − unattributed
 *   exactly; with no CPU-using process the whole active energy is `unattributed`;
 * - with `monitor.shortLived: cgroup` (shortLived.ts) the split also weighs each container's
 *   short-lived ticks (its cgroup's usage beyond its seen processes) and the node residual (the
 *   rest of /proc/stat's active ticks), so Σ processes + Σ short-lived + unattributed = active;
 * - containers, VMs and pods are sums of their members' interval energy, never computed
 *   independently, so every level adds up to the µJ (a container's members include its
 *   short-lived share);
 * - watts = interval energy / the zone's interval seconds (0 when nothing was booked).
 */
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceReading, VmInfo } from "../resource/types.js"
import { USER_HZ } from "../resource/types.js"
import type { GpuSnapshot } from "./gpuAttribution.js"
import type { IdleAllocation } from "./idleAllocation.js"
import { splitLargestRemainder } from "./largestRemainder.js"
import { initialZoneState, stepZone, type ZoneMeta, type ZoneSample, type ZoneState } from "./nodeEnergy.js"
import { nextShortLivedTotals, type ShortLivedTotals, type ShortLivedWeights, shortLivedWeights } from "./shortLived.js"
import { runToEnd } from "./slices.js"
import type {
  ContainerWorkload,
  NodeZone,
  PodWorkload,
  ProcessWorkload,
  Snapshot,
  VmWorkload,
  Workloads,
  ZoneValues
} from "./snapshot.js"
import { type TrackerConfig, trackTerminated } from "./terminatedTracker.js"

export interface AttributionConfig {
  readonly maxPlausibleWatts: number
  /** `monitor.maxTerminated` */
  readonly maxTerminated: number
  /** `monitor.minTerminatedEnergyThreshold` in µJ */
  readonly minTerminatedEnergy: bigint
  /** Index into the zone list of the primary zone. */
  readonly primaryZone: number
}

export interface AttributionInput {
  readonly nowNanos: bigint
  /** Clock time in ms for the snapshot's timestamp. */
  readonly timestamp: number
  readonly zones: ReadonlyArray<ZoneMeta>
  /** Aligned with `zones`. */
  readonly samples: ReadonlyArray<ZoneSample>
  readonly resources: ResourceReading
  /** The previous snapshot was exported: terminated lists start afresh (Kepler §5.5). */
  readonly clearTerminated: boolean
  /** joulemon's own pids (itself and its collector worker): their shares also go to `selfEnergy`. */
  readonly selfPids?: ReadonlyArray<number>
}

export interface MonitorState {
  readonly sequence: number
  readonly zones: ReadonlyArray<ZoneState>
  readonly processes: ReadonlyMap<string, ProcessWorkload>
  readonly containers: ReadonlyMap<string, ContainerWorkload>
  readonly vms: ReadonlyMap<string, VmWorkload>
  readonly pods: ReadonlyMap<string, PodWorkload>
  /** Cumulative CPU ticks per running container (exported as seconds). */
  readonly containerTicks: ReadonlyMap<string, number>
  /**
   * joulemon's own energy per zone (µJ), accumulated per interval rather than summed over the
   * running self processes, so a respawned collector worker does not take its energy with it.
   */
  readonly selfEnergy: ReadonlyArray<bigint>
  /** Short-lived energy of running containers and pods; absent unless `monitor.shortLived` is `cgroup`. */
  readonly shortLived?: ShortLivedTotals | undefined
  readonly terminated: {
    readonly processes: ReadonlyArray<ProcessWorkload>
    readonly containers: ReadonlyArray<ContainerWorkload>
    readonly vms: ReadonlyArray<VmWorkload>
    readonly pods: ReadonlyArray<PodWorkload>
  }
}

export interface AttributionResult {
  readonly state: MonitorState
  readonly snapshot: Snapshot
}

const emptyMap = new Map<string, never>()

export const initialMonitorState = (zoneCount: number): MonitorState => ({
  sequence: 0,
  zones: Array.from({ length: zoneCount }, () => initialZoneState),
  processes: emptyMap,
  containers: emptyMap,
  vms: emptyMap,
  pods: emptyMap,
  containerTicks: emptyMap,
  selfEnergy: Array.from({ length: zoneCount }, () => 0n),
  terminated: { processes: [], containers: [], vms: [], pods: [] }
})

/** Accumulates per-zone interval energies of a group (container, VM, pod). */
interface GroupAccumulator {
  readonly interval: Array<number>
  ticks: number
}

/**
 * Processes (or containers) handled between two pauses of `attributeInSlices`. /healthz waits
 * for a whole slice: at 50k processes on 2 vCPUs, 2,048 processes took 15–50 ms per slice and
 * the containers' step (~10k containers, then unsliced) 53–199 ms.
 */
const SLICE = 512

/**
 * The attribution, in slices: it pauses (yields) after each costly step and every SLICE
 * processes, so a caller on an event loop can let other work in between — at 50k processes the
 * whole computation takes several hundred ms, which /healthz must not wait for. The slices
 * change nothing about the result: `attribute` runs them back to back.
 */
export function* attributeInSlices(
  prev: MonitorState,
  input: AttributionInput,
  config: AttributionConfig
): Generator<void, AttributionResult, undefined> {
  const zoneCount = input.zones.length
  const node = input.resources.node
  const processes = sortedByPid(input.resources.processes)
  yield

  // 1. Node zones: booked delta and active/idle split.
  const steps = input.zones.map((meta, z) => {
    const sample: ZoneSample = input.samples[z] ?? { _tag: "Failed", error: "no sample for this zone" }
    const at = sample._tag === "Read" && sample.atNanos !== undefined ? sample.atNanos : input.nowNanos
    const step = stepZone(prev.zones[z] ?? initialZoneState, meta, sample, at, node, config.maxPlausibleWatts)
    return { meta, ...step }
  })

  // 2. Split each zone's active energy over processes by CPU-tick deltas (then the short-lived
  // containers and the node residual, when cgroups are read).
  const cgroups = input.resources.cgroups
  const unseen: ShortLivedWeights | undefined = cgroups === undefined
    ? undefined
    : shortLivedWeights(processes, cgroups, node.activeTicks)
  const weights = processes.map((p) => p.cpuTicksDelta)
  if (unseen !== undefined) {
    for (const c of unseen.containers) weights.push(c.ticks)
    weights.push(unseen.residualTicks)
  }
  const shares: Array<Array<number>> = []
  for (const step of steps) {
    shares.push(splitLargestRemainder(Number(step.active), weights))
    yield
  }
  const hasWeight = weights.some((w) => w > 0)
  const residualAt = weights.length - 1

  const zoneStates: Array<ZoneState> = []
  const nodeZones: Array<NodeZone> = []
  for (let z = 0; z < steps.length; z++) {
    const step = steps[z]
    if (step === undefined) continue
    const meta = step.meta
    const residual = unseen === undefined ? 0n : BigInt(shares[z]?.[residualAt] ?? 0)
    const unattributed = hasWeight ? residual : step.active
    const s: ZoneState = {
      ...step.state,
      energyTotal: step.state.energyTotal + step.booked,
      activeEnergyTotal: step.state.activeEnergyTotal + step.active,
      idleEnergyTotal: step.state.idleEnergyTotal + (step.booked - step.active),
      unattributedEnergyTotal: step.state.unattributedEnergyTotal + unattributed
    }
    zoneStates.push(s)
    nodeZones.push(
      Object.freeze({
        name: meta.name,
        index: meta.index,
        path: meta.path,
        estimated: meta.estimated,
        energyTotal: s.energyTotal,
        activeEnergyTotal: s.activeEnergyTotal,
        idleEnergyTotal: s.idleEnergyTotal,
        unattributedEnergyTotal: s.unattributedEnergyTotal,
        watts: perSecond(step.booked, step.seconds),
        activeWatts: perSecond(step.active, step.seconds),
        idleWatts: perSecond(step.booked - step.active, step.seconds),
        intervalEnergy: step.booked,
        intervalActiveEnergy: step.active,
        intervalSeconds: step.seconds,
        status: step.status,
        error: step.error,
        wraps: s.wraps,
        glitches: s.glitches,
        readErrors: s.readErrors,
        resets: s.resets
      })
    )
  }
  const seconds = steps.map((s) => s.seconds)

  // 3. Processes: cumulative energy carried by incarnation key.
  const containerGroups = new Map<string, GroupAccumulator>()
  const vmGroups = new Map<string, GroupAccumulator>()
  const runningProcesses: Array<ProcessWorkload> = []
  const processMap = new Map<string, ProcessWorkload>()
  // The hot loop (one pass per process): no per-process arrays beyond the two it keeps.
  const interval = new Array<number>(zoneCount).fill(0)
  const selfPids = new Set(input.selfPids ?? [])
  const selfEnergy = Array.from({ length: zoneCount }, (_, z) => prev.selfEnergy[z] ?? 0n)
  for (let i = 0; i < processes.length; i++) {
    if (i % SLICE === SLICE - 1) yield
    const p = processes[i]
    if (p === undefined) continue
    for (let z = 0; z < zoneCount; z++) interval[z] = shares[z]?.[i] ?? 0
    if (selfPids.has(p.pid)) {
      for (let z = 0; z < zoneCount; z++) selfEnergy[z] = (selfEnergy[z] ?? 0n) + BigInt(interval[z] ?? 0)
    }
    const values = accumulate(prev.processes.get(p.key), interval, seconds, zoneCount)
    const w: ProcessWorkload = Object.freeze({
      key: p.key,
      pid: p.pid,
      comm: p.comm,
      exe: p.exe,
      type: p.type,
      containerId: p.containerId,
      vmId: p.vmId,
      cpuSeconds: p.cpuTicksTotal / USER_HZ,
      energy: values.energy,
      watts: values.watts
    })
    runningProcesses.push(w)
    processMap.set(p.key, w)
    if (p.containerId !== "") addToGroup(containerGroups, p.containerId, interval, p.cpuTicksDelta, zoneCount)
    if (p.vmId !== "") addToGroup(vmGroups, p.vmId, interval, p.cpuTicksDelta, zoneCount)
  }

  // Short-lived shares join their container's group like one more member.
  const shortLivedInterval = new Map<string, ReadonlyArray<number>>()
  if (unseen !== undefined) {
    unseen.containers.forEach((c, j) => {
      const at = processes.length + j
      const share = steps.map((_, z) => shares[z]?.[at] ?? 0)
      shortLivedInterval.set(c.containerId, share)
      addToGroup(containerGroups, c.containerId, share, c.ticks, zoneCount)
    })
  }

  yield

  // 4. Containers = Σ their processes (and short-lived share).
  const podGroups = new Map<string, GroupAccumulator>()
  const containerMap = new Map<string, ContainerWorkload>()
  const containerTicks = new Map<string, number>()
  let built = 0
  for (const [id, group] of sortedEntries(containerGroups)) {
    if (built++ % SLICE === SLICE - 1) yield
    const info: ContainerInfo = input.resources.containers.get(id) ?? { id, name: "", runtime: "unknown", podId: "" }
    const ticks = (prev.containerTicks.get(id) ?? 0) + group.ticks
    containerTicks.set(id, ticks)
    containerMap.set(
      id,
      Object.freeze({
        id,
        name: info.name,
        runtime: info.runtime,
        podId: info.podId,
        cpuSeconds: ticks / USER_HZ,
        ...accumulate(prev.containers.get(id), group.interval, seconds, zoneCount)
      })
    )
    if (info.podId !== "") addToGroup(podGroups, info.podId, group.interval, group.ticks, zoneCount)
  }

  // 5. VMs = Σ their processes; pods = Σ their containers. Their identity comes from the
  // reading (VmInfo, PodInfo already have exactly the workload's identity fields).
  const sumGroups = <I extends { readonly id: string }>(
    groups: ReadonlyMap<string, GroupAccumulator>,
    previous: ReadonlyMap<string, ZoneValues>,
    info: (id: string) => I
  ): Map<string, I & ZoneValues> => {
    const out = new Map<string, I & ZoneValues>()
    for (const [id, group] of sortedEntries(groups)) {
      out.set(id, Object.freeze({ ...info(id), ...accumulate(previous.get(id), group.interval, seconds, zoneCount) }))
    }
    return out
  }
  const vmMap: Map<string, VmWorkload> = sumGroups(
    vmGroups,
    prev.vms,
    (id): VmInfo => input.resources.vms.get(id) ?? { id, name: "", hypervisor: "kvm" }
  )
  const podMap: Map<string, PodWorkload> = sumGroups(
    podGroups,
    prev.pods,
    (id): PodInfo => input.resources.pods.get(id) ?? { id, name: "", namespace: "" }
  )

  yield

  // 6. Terminated: the last running values of whatever left since the previous refresh.
  const tracker: TrackerConfig = {
    maxSize: config.maxTerminated,
    minEnergy: config.minTerminatedEnergy,
    primaryZone: config.primaryZone
  }
  const base = input.clearTerminated ? initialMonitorState(0).terminated : prev.terminated
  const terminatedIds = input.resources.terminated
  const terminated = {
    processes: trackTerminated(
      base.processes,
      gone(prev.processes, terminatedIds.processes, processMap),
      (w) => w.key,
      tracker
    ),
    containers: trackTerminated(
      base.containers,
      gone(prev.containers, terminatedIds.containers, containerMap),
      (w) => w.id,
      tracker
    ),
    vms: trackTerminated(base.vms, gone(prev.vms, terminatedIds.vms, vmMap), (w) => w.id, tracker),
    pods: trackTerminated(base.pods, gone(prev.pods, terminatedIds.pods, podMap), (w) => w.id, tracker)
  }

  const shortLived = cgroups === undefined ? undefined : nextShortLivedTotals(
    prev.shortLived,
    shortLivedInterval,
    cgroups,
    [...containerMap.values()],
    new Set(podMap.keys()),
    {
      containers: terminated.containers.map((c) => c.id),
      pods: terminated.pods.map((p) => p.id)
    },
    zoneCount
  )

  yield

  const sequence = prev.sequence + 1
  const snapshot: Snapshot = new FrozenSnapshot(
    input.timestamp,
    sequence,
    node.usageRatio,
    Object.freeze(nodeZones),
    config.primaryZone,
    new FrozenWorkloads(runningProcesses, terminated.processes),
    new FrozenWorkloads([...containerMap.values()], terminated.containers),
    new FrozenWorkloads([...vmMap.values()], terminated.vms),
    new FrozenWorkloads([...podMap.values()], terminated.pods),
    Object.freeze(selfEnergy),
    input.resources.stats,
    undefined,
    undefined,
    shortLived
  )
  return {
    snapshot,
    state: new MonitorStateRecord(
      sequence,
      zoneStates,
      processMap,
      containerMap,
      vmMap,
      podMap,
      containerTicks,
      snapshot.selfEnergy,
      terminated,
      shortLived
    )
  }
}

/** The attribution in one go: the pure function replay, the benchmarks and the tests call. */
export const attribute = (
  prev: MonitorState,
  input: AttributionInput,
  config: AttributionConfig
): AttributionResult => runToEnd(attributeInSlices(prev, input, config))

/**
 * The monitor state and snapshots are class instances, not object literals: V8 kept a whole
 * earlier state (and every workload its maps referenced) alive as the "boilerplate" of the
 * literal's allocation site — found with heap-snapshot retainer paths (scripts/bench/churn.ts).
 */
class FrozenWorkloads<W> implements Workloads<W> {
  readonly running: ReadonlyArray<W>
  readonly terminated: ReadonlyArray<W>
  constructor(running: ReadonlyArray<W>, terminated: ReadonlyArray<W>) {
    this.running = Object.freeze(running)
    this.terminated = terminated
    Object.freeze(this)
  }
}

class MonitorStateRecord implements MonitorState {
  constructor(
    readonly sequence: number,
    readonly zones: ReadonlyArray<ZoneState>,
    readonly processes: ReadonlyMap<string, ProcessWorkload>,
    readonly containers: ReadonlyMap<string, ContainerWorkload>,
    readonly vms: ReadonlyMap<string, VmWorkload>,
    readonly pods: ReadonlyMap<string, PodWorkload>,
    readonly containerTicks: ReadonlyMap<string, number>,
    readonly selfEnergy: ReadonlyArray<bigint>,
    readonly terminated: MonitorState["terminated"],
    readonly shortLived: ShortLivedTotals | undefined
  ) {}
}

class FrozenSnapshot implements Snapshot {
  constructor(
    readonly timestamp: number,
    readonly sequence: number,
    readonly usageRatio: number,
    readonly zones: ReadonlyArray<NodeZone>,
    readonly primaryZone: number,
    readonly processes: Workloads<ProcessWorkload>,
    readonly containers: Workloads<ContainerWorkload>,
    readonly vms: Workloads<VmWorkload>,
    readonly pods: Workloads<PodWorkload>,
    readonly selfEnergy: ReadonlyArray<bigint>,
    readonly scan: Snapshot["scan"],
    readonly gpu?: GpuSnapshot,
    readonly idle?: IdleAllocation,
    readonly shortLived?: ShortLivedTotals
  ) {
    Object.freeze(this)
  }
}

/** The snapshot with the parts computed after the CPU attribution: GPUs, idle allocation. */
export const withParts = (
  s: Snapshot,
  parts: { readonly gpu?: GpuSnapshot | undefined; readonly idle?: IdleAllocation | undefined }
): Snapshot =>
  new FrozenSnapshot(
    s.timestamp,
    s.sequence,
    s.usageRatio,
    s.zones,
    s.primaryZone,
    s.processes,
    s.containers,
    s.vms,
    s.pods,
    s.selfEnergy,
    s.scan,
    parts.gpu ?? s.gpu,
    parts.idle ?? s.idle,
    s.shortLived
  )

const perSecond = (microjoules: bigint, seconds: number): number =>
  seconds > 0 ? Number(microjoules) / 1e6 / seconds : 0

const accumulate = (
  previous: ZoneValues | undefined,
  interval: ReadonlyArray<number>,
  seconds: ReadonlyArray<number>,
  zoneCount: number
): ZoneValues => {
  const energy: Array<bigint> = new Array<bigint>(zoneCount)
  const watts: Array<number> = new Array<number>(zoneCount)
  for (let z = 0; z < zoneCount; z++) {
    const share = interval[z] ?? 0
    const before = previous?.energy[z] ?? 0n
    const s = seconds[z] ?? 0
    // Totals stay exact (bigint); a share is far below 2^53 µJ, so watts need no bigint.
    energy[z] = share === 0 ? before : before + BigInt(share)
    watts[z] = share === 0 || s <= 0 ? 0 : share / 1e6 / s
  }
  return { energy: Object.freeze(energy), watts: Object.freeze(watts) }
}

const addToGroup = (
  groups: Map<string, GroupAccumulator>,
  id: string,
  interval: ReadonlyArray<number>,
  ticks: number,
  zoneCount: number
): void => {
  let group = groups.get(id)
  if (group === undefined) {
    group = { interval: new Array<number>(zoneCount).fill(0), ticks: 0 }
    groups.set(id, group)
  }
  for (let z = 0; z < zoneCount; z++) group.interval[z] = (group.interval[z] ?? 0) + (interval[z] ?? 0)
  group.ticks += ticks
}

/** Entries of the previous running map that the informer reported as terminated and are not running again. */
const gone = <W>(
  previous: ReadonlyMap<string, W>,
  ids: ReadonlyArray<string>,
  running: ReadonlyMap<string, W>
): Array<W> => {
  const out: Array<W> = []
  for (const id of ids) {
    const w = previous.get(id)
    if (w !== undefined && !running.has(id)) out.push(w)
  }
  return out
}

const sortedEntries = <V>(m: ReadonlyMap<string, V>): Array<readonly [string, V]> =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

const byPid = (x: ProcessInfo, y: ProcessInfo): number => x.pid - y.pid || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)

/** The informer already sorts by pid; only sort when given another order (tests, other informers). */
const sortedByPid = (ps: ReadonlyArray<ProcessInfo>): ReadonlyArray<ProcessInfo> => {
  let previous: ProcessInfo | undefined
  for (const p of ps) {
    if (previous !== undefined && byPid(previous, p) > 0) return [...ps].sort(byPid)
    previous = p
  }
  return ps
}
