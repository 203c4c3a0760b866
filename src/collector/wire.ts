/**
 * Pure conversions between the in-memory reading (resource/types.ts) and its wire form
 * (protocol.ts). `readingFromWire` of `readingToWire(r)`'s parts gives `r` field for field: the
 * worker path and the in-process path feed the attribution the same data.
 */
import type { InformerState } from "../resource/assembleReading.js"
import type { Classification } from "../resource/classify.js"
import type { TrackedProcess } from "../resource/procfsScan.js"
import type { CpuTimes } from "../resource/procStat.js"
import type { ContainerCgroup, ContainerInfo, ProcessInfo, ResourceReading, VmInfo } from "../resource/types.js"
import {
  type CollectorSeed,
  type CollectPart,
  type CollectSummary,
  CONTAINER_RUNTIMES,
  type ContainerCgroupWire,
  type ContainerColumns,
  PROCESS_TYPES,
  type ProcessColumns
} from "./protocol.js"

export const processesToColumns = (processes: ReadonlyArray<ProcessInfo>): ProcessColumns => {
  const n = processes.length
  const pid = new Int32Array(n)
  const startTime = new Float64Array(n)
  const cpuTicksTotal = new Float64Array(n)
  const cpuTicksDelta = new Float64Array(n)
  const type = new Uint8Array(n)
  const firstSeen = new Uint8Array(n)
  const comm = new Array<string>(n)
  const exe = new Array<string>(n)
  const containerId = new Array<string>(n)
  const vmId = new Array<string>(n)
  for (let i = 0; i < n; i++) {
    const p = processes[i]
    if (p === undefined) continue
    pid[i] = p.pid
    startTime[i] = p.startTime
    cpuTicksTotal[i] = p.cpuTicksTotal
    cpuTicksDelta[i] = p.cpuTicksDelta
    type[i] = PROCESS_TYPES.indexOf(p.type)
    firstSeen[i] = p.firstSeen ? 1 : 0
    comm[i] = p.comm
    exe[i] = p.exe
    containerId[i] = p.containerId
    vmId[i] = p.vmId
  }
  return { pid, startTime, cpuTicksTotal, cpuTicksDelta, type, firstSeen, comm, exe, containerId, vmId }
}

/**
 * Processes `from` up to `to` (exclusive) as their own columns. Copies (`slice`), not views
 * (`subarray`): structured clone sends a view's whole underlying buffer.
 */
const columnsRange = (c: ProcessColumns, from: number, to: number): ProcessColumns => ({
  pid: c.pid.slice(from, to),
  startTime: c.startTime.slice(from, to),
  cpuTicksTotal: c.cpuTicksTotal.slice(from, to),
  cpuTicksDelta: c.cpuTicksDelta.slice(from, to),
  type: c.type.slice(from, to),
  firstSeen: c.firstSeen.slice(from, to),
  comm: c.comm.slice(from, to),
  exe: c.exe.slice(from, to),
  containerId: c.containerId.slice(from, to),
  vmId: c.vmId.slice(from, to)
})

/** Field order as procfsScan.ts builds ProcessInfo, so every record shares one hidden class. */
const appendProcesses = (c: ProcessColumns, out: Array<ProcessInfo>): void => {
  for (let i = 0; i < c.pid.length; i++) {
    const pid = c.pid[i] ?? 0
    const startTime = c.startTime[i] ?? 0
    out.push({
      key: `${pid}:${startTime}`,
      pid,
      startTime,
      comm: c.comm[i] ?? "",
      exe: c.exe[i] ?? "",
      type: PROCESS_TYPES[c.type[i] ?? 0] ?? "regular",
      containerId: c.containerId[i] ?? "",
      vmId: c.vmId[i] ?? "",
      cpuTicksTotal: c.cpuTicksTotal[i] ?? 0,
      cpuTicksDelta: c.cpuTicksDelta[i] ?? 0,
      firstSeen: c.firstSeen[i] === 1
    })
  }
}

export const processesFromColumns = (c: ProcessColumns): Array<ProcessInfo> => {
  const out: Array<ProcessInfo> = []
  appendProcesses(c, out)
  return out
}

export const containersToColumns = (containers: Iterable<ContainerInfo>): ContainerColumns => {
  const list = [...containers]
  return {
    id: list.map((c) => c.id),
    name: list.map((c) => c.name),
    runtime: Uint8Array.from(list, (c) => CONTAINER_RUNTIMES.indexOf(c.runtime)),
    podId: list.map((c) => c.podId)
  }
}

export const containersFromColumns = (c: ContainerColumns): Array<ContainerInfo> =>
  c.id.map((id, i) => ({
    id,
    name: c.name[i] ?? "",
    runtime: CONTAINER_RUNTIMES[c.runtime[i] ?? 0] ?? "unknown",
    podId: c.podId[i] ?? ""
  }))

/** The wire form of a reading's parts (everything but pods, which the monitor adds). */
export interface ReadingWire {
  readonly node: ResourceReading["node"]
  readonly processes: ProcessColumns
  readonly containers: ContainerColumns
  readonly vms: ReadonlyArray<VmInfo>
  readonly terminated: {
    readonly processes: ReadonlyArray<string>
    readonly containers: ReadonlyArray<string>
    readonly vms: ReadonlyArray<string>
  }
  readonly stats: ResourceReading["stats"]
  readonly cgroups: ReadonlyArray<ContainerCgroupWire> | null
}

const cgroupsToWire = (cgroups: ReadonlyMap<string, ContainerCgroup>): Array<ContainerCgroupWire> =>
  [...cgroups].map(([id, c]) => ({ id, ...c }))

