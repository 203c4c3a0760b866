/**
 * The GPU device service (issue 12): the node's GPUs, found once at startup, and one reading of
 * all of them per refresh. It sits beside the CPU meter; the monitor depends on both and turns
 * the readings into energy with the pure GPU attribution (monitor/gpuAttribution.ts), so how a
 * reading was obtained (NVML, the fake) never changes a number.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/**
 * How a device is shared, which decides how its active energy splits (Kepler's modes,
 * internal/device/gpu/nvidia/detector.go): MIG on → partitioned; compute mode exclusive-process
 * or exclusive-thread → exclusive; anything else → time-slicing.
 */
export type GpuSharingMode = "exclusive" | "time-slicing" | "partitioned"

export interface GpuDeviceInfo {
  /** NVML's device index, exported as the `gpu` label. */
  readonly index: number
  readonly uuid: string
  readonly name: string
  /** Kepler's `vendor` label. */
  readonly vendor: string
  readonly mode: GpuSharingMode
  /** False when the device has no total-energy counter: energy is then power × measured time. */
  readonly energyCounter: boolean
}

/** One process's claim on a share of its device's active energy, with an integer weight. */
export interface GpuProcessWeight {
  readonly pid: number
  readonly weight: number
}

/**
 * A set of processes that split one part of the device's active energy among themselves: the
 * whole device (exclusive, time-slicing) or one MIG GPU instance (partitioned), whose part is
 * its `weight` against the device's other groups.
 */
export interface GpuShareGroup {
  /** The MIG GPU instance id; -1 for a whole device. */
  readonly gpuInstance: number
  readonly weight: number
  readonly processes: ReadonlyArray<GpuProcessWeight>
}

export type GpuSample =
  | {
    readonly _tag: "Read"
    /** When the reading was taken (monotonic-comparable with the CPU samples), ns. */
    readonly atNanos: bigint
    /** Instantaneous board power, mW. */
    readonly powerMilliwatts: number
    /** The hardware total-energy counter, mJ since the driver loaded; absent when unsupported. */
    readonly energyMillijoules?: bigint | undefined
    /** Number of compute processes NVML reports (the idle detector's input). */
    readonly computeProcesses: number
    readonly groups: ReadonlyArray<GpuShareGroup>
  }
  | {
    readonly _tag: "Failed"
    readonly error: string
    /** NVML said the GPU is lost (fallen off the bus, driver reloading). */
    readonly lost: boolean
  }

export interface GpuPowerMeterShape {
  /** "nvml", "fake" or "none". */
  readonly name: string
  /** In index order; empty when GPU power is off or nothing was found. */
  readonly devices: ReadonlyArray<GpuDeviceInfo>
  /** One sample per device, aligned with `devices`; never fails — a failed device says why. */
  readonly read: Effect.Effect<ReadonlyArray<GpuSample>>
}

export class GpuPowerMeter extends Context.Tag("joulemon/GpuPowerMeter")<GpuPowerMeter, GpuPowerMeterShape>() {}

/** No GPUs: the CPU side runs exactly as without this service. */
export const noGpuMeter: GpuPowerMeterShape = { name: "none", devices: [], read: Effect.succeed([]) }
