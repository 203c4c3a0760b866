/**
 * The NVIDIA GPU meter: discovery and per-refresh readings over an `NvmlLibrary` (nvml.ts for the
 * driver's library, or the fake under test/). Follows Kepler's NVIDIA collector
 * (internal/device/gpu/nvidia/collector.go, detector.go) for what is read and how a device's
 * sharing mode decides the split; the split itself is the pure GPU attribution's.
 *
 * NVML calls run on libuv's thread pool and can hang in the driver (a GPU fallen off the bus).
 * Each device's reading therefore has a deadline, and a device whose previous reading has not
 * returned is reported as failed instead of being asked again — so a hung driver call holds at
 * most one pool thread per device, never the event loop.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { GpuDeviceInfo, GpuPowerMeterShape, GpuSample, GpuShareGroup, GpuSharingMode } from "./GpuPowerMeter.js"
import {
  ComputeMode,
  NvmlCode,
  type NvmlDevice,
  NvmlError,
  type NvmlLibrary,
  type NvmlProcessInfo,
  type NvmlUtilizationSample
} from "./nvmlApi.js"

export interface NvmlMeterOptions {
  /** How long one device's reading may take before the device is reported failed. */
  readonly readTimeout: Duration.Duration
  /**
   * MIG: per (device index, GPU instance id) engine activity from dcgm-exporter, when available
   * (`experimental.gpu.dcgmEndpoint`); without it MIG energy splits evenly per process (Kepler's
   * fallback).
   */
  readonly migActivity?: Effect.Effect<ReadonlyMap<string, number> | undefined>
  /** libuv's pool size (default: UV_THREADPOOL_SIZE, else libuv's 4); readings may hold all but one. */
  readonly poolThreads?: number
}

/** libuv's thread-pool size as libuv reads it: UV_THREADPOOL_SIZE (1–1024), else 4. */
const libuvPoolThreads = (): number => {
  const n = Number(process.env["UV_THREADPOOL_SIZE"])
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4
}

interface MigInstance {
  readonly gpuInstance: number
  readonly handle: NvmlDevice
}

/**
 * One device's mutable reading context. Mutable on purpose and owned by one meter: the pending
 * flag must be cleared by the driver call's own completion, which can outlive the Effect that
 * started it (a timed-out reading keeps running on its pool thread).
 */
interface DeviceSlot {
  readonly info: GpuDeviceInfo
  handle: NvmlDevice
  mig: ReadonlyArray<MigInstance>
  /** A reading is still in flight (possibly past its deadline). */
  pending: boolean
  /** The handle must be fetched again (after GPU_IS_LOST or a driver restart). */
  stale: boolean
  /** Newest utilisation sample seen, µs, so each reading covers only its own interval. */
  lastUtilization: bigint
}

/** MIG key for `migActivity`. */
export const migKey = (device: number, gpuInstance: number): string => `${device}/${gpuInstance}`

const asNvmlError = (call: string) => (e: unknown): NvmlError =>
  e instanceof NvmlError ? e : new NvmlError({ call, code: NvmlCode.ERROR_UNKNOWN, reason: String(e) })

const attempt = <A>(call: string, run: () => Promise<A>): Effect.Effect<A, NvmlError> =>
  Effect.tryPromise({ try: run, catch: asNvmlError(call) })

const sharingMode = (migCurrent: number, computeMode: number): GpuSharingMode =>
  migCurrent === 1
    ? "partitioned"
    : computeMode === ComputeMode.EXCLUSIVE_PROCESS || computeMode === ComputeMode.EXCLUSIVE_THREAD
    ? "exclusive"
    : "time-slicing"

const isCode = (e: unknown, code: number): boolean => e instanceof NvmlError && e.code === code

