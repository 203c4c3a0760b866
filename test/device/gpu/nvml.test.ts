/**
 * The NVML binding (src/device/gpu/nvml.ts) against the fake libnvidia-ml.so.1, loaded by path in
 * this process and by soname through LD_LIBRARY_PATH in a child: every entry point with its
 * out-parameters through koffi's asynchronous calls, 64-bit energies, NVML's two-step size
 * protocol (with processes appearing between the size query and the fetch), MIG handles, NVML's
 * error codes and strings, a script changed between calls, and a hung driver call that leaves
 * the event loop running.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll } from "vitest"
import { loadNvml } from "../../../src/device/gpu/nvml.js"
import { NvmlCode, type NvmlDevice, NvmlError, type NvmlLibrary } from "../../../src/device/gpu/nvmlApi.js"
import { buildFakeNvml, type FakeGpu, type FakeGpuProcess, writeNvmlScript } from "../../support/fakeNvml.js"

const ROOT = path.resolve(import.meta.dirname, "../../..")

let libDir = ""
let libFile = ""
let work = ""
let script = ""
let nvml: NvmlLibrary

beforeAll(async () => {
  libDir = await buildFakeNvml()
  libFile = path.join(libDir, "libnvidia-ml.so.1")
  work = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-nvml-"))
  script = path.join(work, "nvml.txt")
  // The fake reads the variable on every call, so setting it after the load reaches it too.
  process.env["FAKE_NVML_SCRIPT"] = script
  writeNvmlScript(script, gpus())
  nvml = await Effect.runPromise(loadNvml(libFile))
  await nvml.init()
}, 60_000)

afterAll(async () => {
  await nvml.shutdown()
  delete process.env["FAKE_NVML_SCRIPT"]
  fs.rmSync(work, { recursive: true, force: true })
})

/** Above 2^32 mJ, so a 32-bit read would truncate it; below 2^53, so koffi returns a number. */
const ENERGY_ABOVE_32_BITS = 5_000_000_123n
/** Above 2^53 mJ: koffi returns a BigInt. */
const ENERGY_ABOVE_53_BITS = 2n ** 60n + 7n

/** More processes than the binding's first fetch makes room for after a size query of 0. */
const manyProcesses = (n: number, from = 1000): ReadonlyArray<FakeGpuProcess> =>
  Array.from({ length: n }, (_, i) => ({ pid: from + i, usedMemory: 2 ** 33 + i, smUtil: i % 100 }))

const gpus = (extra: Partial<Record<number, Partial<FakeGpu>>> = {}): ReadonlyArray<FakeGpu> => [
  {
    index: 0,
    uuid: "GPU-aaaa-0000",
    name: "NVIDIA A100-SXM4-80GB",
    powerMw: 250_000,
    energyMj: ENERGY_ABOVE_32_BITS,
    processes: manyProcesses(40),
    ...extra[0]
  },
  {
    index: 1,
    uuid: "GPU-bbbb-1111",
    name: "Tesla T4 — Ünïcode",
    powerMw: 70_000,
    energyMj: ENERGY_ABOVE_53_BITS,
    computeMode: 3,
    energySupported: false,
    utilSupported: false,
    ...extra[1]
  },
  {
    index: 2,
    uuid: "GPU-cccc-2222",
    name: "NVIDIA H100 80GB HBM3",
    powerMw: 400_000,
    energyMj: ENERGY_ABOVE_53_BITS,
    mig: true,
    migInstances: [{ gpuInstance: 9 }, { gpuInstance: 4 }],
    processes: [
      { pid: 31, gpuInstance: 4, computeInstance: 0, smUtil: 10 },
      { pid: 32, gpuInstance: 9, computeInstance: 0, usedMemory: 1 << 20 },
      { pid: 33, gpuInstance: 9, computeInstance: 1 }
    ],
    ...extra[2]
  },
  { index: 3, uuid: "GPU-dddd-3333", name: "Lost", powerMw: 1, energyMj: 1, lost: true, ...extra[3] }
]

