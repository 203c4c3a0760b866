/**
 * The only module that touches NVIDIA's `libnvidia-ml.so.1`: loads it through the dynamic
 * loader's normal search (so LD_LIBRARY_PATH, ld.so.cache and a driver-mounted path all work) with
 * koffi, declares the entry points Kepler uses (internal/device/gpu/nvidia/nvml_lib.go) under
 * NVIDIA's real versioned names (nvml.h: nvmlInit_v2, nvmlDeviceGetCount_v2,
 * nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetComputeRunningProcesses_v3, …), and turns each into
 * a Promise-returning function of `NvmlLibrary`.
 *
 * Every call is koffi's asynchronous form, run on libuv's thread pool: a driver call that hangs
 * must not block the event loop that serves /healthz (issue 11's rule, applied to the GPU).
 */
import { Effect } from "effect"
import koffi, { type TypeObject } from "koffi"
import * as fs from "node:fs"
import {
  NvmlCode,
  type NvmlDevice,
  NvmlError,
  type NvmlLibrary,
  type NvmlProcessInfo,
  type NvmlUtilizationSample
} from "./nvmlApi.js"

export const NVML_SONAME = "libnvidia-ml.so.1"

/** nvml.h: NVML_DEVICE_UUID_V2_BUFFER_SIZE and NVML_DEVICE_NAME_V2_BUFFER_SIZE. */
const TEXT_BUFFER = 96

/**
 * nvmlProcessInfo_t (v2 layout) and nvmlProcessUtilizationSample_t, as C lays them out. koffi's
 * type names are process-wide, so they are declared once here, not per load.
 */
const ProcessInfo = koffi.struct("nvmlProcessInfo_t", {
  pid: "uint32_t",
  usedGpuMemory: "uint64_t",
  gpuInstanceId: "uint32_t",
  computeInstanceId: "uint32_t"
})
const UtilizationSample = koffi.struct("nvmlProcessUtilizationSample_t", {
  pid: "uint32_t",
  timeStamp: "uint64_t",
  smUtil: "uint32_t",
  memUtil: "uint32_t",
  encUtil: "uint32_t",
  decUtil: "uint32_t"
})
/** Handles are opaque: koffi hands them back as addresses we only pass on. */
const Device = koffi.pointer("nvmlDevice_t", koffi.opaque("nvmlDevice_st"))
const processInfoSize = koffi.sizeof(ProcessInfo)
const utilizationSize = koffi.sizeof(UtilizationSample)
const offset = (type: TypeObject, member: string) => koffi.offsetof(type, member)

/** A parameter's type as koffi takes it (its own `TypeSpec` is not exported). */
type Spec = string | TypeObject | ReturnType<typeof koffi.out>

/** Processes can start between NVML's size query and the fetch; this much slack avoids a retry. */
const SLACK = 8
const SIZE_RETRIES = 3

type Call = (...args: Array<unknown>) => unknown
interface AsyncCall {
  readonly async: (...args: Array<unknown>) => unknown
}

/** A koffi function as the narrow shape we call it through. */
const callable = (fn: unknown): AsyncCall => {
  if (typeof fn === "function" && "async" in fn && typeof fn.async === "function") {
    const run: Call = fn.async.bind(fn)
    return { async: run }
  }
  throw new Error("koffi returned a function without an async form")
}

const isNvmlDevice = (u: unknown): u is NvmlDevice =>
  (typeof u === "bigint" && u !== 0n) || (typeof u === "object" && u !== null)

/** Where the loader found the library: its line in /proc/self/maps, else the name asked for. */
const loadedPath = (soname: string): string => {
  try {
    const base = soname.split("/").pop() ?? soname
    const line = fs.readFileSync("/proc/self/maps", "utf8").split("\n").find((l) => l.endsWith(base))
    const file = line?.split(/\s+/).slice(5).join(" ")
    return file !== undefined && file !== "" ? file : soname
  } catch {
    return soname
  }
}

const decodeText = (buffer: Buffer): string => {
  const end = buffer.indexOf(0)
  return buffer.subarray(0, end < 0 ? buffer.length : end).toString("utf8")
}

