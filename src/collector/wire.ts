/**
 * Pure conversions between the in-memory reading (resource/types.ts) and its wire form
 * (protocol.ts). `readingFromWireInSlices(readingToWire(r))` gives `r` field for field: the worker path
 * and the in-process path feed the attribution the same data.
 */
import { runToEnd } from "../monitor/slices.js"
import type { InformerState } from "../resource/assembleReading.js"
import type { Classification } from "../resource/classify.js"
import type { TrackedProcess } from "../resource/procfsScan.js"
import type { CpuTimes } from "../resource/procStat.js"
import type { ContainerCgroup, ContainerInfo, ProcessInfo, ResourceReading, VmInfo } from "../resource/types.js"
import { type CollectorSeed, type ContainerCgroupWire, PROCESS_TYPES, type ProcessColumns } from "./protocol.js"

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
 * Processes rebuilt per slice: at 50k processes the whole loop held the monitor's event loop for
 * ~30 ms (a CPU profile of `npm run bench -- --only health`), so it pauses every SLICE records.
 */
const SLICE = 4096

/** Field order as procfsScan.ts builds ProcessInfo, so every record shares one hidden class. */
export function* processesFromColumnsInSlices(c: ProcessColumns): Generator<void, Array<ProcessInfo>, undefined> {
  const out = new Array<ProcessInfo>(c.pid.length)
  for (let i = 0; i < c.pid.length; i++) {
    if (i % SLICE === SLICE - 1) yield
    const pid = c.pid[i] ?? 0
    const startTime = c.startTime[i] ?? 0
    out[i] = {
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
    }
  }
  return out
}

export const processesFromColumns = (c: ProcessColumns): Array<ProcessInfo> => runToEnd(processesFromColumnsInSlices(c))

/** The wire form of a reading's parts (everything but pods, which the monitor adds). */
export interface ReadingWire {
  readonly node: ResourceReading["node"]
  readonly processes: ProcessColumns
  readonly containers: ReadonlyArray<ContainerInfo>
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
  containers: [...r.containers.values()],
  vms: [...r.vms.values()],
  terminated: { processes: r.terminated.processes, containers: r.terminated.containers, vms: r.terminated.vms },
  stats: r.stats,
  cgroups: r.cgroups === undefined ? null : cgroupsToWire(r.cgroups)
})

/** The reading a wire form stands for, pausing between slices of the processes (monitor/slices.ts runs it). */
export function* readingFromWireInSlices(w: ReadingWire): Generator<void, ResourceReading, undefined> {
  const processes = yield* processesFromColumnsInSlices(w.processes)
  return readingWith(w, processes)
}

const readingWith = (w: ReadingWire, processes: Array<ProcessInfo>): ResourceReading => ({
  node: w.node,
  processes,
  containers: new Map(w.containers.map((c) => [c.id, c])),
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

/** The last good reading, as the state a replacement worker starts from. */
export const seedFrom = (reading: ResourceReading, cpu: CpuTimes | null): CollectorSeed => ({
  processes: processesToColumns(reading.processes),
  containers: [...reading.containers.values()].map((c) => ({ ...c, podId: "" })),
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
  const containers = new Map(seed.containers.map((c) => [c.id, c]))
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
