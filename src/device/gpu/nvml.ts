/**
 * The only module that touches NVIDIA's `libnvidia-ml.so.1`. It exists so that everything FFI —
 * the loader, C prototypes, struct layouts, NVML's buffer-size protocol — stays in one place and
 * the GPU meter (nvmlMeter.ts) works with plain values over `NvmlLibrary` (nvmlApi.ts), testable
 * against the fake library in test/support/fakeNvml.
 *
 * The library is loaded by soname through the dynamic loader's normal search, so LD_LIBRARY_PATH,
 * ld.so.cache and a driver library mounted into a container all work as they do for nvidia-smi.
 * The entry points are NVIDIA's real versioned symbols (nvml.h), the ones Kepler calls.
 *
 * Every call is koffi's asynchronous form, run on libuv's thread pool: a driver call that hangs (a
 * GPU fallen off the bus) must not block the event loop that serves /healthz (issue 11's rule,
 * applied to the GPU). A hung call still holds one pool thread until it returns, which is why the
 * meter never asks a device again while its previous call is pending.
 */
import * as Effect from "effect/Effect"
import type { LibraryHandle, TypeObject } from "koffi"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  NvmlCode,
  type NvmlDevice,
  NvmlError,
  type NvmlLibrary,
  type NvmlProcessInfo,
  type NvmlUtilizationSample
} from "./nvmlApi.js"

export const NVML_SONAME = "libnvidia-ml.so.1"

/** nvml.h: NVML_DEVICE_UUID_V2_BUFFER_SIZE and NVML_DEVICE_NAME_V2_BUFFER_SIZE (both 96). */
const TEXT_BUFFER = 96

/** Processes can start between NVML's size query and the fetch; this much slack avoids a retry. */
const SLACK = 8
/** Fetches after the first that may still find the buffer too small before we give up. */
const SIZE_RETRIES = 3
/**
 * Room of the first fetch, in entries (384 B of processes, 512 B of samples): enough for nearly
 * every GPU, so one call answers where a NULL-buffer size query would need two. Each NVML call is
 * a round trip through libuv's pool whose completion costs the main thread ~40 µs, and a refresh
 * makes four to six per GPU: halving the process and utilisation calls is most of the 8-GPU budget.
 */
const FIRST_ROOM = 16

/** koffi's module object (its default export). */
type Koffi = typeof import("koffi").default

/** The named types the prototypes below refer to, and the two struct layouts we decode. */
interface Types {
  readonly processInfo: TypeObject
  readonly utilizationSample: TypeObject
}

/**
 * koffi's type names are process-wide and declaring one twice throws, so each is declared once per
 * process, and reused when this module is evaluated again in the same process (a test runner that
 * resets its module registry).
 */
const declareTypes = (koffi: Koffi): Types => {
  const declared = (name: string, make: () => TypeObject): TypeObject => {
    try {
      return koffi.type(name)
    } catch {
      return make()
    }
  }
  declared("nvmlReturn_t", () => koffi.alias("nvmlReturn_t", "int"))
  declared("nvmlComputeMode_t", () => koffi.alias("nvmlComputeMode_t", "int"))
  // Opaque: koffi hands handles back as addresses (BigInt), which we only pass on.
  declared("nvmlDevice_t", () => koffi.pointer("nvmlDevice_t", koffi.opaque("nvmlDevice_st")))
  return {
    // nvml.h's nvmlProcessInfo_v2_t, which nvmlDeviceGetComputeRunningProcesses_v3 fills.
    processInfo: declared("nvmlProcessInfo_t", () =>
      koffi.struct("nvmlProcessInfo_t", {
        pid: "unsigned int",
        usedGpuMemory: "unsigned long long",
        gpuInstanceId: "unsigned int",
        computeInstanceId: "unsigned int"
      })),
    utilizationSample: declared("nvmlProcessUtilizationSample_t", () =>
      koffi.struct("nvmlProcessUtilizationSample_t", {
        pid: "unsigned int",
        timeStamp: "unsigned long long",
        smUtil: "unsigned int",
        memUtil: "unsigned int",
        encUtil: "unsigned int",
        decUtil: "unsigned int"
      }))
  }
}

/**
 * The C declarations, as nvml.h writes them. `_Out_`/`_Inout_` scalars are passed as one-element
 * arrays: koffi copies them into its own memory for the worker thread and back into the array
 * when the call completes. Text and struct arrays are passed as Buffers instead: koffi hands the
 * C function the Buffer's own memory (no copy, no size limit from koffi's async heap) and keeps no
 * reference to it, so the caller holds the Buffer until the call has completed and been decoded.
 */
