/**
 * From the per-process scan outcomes (in pid order) and the previous refresh's state to the
 * `ResourceReading` and the next state. Pure: the same inputs give the same reading, whatever
 * the parallelism or the directory listing order that produced the outcomes.
 */
import { type CgroupRef, type CgroupUsage, ticksBetween } from "./cgroupUsage.js"
import type { Classification } from "./classify.js"
import type { ScanOutcome, TrackedProcess } from "./procfsScan.js"
import type { ProcFile } from "./procReader.js"
import type { CpuTimes } from "./procStat.js"
import { cpuDelta } from "./procStat.js"
import type { ContainerCgroup, ContainerInfo, NodeCpuReading, ProcessInfo, ResourceReading, VmInfo } from "./types.js"

export interface InformerState {
  /** Running processes of the last refresh, by pid. */
  readonly processes: ReadonlyMap<number, TrackedProcess>
  /** The last /proc/stat sample; undefined before the first refresh. */
  readonly cpu: CpuTimes | undefined
  /**
   * Containers and VMs of the last refresh. Their info is fixed when first seen (as Kepler's
   * cache does), so a container's name does not change when its lowest pid exits.
   */
  readonly containers: ReadonlyMap<string, ContainerInfo>
  readonly vms: ReadonlyMap<string, VmInfo>
  /**
   * Unreadable files already logged, by process key (`${pid}:?` for a pid whose stat was
   * unreadable), so each (process, file) is logged once; dropped when the process goes.
   */
  readonly logged: ReadonlyMap<string, ReadonlySet<ProcFile>>
  /**
   * Running containers' cgroups and their last usage sample (`monitor.shortLived: cgroup`);
   * a container whose usage could not be read has none, so its next sample is a baseline.
   */
  readonly cgroups: ReadonlyMap<string, ContainerCgroup>
}

export const initialInformerState: InformerState = {
  processes: new Map(),
  cpu: undefined,
  containers: new Map(),
  vms: new Map(),
  logged: new Map(),
  cgroups: new Map()
}

/** What the scan read of running containers' cgroups: where each is, and its usage now. */
export interface CgroupSample {
  readonly refs: ReadonlyMap<string, CgroupRef>
  readonly usage: ReadonlyMap<string, CgroupUsage>
}

/**
 * The cgroup each running container's usage is read from: the one already known, else the
 * first member (in pid order) whose cgroup file names one that `resolve` places in the host's
 * tree (cgroupNamespace.ts). The scan reads the usage files of exactly these before assembling.
 */
export const containerCgroupRefs = (
  prev: InformerState,
  outcomes: ReadonlyArray<ScanOutcome>,
  resolve: (asSeen: CgroupRef) => CgroupRef | undefined
): Map<string, CgroupRef> => {
  const refs = new Map<string, CgroupRef>()
  for (const outcome of outcomes) {
    if (outcome === undefined || outcome._tag !== "Running") continue
    const id = outcome.process.info.containerId
    if (id === "" || refs.has(id)) continue
    const asSeen = outcome.process.cgroup
    const ref = prev.cgroups.get(id) ?? (asSeen === undefined ? undefined : resolve(asSeen))
    if (ref !== undefined) refs.set(id, ref)
  }
  return refs
}

/**
 * Each running container's cgroup usage against its previous sample. A container new this
 * scan books its cgroup's whole usage, as a process seen for the first time books its whole
 * lifetime; a known container without a previous sample (unreadable last time) is a baseline.
 */
const cgroupReadings = (
  prev: InformerState,
  containers: ReadonlyMap<string, ContainerInfo>,
  sample: CgroupSample
): Map<string, ContainerCgroup> => {
  const out = new Map<string, ContainerCgroup>()
  for (const id of [...containers.keys()].sort()) {
    const ref = sample.refs.get(id)
    const usage = sample.usage.get(id)
    if (ref === undefined || usage === undefined || !("usec" in usage)) continue
    const before = prev.cgroups.get(id)
    const sameCgroup = before !== undefined && before.path === ref.path && before.usageUsec <= usage.usec
    const ticks = sameCgroup
      ? ticksBetween(before.usageUsec, usage.usec)
      : prev.containers.has(id)
      ? null
      : ticksBetween(0, usage.usec)
    out.set(id, { version: ref.version, hierarchy: ref.hierarchy, path: ref.path, usageUsec: usage.usec, ticks })
  }
  return out
}

/** An unreadable file to log now: the first time it is seen for this process. */
export interface UnreadableEvent {
  readonly pid: number
  readonly key: string
  readonly file: ProcFile
  readonly reason: string
}

