/**
 * GPU energy attribution (issue 12; kepler-behaviour.md §3.10, §5.4): one deterministic pure
 * function from (previous GPU state, this interval's device samples, the CPU snapshot that says
 * which processes, containers and pods exist) to (next state, GPU snapshot).
 *
 * Per device, exactly in µJ:
 * - booked = the hardware counter's delta (mJ × 1000) when the device has one, else power ×
 *   measured time with the sub-µJ remainder carried, so Σ booked never drifts;
 * - idle = ⌊idle W × Δt⌋ capped at booked, where idle W is `experimental.gpu.idlePower` when set,
 *   else the minimum power seen while no compute process ran (Kepler), else 0; active = booked −
 *   idle;
 * - active splits over the sample's share groups (MIG instances, or the whole device) by their
 *   weights, then over each group's processes by theirs, with the same largest-remainder method
 *   as the CPU, so Σ processes + unattributed = active. A process joulemon cannot see in /proc
 *   (another PID namespace) or a group with no weight books its part as unattributed;
 * - containers = Σ their processes' interval energy, pods = Σ their containers', never computed
 *   independently, so every level adds up to the µJ.
 *
 * Node counters are monotonic from 0 like the CPU zones: a counter that goes backwards (driver
 * reload) or implies implausible power re-baselines and books nothing for that interval; a failed
 * read books nothing, and the next good read of a counter covers the whole gap.
 */
import type { GpuDeviceInfo, GpuSample } from "../device/gpu/GpuPowerMeter.js"
import { splitLargestRemainder } from "./largestRemainder.js"
import type { ContainerWorkload, ProcessWorkload, Workloads } from "./snapshot.js"

export type GpuDeviceStatus = "ok" | "baseline" | "read-error" | "lost" | "reset" | "glitch"

export interface GpuDeviceState {
  /** The last good reading the next interval is measured from. */
  readonly baseline?: { readonly atNanos: bigint; readonly energyMillijoules?: bigint | undefined }
  /** mW·ns not yet booked as a whole µJ (power-integrated devices only); always < 1e6. */
  readonly powerRemainder: bigint
  /** Minimum power seen while no compute process ran, mW. */
  readonly minIdleMilliwatts?: number | undefined
  readonly energyTotal: bigint
  readonly activeEnergyTotal: bigint
  readonly idleEnergyTotal: bigint
  readonly unattributedEnergyTotal: bigint
  readonly readErrors: number
  readonly losses: number
  readonly resets: number
  readonly glitches: number
}

/** A workload's GPU energy (cumulative µJ) and this interval's power (W). */
export interface GpuUsage {
  readonly energy: bigint
  readonly watts: number
}

export interface GpuState {
  /** Aligned with the meter's devices. */
  readonly devices: ReadonlyArray<GpuDeviceState>
  /** By process incarnation key, container id and pod id: running and retained terminated ones. */
  readonly processes: ReadonlyMap<string, GpuUsage>
  readonly containers: ReadonlyMap<string, GpuUsage>
  readonly pods: ReadonlyMap<string, GpuUsage>
}

/** The device's identity (its `energyCounter` says measured or power-integrated), then its numbers. */
export interface GpuDeviceStats extends GpuDeviceInfo {
  /** Instantaneous power of the last good reading and its idle/active split (Kepler's gauges). */
  readonly watts: number
  readonly idleWatts: number
  readonly activeWatts: number
  readonly energyTotal: bigint
  readonly activeEnergyTotal: bigint
  readonly idleEnergyTotal: bigint
  readonly unattributedEnergyTotal: bigint
  readonly intervalEnergy: bigint
  readonly intervalActiveEnergy: bigint
  readonly intervalSeconds: number
  readonly status: GpuDeviceStatus
  readonly error: string
  readonly readErrors: number
  readonly losses: number
  readonly resets: number
  readonly glitches: number
}

export interface GpuSnapshot {
  readonly devices: ReadonlyArray<GpuDeviceStats>
  readonly processes: ReadonlyMap<string, GpuUsage>
  readonly containers: ReadonlyMap<string, GpuUsage>
  readonly pods: ReadonlyMap<string, GpuUsage>
}

export interface GpuAttributionConfig {
  /** `experimental.gpu.idlePower`, W; 0 = auto-detect. */
  readonly idlePowerWatts: number
  /** A delta implying more than this per device is a glitch, W. */
  readonly maxPlausibleWatts: number
}

/** The parts of the CPU snapshot the GPU attribution needs. */
export interface GpuAttributionWorkloads {
  readonly processes: Workloads<ProcessWorkload>
  readonly containers: Workloads<ContainerWorkload>
  readonly pods: Workloads<{ readonly id: string }>
}

export interface GpuAttributionResult {
  readonly state: GpuState
  readonly snapshot: GpuSnapshot
}

const emptyUsage = new Map<string, GpuUsage>()

export const initialGpuDeviceState: GpuDeviceState = {
  powerRemainder: 0n,
  energyTotal: 0n,
  activeEnergyTotal: 0n,
  idleEnergyTotal: 0n,
  unattributedEnergyTotal: 0n,
  readErrors: 0,
  losses: 0,
  resets: 0,
  glitches: 0
}

