/**
 * A realistic snapshot without touching /proc: N processes (a third in containers of several
 * runtimes, some in VMs) over 3 zones, built by running the real attribution twice.
 */
import { attribute, initialMonitorState } from "../../src/monitor/attribute.js"
import type { ZoneMeta, ZoneSample } from "../../src/monitor/nodeEnergy.js"
import type { Snapshot } from "../../src/monitor/snapshot.js"
import type { ContainerInfo, ContainerRuntime, ProcessInfo, ResourceReading, VmInfo } from "../../src/resource/types.js"

const RUNTIMES: ReadonlyArray<ContainerRuntime> = ["docker", "containerd", "crio", "podman", "kubernetes"]

export const ZONES: ReadonlyArray<ZoneMeta> = ["package", "core", "dram"].map((name, i) => ({
  name,
  index: 0,
  path: `/sys/class/powercap/intel-rapl:0${i === 0 ? "" : `:${i - 1}`}`,
  estimated: false,
  maxEnergy: 262_143_328_850n
}))

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0").slice(-width)

export interface SyntheticWorkload {
  readonly processes: ReadonlyArray<ProcessInfo>
  readonly containers: ReadonlyMap<string, ContainerInfo>
  readonly vms: ReadonlyMap<string, VmInfo>
}

export const syntheticWorkload = (count: number, tick: number): SyntheticWorkload => {
  const processes: Array<ProcessInfo> = []
  const containers = new Map<string, ContainerInfo>()
  const vms = new Map<string, VmInfo>()
  for (let i = 0; i < count; i++) {
    const pid = 100 + i * 7
    const inContainer = i % 3 === 0
    const inVm = !inContainer && i % 50 === 1
    const containerId = inContainer ? hex(Math.floor(i / 12) * 2654435761, 16).repeat(4) : ""
    const vmId = inVm ? `vm-${hex(i, 8)}-0000-4000-8000-${hex(i * 31, 12)}` : ""
    if (inContainer && !containers.has(containerId)) {
      const runtime = RUNTIMES[Math.floor(i / 12) % RUNTIMES.length] ?? "docker"
      containers.set(containerId, { id: containerId, name: `svc-${i}`, runtime, podId: "" })
    }
    if (inVm) vms.set(vmId, { id: vmId, name: `guest-${i}`, hypervisor: "kvm" })
    const delta = (i * 13 + tick * 7) % 40
    processes.push({
      key: `${pid}:${1000 + i}`,
      pid,
      startTime: 1000 + i,
      comm: inVm ? "qemu-system-x86" : `worker-${i % 97}`,
      exe: i % 11 === 0 ? "" : `/usr/bin/worker-${i % 97}`,
      type: inContainer ? "container" : inVm ? "vm" : "regular",
      containerId,
      vmId,
      cpuTicksTotal: 10_000 + tick * 40 + delta,
      cpuTicksDelta: tick === 0 ? 10_000 + delta : delta,
      firstSeen: tick === 0
    })
  }
  return { processes, containers, vms }
}

export const readingOf = (w: SyntheticWorkload, tick: number): ResourceReading => ({
  node: {
    first: tick === 0,
    activeTicks: tick === 0 ? 0 : 120,
    totalTicks: tick === 0 ? 0 : 200,
    usageRatio: tick === 0 ? 0 : 0.6,
    cpuCount: 2
  },
  processes: w.processes,
  containers: w.containers,
  vms: w.vms,
  pods: new Map(),
  terminated: { processes: [], containers: [], vms: [], pods: [] },
  stats: { processesScanned: w.processes.length, processesVanished: 0, unreadableFiles: 0 }
})

const samplesAt = (tick: number): Array<ZoneSample> =>
  [60, 35, 12].map((watts) => ({
    _tag: "Read",
    reading: { _tag: "Energy", microjoules: BigInt(watts * 5_000_000 * tick) }
  }))

export const syntheticSnapshot = (count: number): Snapshot => {
  const config = { maxPlausibleWatts: 5000, maxTerminated: 500, minTerminatedEnergy: 10_000_000n, primaryZone: 0 }
  let state = initialMonitorState(ZONES.length)
  let snapshot: Snapshot | undefined
  for (let tick = 0; tick < 2; tick++) {
    const r = attribute(
      state,
      {
        nowNanos: BigInt(tick) * 5_000_000_000n,
        timestamp: tick * 5000,
        zones: ZONES,
        samples: samplesAt(tick),
        resources: readingOf(syntheticWorkload(count, tick), tick),
        clearTerminated: false
      },
      config
    )
    state = r.state
    snapshot = r.snapshot
  }
  if (snapshot === undefined) throw new Error("no snapshot")
  return snapshot
}