const cgroupsFromWire = (cgroups: ReadonlyArray<ContainerCgroupWire>): Map<string, ContainerCgroup> =>
  new Map(
    cgroups.map((
      { hierarchy, id, path, ticks, usageUsec, version }
    ) => [id, { version, hierarchy, path, usageUsec, ticks }])
  )

export const readingToWire = (r: ResourceReading): ReadingWire => ({
  node: r.node,
  processes: processesToColumns(r.processes),
  containers: containersToColumns(r.containers.values()),
  vms: [...r.vms.values()],
  terminated: { processes: r.terminated.processes, containers: r.terminated.containers, vms: r.terminated.vms },
  stats: r.stats,
  cgroups: r.cgroups === undefined ? null : cgroupsToWire(r.cgroups)
})

/** The reading a wire form stands for, its processes already rebuilt. */
export const readingFromWire = (
  w: Omit<ReadingWire, "processes">,
  processes: Array<ProcessInfo>
): ResourceReading => ({
  node: w.node,
  processes,
  containers: new Map(containersFromColumns(w.containers).map((c) => [c.id, c])),
  vms: new Map(w.vms.map((v) => [v.id, v])),
  pods: new Map(),
  terminated: {
    processes: w.terminated.processes,
    containers: w.terminated.containers,
    vms: w.terminated.vms,
    pods: []
  },
  stats: w.stats,
  ...(w.cgroups === null ? {} : { cgroups: cgroupsFromWire(w.cgroups) })
})

/** One collection as the worker sends it: the summary, then the processes in parts of `size`. */
export const collectionParts = (
  summary: Omit<CollectSummary, "_tag" | "processCount">,
  processes: ProcessColumns,
  size: number
): Array<CollectPart> => {
  const parts: Array<CollectPart> = [{ _tag: "Summary", ...summary, processCount: processes.pid.length }]
  for (let from = 0; from < processes.pid.length; from += size) {
    parts.push({ _tag: "Processes", processes: columnsRange(processes, from, from + size) })
  }
  return parts
}

/** A collection whose parts arrived in order and complete, its processes rebuilt. */
export interface Collection {
  readonly summary: CollectSummary
  readonly processes: Array<ProcessInfo>
}

export interface CollectionAssembler {
  /** Takes the next part as it arrives: each part's processes are rebuilt at once, so no step is large. */
  readonly add: (part: CollectPart) => void
  /** The collection, or why the parts are not one: no summary first, a second one, processes missing. */
  readonly result: () => Collection | string
}

export const collectionAssembler = (): CollectionAssembler => {
  let summary: CollectSummary | undefined
  let error: string | undefined
  const processes: Array<ProcessInfo> = []
  return {
    add: (part) => {
      if (error !== undefined) return
      if (part._tag === "Summary") {
        if (summary === undefined && processes.length === 0) summary = part
        else error = "the worker's reading carried a second summary"
      } else if (summary === undefined) {
        error = "the worker's reading did not start with its summary"
      } else {
        appendProcesses(part.processes, processes)
      }
    },
    result: () => {
      if (error !== undefined) return error
      if (summary === undefined) return "the worker's reading did not start with its summary"
      return processes.length === summary.processCount
        ? { summary, processes }
        : `the worker's reading carried ${processes.length} of its ${summary.processCount} processes`
    }
  }
}

export const collectionFromParts = (parts: Iterable<CollectPart>): Collection | string => {
  const assembler = collectionAssembler()
  for (const part of parts) assembler.add(part)
  return assembler.result()
}

/** The last good reading, as the state a replacement worker starts from. */
export const seedFrom = (reading: ResourceReading, cpu: CpuTimes | null): CollectorSeed => ({
  processes: processesToColumns(reading.processes),
  containers: containersToColumns([...reading.containers.values()].map((c) => ({ ...c, podId: "" }))),
  vms: [...reading.vms.values()],
  cpu,
  cgroups: reading.cgroups === undefined ? [] : cgroupsToWire(reading.cgroups)
})

const classificationOf = (
  p: ProcessInfo,
  containers: ReadonlyMap<string, ContainerInfo>,
  vms: ReadonlyMap<string, VmInfo>
): Classification => {
  const container = p.type === "container" ? containers.get(p.containerId) : undefined
  if (container !== undefined) {
    return { type: "container", container: { id: container.id, runtime: container.runtime, name: container.name } }
  }
  const vm = p.type === "vm" ? vms.get(p.vmId) : undefined
  if (vm !== undefined) return { type: "vm", vm }
  return { type: "regular" }
}

/**
 * The informer state a seed stands for. Each process is known with the ticks already booked
 * (delta 0, not first seen), so the next scan books only what it used since. `statComm` is
 * rebuilt from comm (the same task->comm bytes); where that differs (a comm the `comm` file
 * could not show) the scan merely re-reads the process's identity once.
 */
export const informerStateFromSeed = (seed: CollectorSeed, procfs: string): InformerState => {
  const containers = new Map(containersFromColumns(seed.containers).map((c) => [c.id, c]))
  const vms = new Map(seed.vms.map((v) => [v.id, v]))
  const processes = new Map<number, TrackedProcess>()
  for (const info of processesFromColumns(seed.processes)) {
    const known: ProcessInfo = { ...info, cpuTicksDelta: 0, firstSeen: false }
    processes.set(info.pid, {
      info: known,
      statPath: `${procfs}/${info.pid}/stat`,
      statComm: Buffer.from(info.comm, "utf8").toString("latin1"),
      classification: classificationOf(info, containers, vms),
      // The containers' cgroups come with the seed's cgroup samples.
      cgroup: undefined
    })
  }
  const cgroups = cgroupsFromWire(seed.cgroups)
  return { processes, cpu: seed.cpu ?? undefined, containers, vms, logged: new Map(), cgroups }
}