export const initialGpuState: GpuState = {
  devices: [],
  processes: emptyUsage,
  containers: emptyUsage,
  pods: emptyUsage
}

export const emptyGpuSnapshot: GpuSnapshot = {
  devices: [],
  processes: emptyUsage,
  containers: emptyUsage,
  pods: emptyUsage
}

const NANOS_PER_SECOND = 1_000_000_000
/** mW × ns per µJ. */
const MW_NS_PER_UJ = 1_000_000n

interface DeviceStep {
  readonly state: GpuDeviceState
  readonly booked: bigint
  readonly idle: bigint
  readonly seconds: number
  readonly status: GpuDeviceStatus
  readonly error: string
  readonly watts: number
  readonly idleWatts: number
}

const stepDevice = (
  prev: GpuDeviceState,
  sample: GpuSample,
  config: GpuAttributionConfig
): DeviceStep => {
  if (sample._tag === "Failed") {
    return {
      state: {
        ...prev,
        readErrors: prev.readErrors + 1,
        losses: prev.losses + (sample.lost ? 1 : 0)
      },
      booked: 0n,
      idle: 0n,
      seconds: 0,
      status: sample.lost ? "lost" : "read-error",
      error: sample.error,
      watts: 0,
      idleWatts: 0
    }
  }
  // Kepler: the idle baseline learns from every reading taken while no compute process ran.
  const minIdle = sample.computeProcesses === 0
    ? Math.min(prev.minIdleMilliwatts ?? sample.powerMilliwatts, sample.powerMilliwatts)
    : prev.minIdleMilliwatts
  const idleMilliwatts = config.idlePowerWatts > 0 ? config.idlePowerWatts * 1000 : (minIdle ?? 0)
  const watts = sample.powerMilliwatts / 1000
  const idleWatts = Math.min(idleMilliwatts / 1000, watts)
  const baseline = { atNanos: sample.atNanos, energyMillijoules: sample.energyMillijoules }
  const next = { ...prev, baseline, minIdleMilliwatts: minIdle }
  const quiet = (status: GpuDeviceStatus, extra: Partial<GpuDeviceState> = {}): DeviceStep => ({
    state: { ...next, ...extra },
    booked: 0n,
    idle: 0n,
    seconds: 0,
    status,
    error: "",
    watts,
    idleWatts
  })

  const before = prev.baseline
  if (before === undefined) return quiet("baseline", { powerRemainder: 0n })
  const elapsed = sample.atNanos - before.atNanos
  if (elapsed <= 0n) return { ...quiet("ok"), state: { ...prev, minIdleMilliwatts: minIdle } }

  let booked: bigint
  let remainder = 0n
  if (sample.energyMillijoules !== undefined && before.energyMillijoules !== undefined) {
    const delta = sample.energyMillijoules - before.energyMillijoules
    if (delta < 0n) return quiet("reset", { resets: prev.resets + 1 })
    booked = delta * 1000n
  } else if (sample.energyMillijoules !== undefined) {
    // The counter appeared (a device found again with its counter back): measure from here.
    return quiet("baseline", { powerRemainder: 0n })
  } else {
    const integrated = BigInt(Math.round(sample.powerMilliwatts)) * elapsed + prev.powerRemainder
    booked = integrated / MW_NS_PER_UJ
    remainder = integrated % MW_NS_PER_UJ
  }
  const seconds = Number(elapsed) / NANOS_PER_SECOND
  if (Number(booked) / 1e6 / seconds > config.maxPlausibleWatts) {
    return quiet("glitch", { glitches: prev.glitches + 1, powerRemainder: 0n })
  }
  const idleCap = (BigInt(Math.round(idleMilliwatts)) * elapsed) / MW_NS_PER_UJ
  const idle = idleCap < booked ? idleCap : booked
  return {
    state: {
      ...next,
      powerRemainder: remainder,
      energyTotal: prev.energyTotal + booked,
      activeEnergyTotal: prev.activeEnergyTotal + (booked - idle),
      idleEnergyTotal: prev.idleEnergyTotal + idle
    },
    booked,
    idle,
    seconds,
    status: "ok",
    error: "",
    watts,
    idleWatts
  }
}

/** Per pid: this interval's µJ and W from every device it used. */
interface PidShare {
  energy: number
  watts: number
}

/**
 * Splits one device's active energy over its groups and their processes; returns the part no
 * visible process took.
 */
const splitDevice = (
  active: bigint,
  seconds: number,
  sample: Extract<GpuSample, { _tag: "Read" }>,
  visible: ReadonlyMap<number, string>,
  shares: Map<number, PidShare>
): bigint => {
  if (active <= 0n) return 0n
  const groups = [...sample.groups].sort((a, b) => a.gpuInstance - b.gpuInstance)
  const groupParts = splitLargestRemainder(
    Number(active),
    groups.map((g) => Math.max(0, g.weight))
  )
  let taken = 0
  groups.forEach((group, g) => {
    const part = groupParts[g] ?? 0
    if (part === 0) return
    const processes = [...group.processes].sort((a, b) => a.pid - b.pid)
    const parts = splitLargestRemainder(
      part,
      processes.map((p) => Math.max(0, p.weight))
    )
    processes.forEach((p, i) => {
      const share = parts[i] ?? 0
      if (share === 0 || !visible.has(p.pid)) return
      taken += share
      const s = shares.get(p.pid) ?? { energy: 0, watts: 0 }
      s.energy += share
      s.watts += seconds > 0 ? share / 1e6 / seconds : 0
      shares.set(p.pid, s)
    })
  })
  return active - BigInt(taken)
}