const PROTOTYPES = {
  init: "nvmlReturn_t nvmlInit_v2(void)",
  shutdown: "nvmlReturn_t nvmlShutdown(void)",
  count: "nvmlReturn_t nvmlDeviceGetCount_v2(_Out_ unsigned int *deviceCount)",
  handle: "nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ nvmlDevice_t *device)",
  uuid: "nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, _Out_ char *uuid, unsigned int length)",
  name: "nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, _Out_ char *name, unsigned int length)",
  power: "nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, _Out_ unsigned int *power)",
  energy: "nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, _Out_ unsigned long long *energy)",
  processes: "nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, " +
    "_Inout_ unsigned int *infoCount, _Out_ nvmlProcessInfo_t *infos)",
  utilization: "nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device, " +
    "_Out_ nvmlProcessUtilizationSample_t *utilization, _Inout_ unsigned int *processSamplesCount, " +
    "unsigned long long lastSeenTimeStamp)",
  computeMode: "nvmlReturn_t nvmlDeviceGetComputeMode(nvmlDevice_t device, _Out_ nvmlComputeMode_t *mode)",
  migMode: "nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, " +
    "_Out_ unsigned int *currentMode, _Out_ unsigned int *pendingMode)",
  maxMig: "nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, _Out_ unsigned int *count)",
  migHandle: "nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, " +
    "_Out_ nvmlDevice_t *migDevice)",
  instanceId: "nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, _Out_ unsigned int *id)"
} as const

/** One C entry point: its symbol, called asynchronously; resolves to the nvmlReturn_t. */
interface Entry {
  readonly symbol: string
  readonly call: (...args: ReadonlyArray<unknown>) => Promise<number>
}

