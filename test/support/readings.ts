/** Builders for resource readings and zone samples used by monitor and exporter tests. */
import type { ZoneReading } from "../../src/device/EnergyZone.js"
import type { ZoneMeta, ZoneSample } from "../../src/monitor/nodeEnergy.js"
import type {
  ContainerInfo,
  NodeCpuReading,
  PodInfo,
  ProcessInfo,
  ResourceReading,
  TerminatedIds,
  VmInfo
} from "../../src/resource/types.js"

export const node = (activeTicks: number, totalTicks: number, first = false): NodeCpuReading => ({
  first,
  activeTicks,
  totalTicks,
  usageRatio: totalTicks === 0 ? 0 : activeTicks / totalTicks,
  cpuCount: 4
})

export const proc = (
  pid: number,
  delta: number,
  extra: Partial<Omit<ProcessInfo, "pid" | "cpuTicksDelta">> = {}
): ProcessInfo => ({
  key: extra.key ?? `${pid}:1`,
  pid,
  startTime: extra.startTime ?? 1,
  comm: extra.comm ?? `p${pid}`,
  exe: extra.exe ?? `/usr/bin/p${pid}`,
  type: extra.type ?? (extra.containerId ? "container" : extra.vmId ? "vm" : "regular"),
  containerId: extra.containerId ?? "",
  vmId: extra.vmId ?? "",
  cpuTicksTotal: extra.cpuTicksTotal ?? delta,
  cpuTicksDelta: delta,
  firstSeen: extra.firstSeen ?? false
})

export const noneTerminated: TerminatedIds = { processes: [], containers: [], vms: [], pods: [] }

export const reading = (
  nodeCpu: NodeCpuReading,
  processes: ReadonlyArray<ProcessInfo>,
  extra: {
    containers?: ReadonlyArray<ContainerInfo>
    vms?: ReadonlyArray<VmInfo>
    pods?: ReadonlyArray<PodInfo>
    terminated?: Partial<TerminatedIds>
  } = {}
): ResourceReading => ({
  node: nodeCpu,
  processes,
  containers: new Map((extra.containers ?? []).map((c) => [c.id, c])),
  vms: new Map((extra.vms ?? []).map((v) => [v.id, v])),
  pods: new Map((extra.pods ?? []).map((p) => [p.id, p])),
  terminated: { ...noneTerminated, ...extra.terminated },
  stats: { processesScanned: processes.length, processesVanished: 0, unreadableFiles: 0 }
})

export const energy = (microjoules: bigint): ZoneSample => ({
  _tag: "Read",
  reading: { _tag: "Energy", microjoules } satisfies ZoneReading
})
export const power = (microwatts: number): ZoneSample => ({
  _tag: "Read",
  reading: { _tag: "Power", microwatts } satisfies ZoneReading
})
export const failed = (error: string): ZoneSample => ({ _tag: "Failed", error })

export const zoneMeta = (name: string, maxEnergy = 0n, index = 0): ZoneMeta => ({
  name,
  index,
  path: `/sys/class/powercap/${name}`,
  estimated: false,
  maxEnergy
})

export const J = (joules: number): bigint => BigInt(Math.round(joules * 1_000_000))
export const SECOND = 1_000_000_000n