const addUsage = (
  previous: GpuUsage | undefined,
  energy: number,
  watts: number
): GpuUsage => ({ energy: (previous?.energy ?? 0n) + BigInt(energy), watts })

/**
 * One level's GPU usage: running members add this interval's share to their total (watts 0
 * without one), terminated members keep their frozen last values like the CPU side, and each
 * share is summed into the member's parent (`""` = none) for the next level up.
 */
const carryLevel = <W>(
  members: Workloads<W>,
  previous: ReadonlyMap<string, GpuUsage>,
  key: (w: W) => string,
  shareOf: (w: W) => PidShare | undefined,
  parentOf: (w: W) => string
): { readonly usage: Map<string, GpuUsage>; readonly parents: Map<string, PidShare> } => {
  const usage = new Map<string, GpuUsage>()
  const parents = new Map<string, PidShare>()
  for (const w of members.running) {
    const k = key(w)
    const share = shareOf(w)
    const before = previous.get(k)
    if (share === undefined) {
      if (before !== undefined) usage.set(k, before.watts === 0 ? before : { ...before, watts: 0 })
      continue
    }
    usage.set(k, addUsage(before, share.energy, share.watts))
    const parent = parentOf(w)
    if (parent !== "") {
      const sum = parents.get(parent) ?? { energy: 0, watts: 0 }
      sum.energy += share.energy
      sum.watts += share.watts
      parents.set(parent, sum)
    }
  }
  for (const w of members.terminated) {
    const k = key(w)
    const before = previous.get(k)
    if (before !== undefined && !usage.has(k)) usage.set(k, before)
  }
  return { usage, parents }
}

export const attributeGpu = (
  prev: GpuState,
  devices: ReadonlyArray<GpuDeviceInfo>,
  samples: ReadonlyArray<GpuSample>,
  workloads: GpuAttributionWorkloads,
  config: GpuAttributionConfig
): GpuAttributionResult => {
  if (devices.length === 0) return { state: prev, snapshot: emptyGpuSnapshot }

  const visible = new Map<number, string>()
  for (const p of workloads.processes.running) visible.set(p.pid, p.key)
  const shares = new Map<number, PidShare>()

  const deviceStates: Array<GpuDeviceState> = []
  const stats: Array<GpuDeviceStats> = []
  devices.forEach((device, d) => {
    const before = prev.devices[d] ?? initialGpuDeviceState
    const sample: GpuSample = samples[d] ?? { _tag: "Failed", error: "no sample for this device", lost: false }
    const step = stepDevice(before, sample, config)
    const active = step.booked - step.idle
    const unattributed = sample._tag === "Read" ? splitDevice(active, step.seconds, sample, visible, shares) : 0n
    const state: GpuDeviceState = {
      ...step.state,
      unattributedEnergyTotal: step.state.unattributedEnergyTotal + unattributed
    }
    deviceStates.push(state)
    stats.push(
      Object.freeze({
        ...device,
        watts: step.watts,
        idleWatts: step.idleWatts,
        activeWatts: Math.max(0, step.watts - step.idleWatts),
        energyTotal: state.energyTotal,
        activeEnergyTotal: state.activeEnergyTotal,
        idleEnergyTotal: state.idleEnergyTotal,
        unattributedEnergyTotal: state.unattributedEnergyTotal,
        intervalEnergy: step.booked,
        intervalActiveEnergy: active,
        intervalSeconds: step.seconds,
        status: step.status,
        error: step.error,
        readErrors: state.readErrors,
        losses: state.losses,
        resets: state.resets,
        glitches: state.glitches
      })
    )
  })

  // Each level adds its interval shares to its members' totals and sums them into its parent
  // level's shares: processes → containers → pods.
  const processLevel = carryLevel(
    workloads.processes,
    prev.processes,
    (p) => p.key,
    (p) => shares.get(p.pid),
    (p) => p.containerId
  )
  const containerLevel = carryLevel(
    workloads.containers,
    prev.containers,
    (c) => c.id,
    (c) => processLevel.parents.get(c.id),
    (c) => c.podId
  )
  const podLevel = carryLevel(workloads.pods, prev.pods, (p) => p.id, (p) => containerLevel.parents.get(p.id), () => "")
  const processes = processLevel.usage
  const containers = containerLevel.usage
  const pods = podLevel.usage

  const state: GpuState = { devices: deviceStates, processes, containers, pods }
  return {
    state,
    snapshot: Object.freeze({ devices: Object.freeze(stats), processes, containers, pods })
  }
}