const symbolOf = (prototype: string): string => /(\w+)\(/.exec(prototype)?.[1] ?? prototype

const declare = (lib: LibraryHandle, prototype: string): Entry => {
  const symbol = symbolOf(prototype)
  const fn = lib.func(prototype)
  const call = (...args: ReadonlyArray<unknown>) =>
    new Promise<number>((resolve, reject) => {
      fn.async(...args, (err: unknown, code: unknown) => {
        if (err !== null && err !== undefined) {
          reject(new NvmlError({ call: symbol, code: NvmlCode.ERROR_UNKNOWN, reason: String(err) }))
        } else if (typeof code !== "number") {
          reject(new NvmlError({ call: symbol, code: NvmlCode.ERROR_UNKNOWN, reason: `returned ${String(code)}` }))
        } else {
          resolve(code)
        }
      })
    })
  return { symbol, call }
}

const isDevice = (u: unknown): u is NvmlDevice => typeof u === "bigint" && u !== 0n

/**
 * Where the loader found the library: the path of its mapping in /proc/self/maps (the file a
 * path argument resolves to, else the first file with the soname's base name), else the name.
 */
const loadedPath = (soname: string): string => {
  try {
    const files = fs.readFileSync("/proc/self/maps", "utf8").split("\n").map((line) =>
      line.split(/\s+/).slice(5).join(" ")
    )
    const wanted = soname.includes("/") ? fs.realpathSync(soname) : undefined
    const found = files.find((f) => f === wanted) ??
      files.find((f) => f.startsWith("/") && path.basename(f) === path.basename(soname))
    return found ?? soname
  } catch {
    return soname
  }
}

/** NVML writes NUL-terminated UTF-8 into the fixed-size buffer. */
const decodeText = (buffer: Buffer): string => {
  const end = buffer.indexOf(0)
  return buffer.subarray(0, end < 0 ? buffer.length : end).toString("utf8")
}

/** Reads a struct array member by member at koffi's offsets, so the layout is koffi's, not ours. */
const processDecoder = (koffi: Koffi, type: TypeObject) => {
  const size = koffi.sizeof(type)
  const [pid, memory, gpuInstance, computeInstance] = ["pid", "usedGpuMemory", "gpuInstanceId", "computeInstanceId"]
    .map((m) => koffi.offsetof(type, m))
  return {
    size,
    decode: (b: Buffer, i: number): NvmlProcessInfo => {
      const base = i * size
      return {
        pid: b.readUInt32LE(base + (pid ?? 0)),
        usedGpuMemory: b.readBigUInt64LE(base + (memory ?? 0)),
        gpuInstanceId: b.readUInt32LE(base + (gpuInstance ?? 0)),
        computeInstanceId: b.readUInt32LE(base + (computeInstance ?? 0))
      }
    }
  }
}

const sampleDecoder = (koffi: Koffi, type: TypeObject) => {
  const size = koffi.sizeof(type)
  const [pid, time, sm, mem, enc, dec] = ["pid", "timeStamp", "smUtil", "memUtil", "encUtil", "decUtil"]
    .map((m) => koffi.offsetof(type, m))
  return {
    size,
    decode: (b: Buffer, i: number): NvmlUtilizationSample => {
      const base = i * size
      return {
        pid: b.readUInt32LE(base + (pid ?? 0)),
        timeStamp: b.readBigUInt64LE(base + (time ?? 0)),
        smUtil: b.readUInt32LE(base + (sm ?? 0)),
        memUtil: b.readUInt32LE(base + (mem ?? 0)),
        encUtil: b.readUInt32LE(base + (enc ?? 0)),
        decUtil: b.readUInt32LE(base + (dec ?? 0))
      }
    }
  }
}

/** The library's entry points, declared; a missing symbol (an older driver) fails the load. */
const bind = (koffi: Koffi, types: Types, lib: LibraryHandle, soname: string): NvmlLibrary => {
  const errorString = lib.func("const char *nvmlErrorString(nvmlReturn_t result)")
  const c = {
    init: declare(lib, PROTOTYPES.init),
    shutdown: declare(lib, PROTOTYPES.shutdown),
    count: declare(lib, PROTOTYPES.count),
    handle: declare(lib, PROTOTYPES.handle),
    uuid: declare(lib, PROTOTYPES.uuid),
    name: declare(lib, PROTOTYPES.name),
    power: declare(lib, PROTOTYPES.power),
    energy: declare(lib, PROTOTYPES.energy),
    processes: declare(lib, PROTOTYPES.processes),
    utilization: declare(lib, PROTOTYPES.utilization),
    computeMode: declare(lib, PROTOTYPES.computeMode),
    migMode: declare(lib, PROTOTYPES.migMode),
    maxMig: declare(lib, PROTOTYPES.maxMig),
    migHandle: declare(lib, PROTOTYPES.migHandle),
    instanceId: declare(lib, PROTOTYPES.instanceId)
  }

  // nvmlErrorString is a lookup in a static table that takes no lock, so it is called
  // synchronously: it cannot hang the way a device query can.
  const fail = (symbol: string, code: number): NvmlError => {
    const text: unknown = errorString(code)
    return new NvmlError({ call: symbol, code, reason: typeof text === "string" ? text : `NVML error ${code}` })
  }
  const odd = (symbol: string, what: string, value: unknown): NvmlError =>
    new NvmlError({ call: symbol, code: NvmlCode.ERROR_UNKNOWN, reason: `${what} came back as ${String(value)}` })

  /** Calls the entry point and rejects unless it returned NVML_SUCCESS. */
  const checked = async (entry: Entry, ...args: ReadonlyArray<unknown>): Promise<void> => {
    const code = await entry.call(...args)
    if (code !== NvmlCode.SUCCESS) throw fail(entry.symbol, code)
  }
  const unsigned = (entry: Entry, value: unknown): number => {
    if (typeof value === "number") return value
    throw odd(entry.symbol, "an unsigned int", value)
  }
  /** The value of an `_Out_ unsigned int *` (or enum) argument, the entry point's last. */
  const numberOut = async (entry: Entry, ...args: ReadonlyArray<unknown>): Promise<number> => {
    const out: Array<unknown> = [0]
    await checked(entry, ...args, out)
    return unsigned(entry, out[0])
  }
  const deviceOut = async (entry: Entry, ...args: ReadonlyArray<unknown>): Promise<NvmlDevice> => {
    const out: Array<unknown> = [null]
    await checked(entry, ...args, out)
    const handle = out[0]
    if (!isDevice(handle)) throw odd(entry.symbol, "the device handle", handle)
    return handle
  }
  const textOut = async (entry: Entry, device: NvmlDevice): Promise<string> => {
    const buffer = Buffer.alloc(TEXT_BUFFER)
    await checked(entry, device, buffer, TEXT_BUFFER)
    return decodeText(buffer)
  }

  /**
   * NVML's size protocol: ask with room for FIRST_ROOM entries; INSUFFICIENT_SIZE puts the
   * needed count in `*count`, so fetch again with that much room plus slack; if processes appeared
   * in between and it is still too small, grow and fetch again, a bounded number of times.
   * `emptyCodes` are codes that mean "nothing to report".
   */
  const sized = async <A>(
    entry: Entry,
    call: (buffer: Buffer, count: Array<unknown>) => Promise<number>,
    layout: { readonly size: number; readonly decode: (buffer: Buffer, i: number) => A },
    emptyCodes: ReadonlyArray<number> = []
  ): Promise<ReadonlyArray<A>> => {
    let room = FIRST_ROOM
    for (let round = 0; round <= 1 + SIZE_RETRIES; round++) {
      const buffer = Buffer.alloc(room * layout.size)
      const count: Array<unknown> = [room]
      const code = await call(buffer, count)
      if (emptyCodes.includes(code)) return []
      if (code !== NvmlCode.SUCCESS && code !== NvmlCode.ERROR_INSUFFICIENT_SIZE) throw fail(entry.symbol, code)
      const n = unsigned(entry, count[0])
      if (code === NvmlCode.SUCCESS && n <= room) {
        return Array.from({ length: n }, (_, i) => layout.decode(buffer, i))
      }
      room = n + SLACK
    }
    throw fail(entry.symbol, NvmlCode.ERROR_INSUFFICIENT_SIZE)
  }
  const processes = processDecoder(koffi, types.processInfo)
  const samples = sampleDecoder(koffi, types.utilizationSample)

  return {
    path: loadedPath(soname),
    init: () => checked(c.init),
    shutdown: () => checked(c.shutdown),
    deviceCount: () => numberOut(c.count),
    deviceByIndex: (index) => deviceOut(c.handle, index),
    uuid: (device) => textOut(c.uuid, device),
    name: (device) => textOut(c.name, device),
    powerUsage: (device) => numberOut(c.power, device),
    totalEnergyConsumption: async (device) => {
      const out: Array<unknown> = [0]
      await checked(c.energy, device, out)
      // koffi returns 64-bit integers as numbers while they are exact, as BigInt beyond 2^53.
      const value = out[0]
      if (typeof value === "bigint") return value
      if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value)
      throw odd(c.energy.symbol, "the energy", value)
    },
    computeRunningProcesses: (device) =>
      sized(c.processes, (buffer, count) => c.processes.call(device, count, buffer), processes),
    processUtilization: (device, lastSeenMicros) =>
      sized(
        c.utilization,
        (buffer, count) => c.utilization.call(device, buffer, count, lastSeenMicros),
        samples,
        // NOT_FOUND: no sample newer than lastSeen — an empty answer, not an error.
        [NvmlCode.ERROR_NOT_FOUND]
      ),
    computeMode: (device) => numberOut(c.computeMode, device),
    migMode: async (device) => {
      const current: Array<unknown> = [0]
      const pending: Array<unknown> = [0]
      await checked(c.migMode, device, current, pending)
      return [unsigned(c.migMode, current[0]), unsigned(c.migMode, pending[0])] as const
    },
    maxMigDeviceCount: (device) => numberOut(c.maxMig, device),
    migDeviceByIndex: (device, index) => deviceOut(c.migHandle, device, index),
    gpuInstanceId: (device) => numberOut(c.instanceId, device)
  }
}

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * koffi and its native module, imported on first use and not at startup: a joulemon without GPUs
 * never maps native FFI code, and a platform without koffi's prebuilt binary fails only here.
 * Node caches the import, and declareTypes finds the types an earlier load declared, so loading
 * again (tests, a reload) needs no cache of ours.
 */