/** The NvmlError a call rejects with (and a test failure when it resolves or throws otherwise). */
const rejection = async (call: Promise<unknown>): Promise<NvmlError> => {
  const outcome = await call.then((value) => ({ value }), (error: unknown) => ({ error }))
  if ("value" in outcome) throw new Error(`expected an NvmlError, the call returned ${String(outcome.value)}`)
  if (!(outcome.error instanceof NvmlError)) throw outcome.error
  return outcome.error
}

const device = (index: number): Promise<NvmlDevice> => nvml.deviceByIndex(index)

describe("NVML binding over the fake libnvidia-ml.so.1", () => {
  it("reports the file the loader mapped", () => {
    expect(nvml.path).toBe(fs.realpathSync(libFile))
  })

  it("counts the devices and reads their identity, power and 64-bit energy", async () => {
    writeNvmlScript(script, gpus())
    expect(await nvml.deviceCount()).toBe(4)
    const d0 = await device(0)
    const d1 = await device(1)
    expect(d0).not.toBe(d1)
    // Handles are stable: asking again gives the same one.
    expect(await device(0)).toBe(d0)
    expect(await nvml.uuid(d0)).toBe("GPU-aaaa-0000")
    expect(await nvml.name(d0)).toBe("NVIDIA A100-SXM4-80GB")
    expect(await nvml.name(d1)).toBe("Tesla T4 — Ünïcode")
    expect(await nvml.powerUsage(d0)).toBe(250_000)
    expect(await nvml.powerUsage(d1)).toBe(70_000)
    expect(await nvml.totalEnergyConsumption(d0)).toBe(ENERGY_ABOVE_32_BITS)
    expect(await nvml.totalEnergyConsumption(await device(2))).toBe(ENERGY_ABOVE_53_BITS)
    expect(await nvml.computeMode(d0)).toBe(0)
    expect(await nvml.computeMode(d1)).toBe(3)
  })

  it("rejects with NVML's code, the entry point and nvmlErrorString's text", async () => {
    writeNvmlScript(script, gpus())
    expect(await rejection(nvml.totalEnergyConsumption(await device(1)))).toMatchObject({
      call: "nvmlDeviceGetTotalEnergyConsumption",
      code: NvmlCode.ERROR_NOT_SUPPORTED,
      reason: "Not Supported"
    })
    expect(await rejection(nvml.powerUsage(await device(3)))).toMatchObject({
      call: "nvmlDeviceGetPowerUsage",
      code: NvmlCode.ERROR_GPU_IS_LOST,
      reason: "GPU is lost"
    })
    expect(await rejection(nvml.deviceByIndex(4))).toMatchObject({
      call: "nvmlDeviceGetHandleByIndex_v2",
      code: NvmlCode.ERROR_INVALID_ARGUMENT,
      reason: "Invalid Argument"
    })
    expect(await rejection(nvml.processUtilization(await device(1), 0n))).toMatchObject({
      call: "nvmlDeviceGetProcessUtilization",
      code: NvmlCode.ERROR_NOT_SUPPORTED
    })
  })

  it("fetches more processes than the first guess through NVML's size protocol", async () => {
    writeNvmlScript(script, gpus())
    const processes = await nvml.computeRunningProcesses(await device(0))
    expect(processes).toEqual(
      manyProcesses(40).map((p) => ({
        pid: p.pid,
        usedGpuMemory: BigInt(p.usedMemory ?? 0),
        gpuInstanceId: 0xFFFFFFFF,
        computeInstanceId: 0xFFFFFFFF
      }))
    )
    expect(await nvml.computeRunningProcesses(await device(1))).toEqual([])
  })

  it("asks again when processes appeared between the size query and the fetch", async () => {
    // The fake reads the script before it hangs, so the size query (40 processes) and the fetch
    // (written while the size query hangs: 100) see different scripts; the fetch's room (40 and
    // slack) is too small and only asking again returns all 100.
    writeNvmlScript(script, gpus({ 0: { hangMs: 300 } }))
    const d0 = await device(0)
    const pending = nvml.computeRunningProcesses(d0)
    await new Promise((resolve) => setTimeout(resolve, 100))
    writeNvmlScript(script, gpus({ 0: { hangMs: 300, processes: manyProcesses(100) } }))
    const processes = await pending
    expect(processes.map((p) => p.pid)).toEqual(manyProcesses(100).map((p) => p.pid))
  })

  it("reads utilisation samples, and none since the last one as an empty answer", async () => {
    writeNvmlScript(script, gpus())
    const before = BigInt(Date.now() - 60_000) * 1000n
    const samples = await nvml.processUtilization(await device(0), 0n)
    const after = BigInt(Date.now() + 60_000) * 1000n
    expect(samples.map((s) => [s.pid, s.smUtil, s.memUtil, s.encUtil, s.decUtil])).toEqual(
      manyProcesses(40).map((p) => [p.pid, p.smUtil, 0, 0, 0])
    )
    for (const s of samples) {
      expect(s.timeStamp).toBeGreaterThan(before)
      expect(s.timeStamp).toBeLessThan(after)
    }
    // No process, no sample: NVML answers NOT_FOUND, the binding an empty list.
    writeNvmlScript(script, gpus({ 0: { processes: [] } }))
    expect(await nvml.processUtilization(await device(0), 0n)).toEqual([])
  })

  it("reads MIG mode, MIG device handles, their GPU instances and their processes", async () => {
    writeNvmlScript(script, gpus())
    const full = await device(2)
    expect(await nvml.migMode(full)).toEqual([1, 1])
    expect(await nvml.migMode(await device(0))).toEqual([0, 0])
    expect(await nvml.maxMigDeviceCount(full)).toBe(2)
    expect(await nvml.maxMigDeviceCount(await device(0))).toBe(0)
    const first = await nvml.migDeviceByIndex(full, 0)
    const second = await nvml.migDeviceByIndex(full, 1)
    expect(new Set([full, first, second]).size).toBe(3)
    expect(await nvml.gpuInstanceId(first)).toBe(9)
    expect(await nvml.gpuInstanceId(second)).toBe(4)
    expect(await nvml.computeRunningProcesses(first)).toEqual([
      { pid: 32, usedGpuMemory: 1048576n, gpuInstanceId: 9, computeInstanceId: 0 },
      { pid: 33, usedGpuMemory: 0n, gpuInstanceId: 9, computeInstanceId: 1 }
    ])
    expect((await nvml.computeRunningProcesses(second)).map((p) => p.pid)).toEqual([31])
    expect((await nvml.processUtilization(second, 0n)).map((s) => [s.pid, s.smUtil])).toEqual([[31, 10]])
    // The whole device sees every instance's processes.
    expect((await nvml.computeRunningProcesses(full)).map((p) => p.pid)).toEqual([31, 32, 33])
    expect(await rejection(nvml.migDeviceByIndex(full, 2))).toMatchObject({
      call: "nvmlDeviceGetMigDeviceHandleByIndex",
      code: NvmlCode.ERROR_NOT_FOUND,
      reason: "Not Found"
    })
    expect(await rejection(nvml.gpuInstanceId(full))).toMatchObject({
      call: "nvmlDeviceGetGpuInstanceId",
      code: NvmlCode.ERROR_INVALID_ARGUMENT
    })
  })

  it("serves the new script after it changed between calls", async () => {
    writeNvmlScript(script, gpus())
    const d0 = await device(0)
    expect(await nvml.powerUsage(d0)).toBe(250_000)
    writeNvmlScript(script, gpus({ 0: { powerMw: 123_456, energyMj: ENERGY_ABOVE_32_BITS + 1000n } }))
    expect(await nvml.powerUsage(d0)).toBe(123_456)
    expect(await nvml.totalEnergyConsumption(d0)).toBe(ENERGY_ABOVE_32_BITS + 1000n)
    writeNvmlScript(script, gpus({ 3: { lost: false, powerMw: 42 } }))
    expect(await nvml.powerUsage(await device(3))).toBe(42)
  })

  it("reports nvmlInit_v2's error: the script's, and DRIVER_NOT_LOADED without a script", async () => {
    writeNvmlScript(script, gpus(), { initError: NvmlCode.ERROR_NO_PERMISSION })
    expect(await rejection(nvml.init())).toMatchObject({ call: "nvmlInit_v2", code: NvmlCode.ERROR_NO_PERMISSION })
    process.env["FAKE_NVML_SCRIPT"] = path.join(work, "missing.txt")
    try {
      expect(await rejection(nvml.init())).toMatchObject({
        call: "nvmlInit_v2",
        code: NvmlCode.ERROR_DRIVER_NOT_LOADED,
        reason: "Driver Not Loaded"
      })
    } finally {
      process.env["FAKE_NVML_SCRIPT"] = script
    }
    writeNvmlScript(script, gpus())
    await expect(nvml.init()).resolves.toBeUndefined()
  })

  it("keeps the event loop running while a driver call hangs", async () => {
    writeNvmlScript(script, gpus({ 1: { hangMs: 300 } }))
    const d0 = await device(0)
    const d1 = await device(1)
    let ticks = 0
    const timer = setInterval(() => ticks++, 10)
    try {
      const atStart = ticks
      let ticksWhenHungReturned = -1
      let ticksWhenOtherReturned = -1
      const hung = nvml.powerUsage(d1).then((mw) => {
        ticksWhenHungReturned = ticks
        return mw
      })
      // Another device answers while the first call hangs on its pool thread.
      const other = nvml.powerUsage(d0).then((mw) => {
        ticksWhenOtherReturned = ticks
        return mw
      })
      expect(await Promise.all([hung, other])).toEqual([70_000, 250_000])
      // A call that blocked the loop would let no timer run between its start and its answer.
      expect(ticksWhenHungReturned - atStart).toBeGreaterThan(5)
      expect(ticksWhenOtherReturned).toBeLessThan(ticksWhenHungReturned)
    } finally {
      clearInterval(timer)
    }
  })

  it.effect("fails to load a library that is not there with code -1, naming it", () =>
    Effect.gen(function*() {
      const missing = path.join(work, "nowhere", "libnvidia-ml.so.1")
      const byPath = yield* loadNvml(missing).pipe(Effect.flip)
      expect(byPath).toBeInstanceOf(NvmlError)
      expect(byPath.call).toBe(`dlopen ${missing}`)
      expect(byPath.code).toBe(-1)
      // The loader's own words (koffi leaves the name out of them; `call` carries it).
      expect(byPath.reason).toContain("cannot open shared object file")
      expect(byPath.message).toContain(missing)
      const byName = yield* loadNvml("libnvidia-ml-absent.so.1").pipe(Effect.flip)
      expect(byName).toMatchObject({ call: "dlopen libnvidia-ml-absent.so.1", code: -1 })
      expect(byName.message).toContain("libnvidia-ml-absent.so.1: ")
    }))

  it(
    "loads libnvidia-ml.so.1 by soname through LD_LIBRARY_PATH (in a child: the loader reads it at start)",
    async () => {
      writeNvmlScript(script, gpus())
      const child = `
      const { Effect } = await import("effect")
      const { loadNvml } = await import(${
        JSON.stringify(pathToFileURL(path.join(ROOT, "src/device/gpu/nvml.ts")).href)
      })
      const lib = await Effect.runPromise(loadNvml())
      await lib.init()
      const d = await lib.deviceByIndex(0)
      console.log(JSON.stringify({ path: lib.path, count: await lib.deviceCount(), uuid: await lib.uuid(d) }))
      await lib.shutdown()
    `
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", child],
        { cwd: ROOT, env: { ...process.env, LD_LIBRARY_PATH: libDir, FAKE_NVML_SCRIPT: script } }
      )
      expect(JSON.parse(stdout)).toEqual({ path: fs.realpathSync(libFile), count: 4, uuid: "GPU-aaaa-0000" })
    },
    60_000
  )
})
