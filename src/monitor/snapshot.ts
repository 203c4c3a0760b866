/**
 * The monitor's output: one immutable value per refresh, read lock-free by every exporter
 * (DESIGN.md §4). Energies are exact cumulative µJ (bigint); watts are floats computed at the
 * edge of each interval. Per-zone arrays are indexed like `Snapshot.zones`.
 */
import type { ContainerRuntime, Hypervisor, ProcessType, ScanStats } from "../resource/types.js"
import type { GpuSnapshot } from "./gpuAttribution.js"
import type { IdleAllocation } from "./idleAllocation.js"
import type { ShortLivedTotals } from "./shortLived.js"

/** Why a zone did or did not book energy this interval. */
export type ZoneStatus =
  /** Booked a normal interval. */
  | "ok"
  /** First reading of this zone: the baseline; nothing booked. */
  | "baseline"
  /** The read failed; nothing booked, the next good read covers the gap. */
  | "read-error"
  /** The delta implied more than `monitor.maxPlausibleWatts`: dropped, re-baselined. */
  | "glitch"
  /** The counter went backwards with no known wrap boundary: re-baselined. */
  | "reset"
  /** No time elapsed since the zone's last reading. */
  | "idle-interval"

export interface NodeZone {
  readonly name: string
  readonly index: number
  readonly path: string
  readonly estimated: boolean
  /** Σ of booked deltas since start (monotonic from 0, DESIGN.md §3.2). */
  readonly energyTotal: bigint
  readonly activeEnergyTotal: bigint
  readonly idleEnergyTotal: bigint
  /** Active energy that no process claimed (no process used CPU in its interval). */
  readonly unattributedEnergyTotal: bigint
  readonly watts: number
  readonly activeWatts: number
  readonly idleWatts: number
  /** This interval's booked delta and its active part. */
  readonly intervalEnergy: bigint
  readonly intervalActiveEnergy: bigint
  /** Seconds covered by this zone's interval (0 when nothing was booked). */
  readonly intervalSeconds: number
  readonly status: ZoneStatus
  /** The error text when status is read-error. */
  readonly error: string
  /** Counters since start: hardware wraps handled, glitches dropped, read errors, resets. */
  readonly wraps: number
  readonly glitches: number
  readonly readErrors: number
  readonly resets: number
}

/** Per-zone cumulative energy (µJ) and this interval's power (W). */
export interface ZoneValues {
  readonly energy: ReadonlyArray<bigint>
  readonly watts: ReadonlyArray<number>
}

export interface ProcessWorkload extends ZoneValues {
  /** `${pid}:${startTime}`; unique per incarnation. */
  readonly key: string
  readonly pid: number
  readonly comm: string
  readonly exe: string
  readonly type: ProcessType
  readonly containerId: string
  readonly vmId: string
  /** utime + stime since the process started, seconds. */
  readonly cpuSeconds: number
}

export interface ContainerWorkload extends ZoneValues {
  readonly id: string
  readonly name: string
  readonly runtime: ContainerRuntime
  readonly podId: string
  /** Σ of its processes' CPU-time deltas since the container was first seen, seconds. */
  readonly cpuSeconds: number
}

export interface VmWorkload extends ZoneValues {
  readonly id: string
  readonly name: string
  readonly hypervisor: Hypervisor
}

export interface PodWorkload extends ZoneValues {
  readonly id: string
  readonly name: string
  readonly namespace: string
}

export interface Workloads<W> {
  /** Sorted by key (pid for processes, id otherwise). */
  readonly running: ReadonlyArray<W>
  /** Frozen last values, highest primary-zone energy first. */
  readonly terminated: ReadonlyArray<W>
}

export interface Snapshot {
  /** Clock time (ms since epoch) when the snapshot was computed. */
  readonly timestamp: number
  /** 1 for the first (baseline) snapshot, +1 per refresh. */
  readonly sequence: number
  readonly usageRatio: number
  readonly zones: ReadonlyArray<NodeZone>
  /** Index in `zones` of the zone that ranks terminated workloads. */
  readonly primaryZone: number
  readonly processes: Workloads<ProcessWorkload>
  readonly containers: Workloads<ContainerWorkload>
  readonly vms: Workloads<VmWorkload>
  readonly pods: Workloads<PodWorkload>
  /** joulemon's own attributed energy per zone (its process and its collector worker), cumulative µJ. */
  readonly selfEnergy: ReadonlyArray<bigint>
  readonly scan: ScanStats
  /** GPU devices and each workload's GPU energy; absent when joulemon reads no GPU. */
  readonly gpu?: GpuSnapshot | undefined
  /** Idle energy charged to containers, VMs and pods (`monitor.idlePolicy`); absent under `none`. */
  readonly idle?: IdleAllocation | undefined
  /** Short-lived energy of containers and pods (`monitor.shortLived: cgroup`); absent under `none`. */
  readonly shortLived?: ShortLivedTotals | undefined
}

export const MICRO = 1_000_000

/** µJ → J for export. Exact up to 2^53 µJ, within one ulp beyond. */
export const joules = (microjoules: bigint): number => Number(microjoules) / MICRO