/** Reads a device's MIG devices and their GPU instance ids (detector.go, cacheMIGHierarchy). */
const migInstances = (lib: NvmlLibrary, device: NvmlDevice) =>
  Effect.gen(function*() {
    const max = yield* attempt("nvmlDeviceGetMaxMigDeviceCount", () => lib.maxMigDeviceCount(device))
    const out: Array<MigInstance> = []
    for (let k = 0; k < max; k++) {
      const handle = yield* attempt("nvmlDeviceGetMigDeviceHandleByIndex", () => lib.migDeviceByIndex(device, k)).pipe(
        Effect.option
      )
      if (handle._tag === "None") continue
      const id = yield* attempt("nvmlDeviceGetGpuInstanceId", () => lib.gpuInstanceId(handle.value))
      out.push({ gpuInstance: id, handle: handle.value })
    }
    return out.sort((a, b) => a.gpuInstance - b.gpuInstance)
  })

const discoverDevice = (lib: NvmlLibrary, index: number) =>
  Effect.gen(function*() {
    const handle = yield* attempt("nvmlDeviceGetHandleByIndex_v2", () => lib.deviceByIndex(index))
    const uuid = yield* attempt("nvmlDeviceGetUUID", () => lib.uuid(handle))
    const name = yield* attempt("nvmlDeviceGetName", () => lib.name(handle))
    // Kepler: a failed MIG query means MIG off; a failed compute-mode query means time-slicing.
    const [migCurrent] = yield* attempt("nvmlDeviceGetMigMode", () => lib.migMode(handle)).pipe(
      Effect.orElseSucceed(() => [0, 0] as const)
    )
    const computeMode = yield* attempt("nvmlDeviceGetComputeMode", () => lib.computeMode(handle)).pipe(
      Effect.orElseSucceed(() => ComputeMode.DEFAULT)
    )
    const energyCounter = yield* attempt(
      "nvmlDeviceGetTotalEnergyConsumption",
      () => lib.totalEnergyConsumption(handle)
    ).pipe(
      Effect.as(true),
      Effect.catchAll((e) => Effect.succeed(!isCode(e, NvmlCode.ERROR_NOT_SUPPORTED)))
    )
    const mode = sharingMode(migCurrent, computeMode)
    const mig = mode === "partitioned" ? yield* migInstances(lib, handle) : []
    const slot: DeviceSlot = {
      info: { index, uuid, name, vendor: "nvidia", mode, energyCounter },
      handle,
      mig,
      pending: false,
      stale: false,
      lastUtilization: 0n
    }
    return slot
  })

/** Σ SM utilisation per pid over the samples newer than the slot's last one. */
const utilisationByPid = (samples: ReadonlyArray<NvmlUtilizationSample>): Map<number, number> => {
  const out = new Map<number, number>()
  for (const s of samples) out.set(s.pid, (out.get(s.pid) ?? 0) + s.smUtil)
  return out
}

/**
 * Weights of `processes` from utilisation samples; equal when there are none or they sum to 0
 * (Kepler's time-slicing fallback).
 */
const weighted = (
  processes: ReadonlyArray<NvmlProcessInfo>,
  utilisation: ReadonlyMap<number, number> | undefined
) => {
  const pids = [...new Set(processes.map((p) => p.pid))].sort((a, b) => a - b)
  const total = utilisation === undefined ? 0 : pids.reduce((sum, pid) => sum + (utilisation.get(pid) ?? 0), 0)
  return pids.map((pid) => ({ pid, weight: total > 0 ? (utilisation?.get(pid) ?? 0) : 1 }))
}

const newestTimestamp = (samples: ReadonlyArray<NvmlUtilizationSample>, previous: bigint): bigint =>
  samples.reduce((max, s) => (s.timeStamp > max ? s.timeStamp : max), previous)