export interface Assembled {
  readonly reading: ResourceReading
  readonly next: InformerState
  readonly toLog: ReadonlyArray<UnreadableEvent>
}

const nodeReading = (prev: CpuTimes | undefined, cur: CpuTimes): NodeCpuReading => {
  if (prev === undefined) return { first: true, activeTicks: 0, totalTicks: 0, usageRatio: 0, cpuCount: cur.cpuCount }
  return { first: false, ...cpuDelta(prev, cur), cpuCount: cur.cpuCount }
}

const containerOf = (c: Classification): ContainerInfo | undefined =>
  c.type === "container"
    ? { id: c.container.id, name: c.container.name, runtime: c.container.runtime, podId: "" }
    : undefined

const vmOf = (c: Classification): VmInfo | undefined =>
  c.type === "vm" ? { id: c.vm.id, name: c.vm.name, hypervisor: c.vm.hypervisor } : undefined

const gone = <K>(before: Iterable<K>, now: { has: (k: K) => boolean }): Array<K> => {
  const out: Array<K> = []
  for (const k of before) if (!now.has(k)) out.push(k)
  return out
}

/** `outcomes`: one per pid directory visited, in ascending pid order (the scan sorts its listing). */
export const assembleReading = (
  prev: InformerState,
  cpu: CpuTimes,
  outcomes: ReadonlyArray<ScanOutcome>,
  /** Absent unless `monitor.shortLived` is `cgroup`. */
  cgroupSample?: CgroupSample
): Assembled => {
  const processes: Array<ProcessInfo> = []
  const tracked = new Map<number, TrackedProcess>()
  const containers = new Map<string, ContainerInfo>()
  const vms = new Map<string, VmInfo>()
  const logged = new Map<string, ReadonlySet<ProcFile>>()
  const toLog: Array<UnreadableEvent> = []
  let vanished = 0
  let unreadableFiles = 0

  const note = (pid: number, key: string, file: ProcFile, reason: string): void => {
    unreadableFiles++
    const before = logged.get(key) ?? prev.logged.get(key)
    if (before?.has(file) === true) {
      logged.set(key, before)
      return
    }
    logged.set(key, new Set(before).add(file))
    toLog.push({ pid, key, file, reason })
  }

  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i]
    if (outcome === undefined) continue
    switch (outcome._tag) {
      case "Vanished":
        vanished++
        break
      case "Unidentified":
        note(outcome.pid, `${outcome.pid}:?`, outcome.unreadable.file, outcome.unreadable.reason)
        break
      case "Running": {
        const { info, classification } = outcome.process
        processes.push(info)
        tracked.set(info.pid, outcome.process)
        if (outcome.unreadable.length > 0) {
          for (const u of outcome.unreadable) note(info.pid, info.key, u.file, u.reason)
        }
        if (info.containerId !== "" && !containers.has(info.containerId)) {
          const container = prev.containers.get(info.containerId) ?? containerOf(classification)
          if (container !== undefined) containers.set(container.id, container)
        }
        if (info.vmId !== "" && !vms.has(info.vmId)) {
          const vm = prev.vms.get(info.vmId) ?? vmOf(classification)
          if (vm !== undefined) vms.set(vm.id, vm)
        }
        break
      }
    }
  }

  // A process whose files were all readable this time keeps its marks while it runs. (An
  // unidentified pid was re-noted above if it is still unidentified; otherwise it is gone or
  // now has a key of its own.)
  for (const [key, files] of prev.logged) {
    if (!logged.has(key) && tracked.get(Number.parseInt(key, 10))?.info.key === key) logged.set(key, files)
  }

  // prev.processes was built in pid order, so this list is sorted by pid.
  const terminatedProcesses: Array<string> = []
  for (const p of prev.processes.values()) {
    if (tracked.get(p.info.pid)?.info.key !== p.info.key) terminatedProcesses.push(p.info.key)
  }

  const cgroups = cgroupSample === undefined ? undefined : cgroupReadings(prev, containers, cgroupSample)
  const reading: ResourceReading = {
    node: nodeReading(prev.cpu, cpu),
    processes,
    containers,
    vms,
    pods: new Map(),
    terminated: {
      processes: terminatedProcesses,
      containers: gone(prev.containers.keys(), containers).sort(),
      vms: gone(prev.vms.keys(), vms).sort(),
      pods: []
    },
    stats: { processesScanned: outcomes.length, processesVanished: vanished, unreadableFiles },
    ...(cgroups === undefined ? {} : { cgroups })
  }
  return {
    reading,
    next: { processes: tracked, cpu, containers, vms, logged, cgroups: cgroups ?? prev.cgroups },
    toLog
  }
}
