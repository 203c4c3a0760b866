/**
 * What one `ResourceInformer.refresh` returns: a consistent view of the node's CPU time and
 * of every process, container, VM and pod, with the CPU-tick deltas the attribution needs
 * (DESIGN.md §2–§3). Plain readonly data: the monitor's attribution is a pure function of it.
 */

export type ProcessType = "regular" | "container" | "vm"
export type ContainerRuntime = "docker" | "containerd" | "crio" | "podman" | "kubernetes" | "unknown"
export type Hypervisor = "kvm" | "xen" | "virtualbox" | "vmware"

/** CPU ticks are USER_HZ (100 per second), as Kepler assumes. */
export const USER_HZ = 100

export interface NodeCpuReading {
  /** No previous /proc/stat sample existed: the deltas are 0 and the ratio is 0. */
  readonly first: boolean
  /** Δ(user + nice + system + irq + softirq + steal) from the aggregate `cpu` line. */
  readonly activeTicks: number
  /** activeTicks + Δ(idle + iowait). Guest time is excluded (it is already in user). */
  readonly totalTicks: number
  /** activeTicks / totalTicks, 0 when totalTicks is 0. */
  readonly usageRatio: number
  /** Logical CPUs (`cpuN` lines). */
  readonly cpuCount: number
}

export interface ProcessInfo {
  /** Unique per process incarnation: `${pid}:${startTime}`, so PID reuse is a new process. */
  readonly key: string
  readonly pid: number
  /** Field 22 of /proc/<pid>/stat (ticks after boot). */
  readonly startTime: number
  readonly comm: string
  /** readlink of /proc/<pid>/exe; "" when the link does not exist (kernel threads). */
  readonly exe: string
  readonly type: ProcessType
  /** "" unless type is container. */
  readonly containerId: string
  /** "" unless type is vm. */
  readonly vmId: string
  /** utime + stime, in ticks. */
  readonly cpuTicksTotal: number
  /** Ticks since the previous refresh; its whole lifetime on the refresh it is first seen. */
  readonly cpuTicksDelta: number
  /** First refresh that saw this incarnation. */
  readonly firstSeen: boolean
}

export interface ContainerInfo {
  readonly id: string
  readonly name: string
  readonly runtime: ContainerRuntime
  /** Pod UID, "" when no pod is known (or Kubernetes is off). */
  readonly podId: string
  /** Its CPU request from the pod spec, millicores; absent outside Kubernetes. */
  readonly cpuRequestMillis?: number
}

export interface VmInfo {
  readonly id: string
  readonly name: string
  readonly hypervisor: Hypervisor
}

export interface PodInfo {
  readonly id: string
  readonly name: string
  readonly namespace: string
}

export interface TerminatedIds {
  /** ProcessInfo.key values of processes seen last refresh and gone now. */
  readonly processes: ReadonlyArray<string>
  readonly containers: ReadonlyArray<string>
  readonly vms: ReadonlyArray<string>
  readonly pods: ReadonlyArray<string>
}

export interface ScanStats {
  readonly processesScanned: number
  /** Processes that disappeared during the scan (ENOENT/ESRCH); not errors. */
  readonly processesVanished: number
  /** Files of live processes that could not be read this refresh (EACCES, …). */
  readonly unreadableFiles: number
}

/** A running container's cgroup CPU usage (`monitor.shortLived: cgroup`). */
export interface ContainerCgroup {
  readonly version: 1 | 2
  /** v1: the hierarchy's directory (e.g. `cpu,cpuacct`); "" for v2. */
  readonly hierarchy: string
  /** The container's cgroup, relative to the cgroup mount. */
  readonly path: string
  /** The cgroup's total usage at this scan, µs. */
  readonly usageUsec: number
  /**
   * Ticks the cgroup used since the previous scan (its whole usage when the container is new);
   * null when there is no earlier sample to subtract (the usage could not be read last time).
   */
  readonly ticks: number | null
}

export interface ResourceReading {
  readonly node: NodeCpuReading
  /** Running processes, sorted by pid. */
  readonly processes: ReadonlyArray<ProcessInfo>
  /** Containers with at least one running process, by id. */
  readonly containers: ReadonlyMap<string, ContainerInfo>
  /** VMs with at least one running process, by id. */
  readonly vms: ReadonlyMap<string, VmInfo>
  /** Pods with at least one running container, by UID (empty unless Kubernetes is on). */
  readonly pods: ReadonlyMap<string, PodInfo>
  /** Σ of each pod's containers' CPU requests (pod spec), millicores; absent outside Kubernetes. */
  readonly podCpuRequests?: ReadonlyMap<string, number>
  readonly terminated: TerminatedIds
  readonly stats: ScanStats
  /**
   * Running containers whose cgroup usage was read this scan, by id; absent unless
   * `monitor.shortLived` is `cgroup` (then present, possibly empty).
   */
  readonly cgroups?: ReadonlyMap<string, ContainerCgroup>
}

/** One logical CPU of /proc/cpuinfo, for `kepler_node_cpu_info`. */
export interface CpuInfoEntry {
  readonly processor: string
  readonly vendorId: string
  readonly modelName: string
  readonly physicalId: string
  readonly coreId: string
}