/** The promise chain of one device's reading; resolves to its groups and the idle detector's count. */
const readDevice = async (
  lib: NvmlLibrary,
  slot: DeviceSlot,
  now: () => bigint,
  activity: ReadonlyMap<string, number> | undefined
): Promise<GpuSample> => {
  if (slot.stale) {
    const handle = await lib.deviceByIndex(slot.info.index)
    const uuid = await lib.uuid(handle)
    if (uuid !== slot.info.uuid) {
      throw new NvmlError({
        call: "nvmlDeviceGetUUID",
        code: NvmlCode.ERROR_UNKNOWN,
        reason:
          `device ${slot.info.index} is now ${uuid}, not ${slot.info.uuid}; restart joulemon to pick up the new device`
      })
    }
    slot.handle = handle
    if (slot.info.mode === "partitioned") {
      slot.mig = await Effect.runPromise(migInstances(lib, handle).pipe(Effect.orElseSucceed(() => slot.mig)))
    }
    slot.stale = false
  }
  const device = slot.handle
  const powerMilliwatts = await lib.powerUsage(device)
  const energyMillijoules = slot.info.energyCounter ? await lib.totalEnergyConsumption(device) : undefined
  const atNanos = now()
  const groups: Array<GpuShareGroup> = []
  let computeProcesses = 0
  if (slot.info.mode === "partitioned") {
    for (const instance of slot.mig) {
      const processes = await lib.computeRunningProcesses(instance.handle)
      computeProcesses += processes.length
      if (processes.length === 0) continue
      const samples = await lib.processUtilization(instance.handle, 0n).catch(() => [])
      const processWeights = weighted(processes, utilisationByPid(samples))
      const dcgm = activity?.get(migKey(slot.info.index, instance.gpuInstance))
      // Without dcgm-exporter's activity, every process on the device weighs the same (Kepler's fallback).
      const weight = activity === undefined ? processWeights.length : Math.round((dcgm ?? 0) * 1_000_000)
      groups.push({
        gpuInstance: instance.gpuInstance,
        weight,
        processes: activity === undefined ? processWeights.map((p) => ({ pid: p.pid, weight: 1 })) : processWeights
      })
    }
  } else {
    const processes = await lib.computeRunningProcesses(device)
    computeProcesses = processes.length
    if (processes.length > 0) {
      let utilisation: Map<number, number> | undefined
      if (slot.info.mode === "time-slicing") {
        // No samples (NOT_FOUND: none since the last one; NOT_SUPPORTED) means equal weights.
        const samples = await lib.processUtilization(device, slot.lastUtilization).catch(
          (): ReadonlyArray<NvmlUtilizationSample> => []
        )
        slot.lastUtilization = newestTimestamp(samples, slot.lastUtilization)
        utilisation = utilisationByPid(samples)
      }
      groups.push({ gpuInstance: -1, weight: 1, processes: weighted(processes, utilisation) })
    }
  }
  return { _tag: "Read", atNanos, powerMilliwatts, energyMillijoules, computeProcesses, groups }
}

const failed = (slot: DeviceSlot, e: unknown): GpuSample => {
  const lost = isCode(e, NvmlCode.ERROR_GPU_IS_LOST)
  // A lost GPU or a reloaded driver invalidates the handle; fetch it again next time.
  if (
    lost || isCode(e, NvmlCode.ERROR_UNINITIALIZED) || isCode(e, NvmlCode.ERROR_INVALID_ARGUMENT) ||
    isCode(e, NvmlCode.ERROR_UNKNOWN)
  ) {
    slot.stale = true
  }
  return { _tag: "Failed", error: e instanceof Error ? e.message : String(e), lost }
}

/**
 * Initialises NVML, finds every device and returns the meter; NVML is shut down when the scope
 * closes. Devices that cannot be read at startup are skipped with a warning.
 */