const koffiModule = Effect.tryPromise({
  try: () => import("koffi").then(({ default: koffi }) => ({ koffi, types: declareTypes(koffi) })),
  catch: (e) => new NvmlError({ call: "import koffi", code: -1, reason: reasonOf(e) })
})

/**
 * Loads NVML (by default `libnvidia-ml.so.1` through the loader's search) and declares its entry
 * points; fails with code -1 when koffi or the library cannot be loaded, or the library lacks one
 * of them. Does not call nvmlInit_v2: that is the caller's, as is nvmlShutdown.
 */
export const loadNvml = (soname: string = NVML_SONAME): Effect.Effect<NvmlLibrary, NvmlError> =>
  Effect.gen(function*() {
    const { koffi, types } = yield* koffiModule
    const lib = yield* Effect.try({
      try: () => koffi.load(soname),
      catch: (e) => new NvmlError({ call: `dlopen ${soname}`, code: -1, reason: reasonOf(e) })
    })
    return yield* Effect.try({
      try: () => bind(koffi, types, lib, soname),
      catch: (e) => {
        try {
          lib.unload()
        } catch {
          // Nothing to add to the first error.
        }
        return new NvmlError({ call: `dlsym ${soname}`, code: -1, reason: reasonOf(e) })
      }
    })
  })