export const loadNvml = (soname: string = NVML_SONAME): Effect.Effect<NvmlLibrary, NvmlError> =>
  Effect.try({
    try: () => {
      const lib = koffi.load(soname)
      const fn = (name: string, result: string, args: ReadonlyArray<Spec>) =>
        callable(lib.func(name, result, [...args]))
      const errorString = lib.func("nvmlErrorString", "const char *", ["int"])

      const run = (name: string, f: AsyncCall, ...args: Array<unknown>): Promise<number> =>
        new Promise((resolve, reject) => {
          f.async(...args, (err: unknown, code: unknown) => {
            if (err !== null && err !== undefined) {
              reject(new NvmlError({ call: name, code: NvmlCode.ERROR_UNKNOWN, reason: String(err) }))
            } else if (typeof code !== "number") {
              reject(new NvmlError({ call: name, code: NvmlCode.ERROR_UNKNOWN, reason: `returned ${String(code)}` }))
            } else {
              resolve(code)
            }
          })
        })
      const fail = (name: string, code: number): NvmlError => {
        const text: unknown = errorString(code)
        return new NvmlError({ call: name, code, reason: typeof text === "string" ? text : "unknown error" })
      }
      /** Calls `name` and rejects unless it returned NVML_SUCCESS. */
      const checked = async (name: string, f: AsyncCall, ...args: Array<unknown>): Promise<void> => {
        const code = await run(name, f, ...args)
        if (code !== NvmlCode.SUCCESS) throw fail(name, code)
      }

      const init = fn("nvmlInit_v2", "int", [])
      const shutdown = fn("nvmlShutdown", "int", [])
      const getCount = fn("nvmlDeviceGetCount_v2", "int", [koffi.out("uint32_t *")])
      const getHandle = fn("nvmlDeviceGetHandleByIndex_v2", "int", ["uint32_t", koffi.out(koffi.pointer(Device))])
      const getUuid = fn("nvmlDeviceGetUUID", "int", [Device, "uint8_t *", "uint32_t"])
      const getName = fn("nvmlDeviceGetName", "int", [Device, "uint8_t *", "uint32_t"])
      const getPower = fn("nvmlDeviceGetPowerUsage", "int", [Device, koffi.out("uint32_t *")])
      const getEnergy = fn("nvmlDeviceGetTotalEnergyConsumption", "int", [Device, koffi.out("uint64_t *")])
      const getProcesses = fn("nvmlDeviceGetComputeRunningProcesses_v3", "int", [
        Device,
        koffi.inout("uint32_t *"),
        "uint8_t *"
      ])
      const getUtilization = fn("nvmlDeviceGetProcessUtilization", "int", [
        Device,
        "uint8_t *",
        koffi.inout("uint32_t *"),
        "uint64_t"
      ])
      const getComputeMode = fn("nvmlDeviceGetComputeMode", "int", [Device, koffi.out("int *")])
      const getMigMode = fn("nvmlDeviceGetMigMode", "int", [Device, koffi.out("uint32_t *"), koffi.out("uint32_t *")])
      const getMaxMig = fn("nvmlDeviceGetMaxMigDeviceCount", "int", [Device, koffi.out("uint32_t *")])
      const getMigHandle = fn("nvmlDeviceGetMigDeviceHandleByIndex", "int", [
        Device,
        "uint32_t",
        koffi.out(koffi.pointer(Device))
      ])
      const getInstanceId = fn("nvmlDeviceGetGpuInstanceId", "int", [Device, koffi.out("uint32_t *")])

      const numberOut = async (name: string, f: AsyncCall, ...args: Array<unknown>): Promise<number> => {
        const out: Array<unknown> = [0]
        await checked(name, f, ...args, out)
        const value = out[0]
        return typeof value === "number" ? value : typeof value === "bigint" ? Number(value) : 0
      }
      const handleOut = async (name: string, f: AsyncCall, ...args: Array<unknown>): Promise<NvmlDevice> => {
        const out: Array<unknown> = [null]
        await checked(name, f, ...args, out)
        const handle = out[0]
        if (!isNvmlDevice(handle)) {
          throw new NvmlError({ call: name, code: NvmlCode.ERROR_UNKNOWN, reason: "returned no device handle" })
        }
        return handle
      }
      const text = async (name: string, f: AsyncCall, device: NvmlDevice): Promise<string> => {
        const buffer = Buffer.alloc(TEXT_BUFFER)
        await checked(name, f, device, buffer, TEXT_BUFFER)
        return decodeText(buffer)
      }
      /**
       * NVML's size protocol: ask with room for `guess`; INSUFFICIENT_SIZE puts the needed count in
       * `*count`, so ask again with that (plus slack); a few rounds at most.
       */
      const sized = async <A>(
        name: string,
        call: (buffer: Buffer | null, count: Array<unknown>) => Promise<number>,
        size: number,
        decode: (buffer: Buffer, i: number) => A,
        emptyCodes: ReadonlyArray<number> = []
      ): Promise<ReadonlyArray<A>> => {
        let room = 0
        for (let attempt = 0; attempt <= SIZE_RETRIES; attempt++) {
          const buffer = room > 0 ? Buffer.alloc(room * size) : null
          const count: Array<unknown> = [room]
          const code = await call(buffer, count)
          const n = typeof count[0] === "number" ? count[0] : 0
          if (code === NvmlCode.SUCCESS) {
            if (buffer === null || n === 0) return []
            return Array.from({ length: Math.min(n, room) }, (_, i) => decode(buffer, i))
          }
          if (emptyCodes.includes(code)) return []
          if (code !== NvmlCode.ERROR_INSUFFICIENT_SIZE) throw fail(name, code)
          room = n + SLACK
        }
        throw fail(name, NvmlCode.ERROR_INSUFFICIENT_SIZE)
      }

      const pidAt = offset(ProcessInfo, "pid")
      const memoryAt = offset(ProcessInfo, "usedGpuMemory")
      const instanceAt = offset(ProcessInfo, "gpuInstanceId")
      const computeAt = offset(ProcessInfo, "computeInstanceId")
      const decodeProcess = (b: Buffer, i: number): NvmlProcessInfo => {
        const base = i * processInfoSize
        return {
          pid: b.readUInt32LE(base + pidAt),
          usedGpuMemory: b.readBigUInt64LE(base + memoryAt),
          gpuInstanceId: b.readUInt32LE(base + instanceAt),
          computeInstanceId: b.readUInt32LE(base + computeAt)
        }
      }
      const u = (member: string) => offset(UtilizationSample, member)
      const [uPid, uTime, uSm, uMem, uEnc, uDec] = ["pid", "timeStamp", "smUtil", "memUtil", "encUtil", "decUtil"].map(
        u
      )
      const decodeSample = (b: Buffer, i: number): NvmlUtilizationSample => {
        const base = i * utilizationSize
        return {
          pid: b.readUInt32LE(base + (uPid ?? 0)),
          timeStamp: b.readBigUInt64LE(base + (uTime ?? 0)),
          smUtil: b.readUInt32LE(base + (uSm ?? 0)),
          memUtil: b.readUInt32LE(base + (uMem ?? 0)),
          encUtil: b.readUInt32LE(base + (uEnc ?? 0)),
          decUtil: b.readUInt32LE(base + (uDec ?? 0))
        }
      }

      const library: NvmlLibrary = {
        path: loadedPath(soname),
        init: () => checked("nvmlInit_v2", init),
        shutdown: () => checked("nvmlShutdown", shutdown),
        deviceCount: () => numberOut("nvmlDeviceGetCount_v2", getCount),
        deviceByIndex: (index) => handleOut("nvmlDeviceGetHandleByIndex_v2", getHandle, index),
        uuid: (device) => text("nvmlDeviceGetUUID", getUuid, device),
        name: (device) => text("nvmlDeviceGetName", getName, device),
        powerUsage: (device) => numberOut("nvmlDeviceGetPowerUsage", getPower, device),
        totalEnergyConsumption: async (device) => {
          const out: Array<unknown> = [0n]
          await checked("nvmlDeviceGetTotalEnergyConsumption", getEnergy, device, out)
          const value = out[0]
          return typeof value === "bigint" ? value : BigInt(typeof value === "number" ? value : 0)
        },
        computeRunningProcesses: (device) =>
          sized(
            "nvmlDeviceGetComputeRunningProcesses_v3",
            (buffer, count) => run("nvmlDeviceGetComputeRunningProcesses_v3", getProcesses, device, count, buffer),
            processInfoSize,
            decodeProcess
          ),
        processUtilization: (device, lastSeenMicros) =>
          sized(
            "nvmlDeviceGetProcessUtilization",
            (buffer, count) =>
              run("nvmlDeviceGetProcessUtilization", getUtilization, device, buffer, count, lastSeenMicros),
            utilizationSize,
            decodeSample,
            // NOT_FOUND: no sample newer than lastSeen — an empty answer, not an error.
            [NvmlCode.ERROR_NOT_FOUND]
          ),
        computeMode: (device) => numberOut("nvmlDeviceGetComputeMode", getComputeMode, device),
        migMode: async (device) => {
          const current: Array<unknown> = [0]
          const pending: Array<unknown> = [0]
          await checked("nvmlDeviceGetMigMode", getMigMode, device, current, pending)
          return [Number(current[0] ?? 0), Number(pending[0] ?? 0)] as const
        },
        maxMigDeviceCount: (device) => numberOut("nvmlDeviceGetMaxMigDeviceCount", getMaxMig, device),
        migDeviceByIndex: (device, index) =>
          handleOut("nvmlDeviceGetMigDeviceHandleByIndex", getMigHandle, device, index),
        gpuInstanceId: (device) => numberOut("nvmlDeviceGetGpuInstanceId", getInstanceId, device)
      }
      return library
    },
    catch: (e) =>
      new NvmlError({
        call: `dlopen ${soname}`,
        code: -1,
        reason: e instanceof Error ? e.message : String(e)
      })
  })