export const makeNvmlMeter = (lib: NvmlLibrary, options: NvmlMeterOptions) =>
  Effect.gen(function*() {
    yield* Effect.acquireRelease(
      attempt("nvmlInit_v2", () => lib.init()),
      () => attempt("nvmlShutdown", () => lib.shutdown()).pipe(Effect.ignore)
    )
    const count = yield* attempt("nvmlDeviceGetCount_v2", () => lib.deviceCount())
    const slots: Array<DeviceSlot> = []
    for (let index = 0; index < count; index++) {
      const slot = yield* discoverDevice(lib, index).pipe(
        Effect.tapError((e) =>
          Effect.logWarning("GPU skipped: it could not be read at startup").pipe(
            Effect.annotateLogs({ gpu: index, error: e.message })
          )
        ),
        Effect.option
      )
      if (slot._tag === "Some") slots.push(slot.value)
    }
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeNanos()
    const timeoutMillis = Duration.toMillis(options.readTimeout)
    const hasMig = slots.some((s) => s.info.mode === "partitioned")
    const poolThreads = options.poolThreads ?? libuvPoolThreads()
    const maxInFlight = Math.max(1, poolThreads - 1)

    // One promise for all devices, entered once: with an Effect fiber and timeout per device, 8
    // fake-NVML GPUs took 2.8–5.4 ms a reading against 0.6 ms for the same calls as plain promises
    // (measured in process), and `npm run bench:gpu` went from +2.6 ms a refresh to +0.9–1.1 ms.
    const readSlot = (slot: DeviceSlot, activity: ReadonlyMap<string, number> | undefined): Promise<GpuSample> => {
      if (slot.pending) {
        return Promise.resolve({
          _tag: "Failed",
          error: `the previous NVML call on GPU ${slot.info.index} has not returned; not asking again until it does`,
          lost: false
        })
      }
      slot.pending = true
      const reading = readDevice(lib, slot, now, activity).finally(() => {
        slot.pending = false
      })
      return new Promise<GpuSample>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new NvmlError({
                call: "read",
                code: NvmlCode.ERROR_UNKNOWN,
                reason: `GPU ${slot.info.index} did not answer within ${timeoutMillis} ms`
              })
            ),
          timeoutMillis
        )
        reading.then(
          (sample) => {
            clearTimeout(timer)
            resolve(sample)
          },
          (e: unknown) => {
            clearTimeout(timer)
            reject(e)
          }
        )
      }).catch((e: unknown) => failed(slot, e))
    }

    // Each reading in flight holds one of libuv's pool threads (its calls run one after another),
    // and so does a call that hung. The pool also serves file, DNS and password-hash work, so at
    // most maxInFlight readings may hold it: a hung driver then costs those threads, never all.
    const notAsked = (slot: DeviceSlot, hung: number): GpuSample => ({
      _tag: "Failed",
      error: `not asked: ${hung} NVML call(s) on other GPUs have not returned and hold ${hung} of libuv's ` +
        `${poolThreads} pool threads (UV_THREADPOOL_SIZE); GPU ${slot.info.index} waits until they do`,
      lost: false
    })
    const readAll = async (activity: ReadonlyMap<string, number> | undefined): Promise<Array<GpuSample>> => {
      const out: Array<GpuSample> = new Array(slots.length)
      let next = 0
      const worker = async () => {
        for (let i = next++; i < slots.length; i = next++) {
          const slot = slots[i]
          if (slot === undefined) continue
          const inFlight = slots.filter((s) => s.pending).length
          out[i] = !slot.pending && inFlight >= maxInFlight ? notAsked(slot, inFlight) : await readSlot(slot, activity)
        }
      }
      await Promise.all(Array.from({ length: Math.min(maxInFlight, slots.length) }, worker))
      return out
    }

    const read = Effect.gen(function*() {
      const activity = hasMig && options.migActivity !== undefined ? yield* options.migActivity : undefined
      // Never rejects: a device that fails, times out or is not asked is a Failed sample.
      return yield* Effect.promise(() => readAll(activity))
    }).pipe(Effect.withSpan("GpuPowerMeter.read"))

    const meter: GpuPowerMeterShape = { name: "nvml", devices: slots.map((s) => s.info), read }
    return meter
  })
