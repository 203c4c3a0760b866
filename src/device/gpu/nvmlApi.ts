/**
 * What joulemon needs from NVIDIA's NVML, as plain TypeScript: the contract between the FFI
 * binding (nvml.ts, the only module that touches `libnvidia-ml.so.1`) and the GPU meter. Keeping
 * the binding this thin lets the meter be tested against the fake library and reason in values.
 *
 * Every per-refresh query is asynchronous: the binding runs it on libuv's thread pool (koffi's
 * `.async`), so a driver call that hangs (a GPU fallen off the bus) never blocks the event loop
 * that serves /healthz.
 */
import * as Data from "effect/Data"

/** NVML's return codes joulemon reacts to (nvml.h, nvmlReturn_t). */
export const NvmlCode = {
  SUCCESS: 0,
  ERROR_UNINITIALIZED: 1,
  ERROR_INVALID_ARGUMENT: 2,
  ERROR_NOT_SUPPORTED: 3,
  ERROR_NO_PERMISSION: 4,
  ERROR_NOT_FOUND: 6,
  ERROR_INSUFFICIENT_SIZE: 7,
  ERROR_DRIVER_NOT_LOADED: 9,
  ERROR_LIBRARY_NOT_FOUND: 12,
  ERROR_GPU_IS_LOST: 15,
  ERROR_UNKNOWN: 999
} as const

/** nvmlComputeMode_t */
export const ComputeMode = {
  DEFAULT: 0,
  EXCLUSIVE_THREAD: 1,
  PROHIBITED: 2,
  EXCLUSIVE_PROCESS: 3
} as const

/** A failed NVML call: which entry point, NVML's code and its `nvmlErrorString`. */
export class NvmlError extends Data.TaggedError("NvmlError")<{
  /** The NVML symbol, e.g. `nvmlDeviceGetPowerUsage`. */
  readonly call: string
  /** nvmlReturn_t, or -1 when the library could not be loaded at all. */
  readonly code: number
  readonly reason: string
}> {
  override get message(): string {
    return `${this.call}: ${this.reason}${this.code >= 0 ? ` (NVML code ${this.code})` : ""}`
  }
}

/** nvmlProcessInfo_t (the v2 layout nvmlDeviceGetComputeRunningProcesses_v3 fills). */
export interface NvmlProcessInfo {
  readonly pid: number
  /** Bytes. */
  readonly usedGpuMemory: bigint
  /** 0xFFFFFFFF when MIG is off. */
  readonly gpuInstanceId: number
  readonly computeInstanceId: number
}

/** nvmlProcessUtilizationSample_t */
export interface NvmlUtilizationSample {
  readonly pid: number
  /** CPU timestamp, µs. */
  readonly timeStamp: bigint
  /** SM (3D/compute) utilisation, percent. */
  readonly smUtil: number
  readonly memUtil: number
  readonly encUtil: number
  readonly decUtil: number
}

declare const nvmlDeviceBrand: unique symbol

/** An opaque nvmlDevice_t (a full GPU or a MIG device): koffi hands handles back as addresses. */
export type NvmlDevice = (bigint | object) & { readonly [nvmlDeviceBrand]: true }

export interface NvmlLibrary {
  /** Where the library was loaded from, as far as the loader tells (the soname otherwise). */
  readonly path: string
  readonly init: () => Promise<void>
  readonly shutdown: () => Promise<void>
  readonly deviceCount: () => Promise<number>
  readonly deviceByIndex: (index: number) => Promise<NvmlDevice>
  readonly uuid: (device: NvmlDevice) => Promise<string>
  readonly name: (device: NvmlDevice) => Promise<string>
  /** Milliwatts. */
  readonly powerUsage: (device: NvmlDevice) => Promise<number>
  /** Millijoules since the driver was loaded. */
  readonly totalEnergyConsumption: (device: NvmlDevice) => Promise<bigint>
  readonly computeRunningProcesses: (device: NvmlDevice) => Promise<ReadonlyArray<NvmlProcessInfo>>
  /** Samples newer than `lastSeenMicros` (0 = everything the driver buffers). */
  readonly processUtilization: (
    device: NvmlDevice,
    lastSeenMicros: bigint
  ) => Promise<ReadonlyArray<NvmlUtilizationSample>>
  readonly computeMode: (device: NvmlDevice) => Promise<number>
  /** [current, pending]; 1 = enabled. */
  readonly migMode: (device: NvmlDevice) => Promise<readonly [number, number]>
  readonly maxMigDeviceCount: (device: NvmlDevice) => Promise<number>
  readonly migDeviceByIndex: (device: NvmlDevice, index: number) => Promise<NvmlDevice>
  readonly gpuInstanceId: (migDevice: NvmlDevice) => Promise<number>
}
