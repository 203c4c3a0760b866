/**
 * The NVML meter over the fake NVML library, in process: sharing-mode detection as Kepler's
 * detector does it, the share groups each mode yields, MIG instances, a lost GPU found again, and
 * a driver call that hangs — the reading times out, the event loop keeps running, and the device
 * is not asked again until the hung call returns.
 */
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { GpuSample } from "../../../src/device/gpu/GpuPowerMeter.js"
import { loadNvml } from "../../../src/device/gpu/nvml.js"
import { makeNvmlMeter } from "../../../src/device/gpu/nvmlMeter.js"
import { buildFakeNvml, type FakeGpu, writeNvmlScript } from "../../support/fakeNvml.js"

let dir = ""
let lib = ""
let script = ""

beforeAll(async () => {
  lib = path.join(await buildFakeNvml(), "libnvidia-ml.so.1")
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-nvml-meter-"))
  script = path.join(dir, "nvml.txt")
  // The library reads the variable on every call, so setting it here reaches it.
  process.env["FAKE_NVML_SCRIPT"] = script
}, 60_000)

afterAll(() => {
  delete process.env["FAKE_NVML_SCRIPT"]
  fs.rmSync(dir, { recursive: true, force: true })
})

const devices = (extra: Partial<Record<number, Partial<FakeGpu>>> = {}): ReadonlyArray<FakeGpu> => [
  {
    index: 0,
    uuid: "GPU-ts",
    name: "Time Sliced",
    powerMw: 200_000,
    energyMj: 10n ** 12n,
    processes: [{ pid: 11, smUtil: 60 }, { pid: 12, smUtil: 20 }],
    ...extra[0]
  },
  {
    index: 1,
    uuid: "GPU-ex",
    name: "Exclusive",
    computeMode: 3,
    powerMw: 100_000,
    energyMj: 5,
    energySupported: false,
    processes: [{ pid: 21 }],
    ...extra[1]
  },
  {
    index: 2,
    uuid: "GPU-mig",
    name: "MIG",
    mig: true,
    powerMw: 300_000,
    energyMj: 7,
    migInstances: [{ gpuInstance: 9 }, { gpuInstance: 4 }],
    processes: [{ pid: 31, gpuInstance: 4, smUtil: 10 }, { pid: 32, gpuInstance: 9 }, { pid: 33, gpuInstance: 9 }],
    ...extra[2]
  }
]

const read = (sample: GpuSample | undefined) => {
  if (sample?._tag !== "Read") throw new Error(`expected a reading, got ${JSON.stringify(sample)}`)
  return sample
}

const withMeter = <A>(use: (meter: Effect.Effect.Success<ReturnType<typeof makeNvmlMeter>>) => Effect.Effect<A>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(loadNvml(lib), (nvml) => makeNvmlMeter(nvml, { readTimeout: Duration.millis(200) })).pipe(
        Effect.flatMap(use)
      )
    )
  )

describe("NVML meter over the fake library", () => {
  it("detects each GPU's sharing mode and energy counter, and weighs processes as Kepler's modes do", async () => {
    writeNvmlScript(script, devices())
    await withMeter((meter) =>
      Effect.gen(function*() {
        expect(meter.devices.map((d) => [d.index, d.uuid, d.mode, d.energyCounter])).toEqual([
          [0, "GPU-ts", "time-slicing", true],
          [1, "GPU-ex", "exclusive", false],
          [2, "GPU-mig", "partitioned", true]
        ])
        const [ts, ex, mig] = yield* meter.read
        expect(read(ts).energyMillijoules).toBe(10n ** 12n)
        expect(read(ts).powerMilliwatts).toBe(200_000)
        expect(read(ts).groups).toEqual([
          { gpuInstance: -1, weight: 1, processes: [{ pid: 11, weight: 60 }, { pid: 12, weight: 20 }] }
        ])
        expect(read(ex).energyMillijoules).toBeUndefined()
        expect(read(ex).groups).toEqual([{ gpuInstance: -1, weight: 1, processes: [{ pid: 21, weight: 1 }] }])
        // Without dcgm-exporter: every process on the MIG GPU weighs the same (Kepler's fallback).
        expect(read(mig).groups).toEqual([
          { gpuInstance: 4, weight: 1, processes: [{ pid: 31, weight: 1 }] },
          { gpuInstance: 9, weight: 2, processes: [{ pid: 32, weight: 1 }, { pid: 33, weight: 1 }] }
        ])
        expect(read(mig).computeProcesses).toBe(3)
      })
    )
  })

  it("weighs MIG instances by dcgm-exporter's activity when it answers", async () => {
    writeNvmlScript(script, devices())
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const nvml = yield* loadNvml(lib)
          const meter = yield* makeNvmlMeter(nvml, {
            readTimeout: Duration.millis(200),
            migActivity: Effect.succeed(new Map([["2/4", 0.25], ["2/9", 0.5]]))
          })
          const mig = read((yield* meter.read)[2])
          expect(mig.groups).toEqual([
            { gpuInstance: 4, weight: 250_000, processes: [{ pid: 31, weight: 10 }] },
            { gpuInstance: 9, weight: 500_000, processes: [{ pid: 32, weight: 1 }, { pid: 33, weight: 1 }] }
          ])
        })
      )
    )
  })

  it("reports a lost GPU and reads it again once NVML does", async () => {
    writeNvmlScript(script, devices())
    await withMeter((meter) =>
      Effect.gen(function*() {
        writeNvmlScript(script, devices({ 0: { lost: true } }))
        const lost = (yield* meter.read)[0]
        expect(lost).toEqual({ _tag: "Failed", error: expect.stringContaining("GPU is lost"), lost: true })
        expect(read((yield* meter.read)[1])._tag).toBe("Read")
        writeNvmlScript(script, devices({ 0: { energyMj: 10n ** 12n + 5n } }))
        expect(read((yield* meter.read)[0]).energyMillijoules).toBe(10n ** 12n + 5n)
      })
    )
  })

  it(
    "times out a hung call without blocking the event loop, and does not ask the device again until it returns",
    async () => {
      writeNvmlScript(script, devices())
      await withMeter((meter) =>
        Effect.gen(function*() {
          writeNvmlScript(script, devices({ 1: { hangMs: 700 } }))
          let ticks = 0
          const timer = setInterval(() => ticks++, 10)
          const first = yield* meter.read
          const ticksDuringRead = ticks
          expect(first[1]).toEqual({
            _tag: "Failed",
            error: expect.stringContaining("did not answer within 200 ms"),
            lost: false
          })
          // The other GPUs answered in the same reading.
          expect(read(first[0])._tag).toBe("Read")
          // The loop ran while the driver call hung (a blocking call would have allowed no tick).
          expect(ticksDuringRead).toBeGreaterThan(3)
          const second = yield* meter.read
          expect(second[1]).toEqual({ _tag: "Failed", error: expect.stringContaining("has not returned"), lost: false })
          writeNvmlScript(script, devices())
          yield* Effect.sleep(Duration.millis(800))
          clearInterval(timer)
          expect(read((yield* meter.read)[1]).powerMilliwatts).toBe(100_000)
        })
      )
    },
    20_000
  )

  it("never lets hung calls hold more of libuv's pool than all threads but one", async () => {
    writeNvmlScript(script, devices())
    const hangAll = devices({ 0: { hangMs: 700 }, 1: { hangMs: 700 }, 2: { hangMs: 700 } })
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const nvml = yield* loadNvml(lib)
          // A pool of 3: at most 2 readings in flight, hung or not.
          const meter = yield* makeNvmlMeter(nvml, { readTimeout: Duration.millis(200), poolThreads: 3 })
          writeNvmlScript(script, hangAll)
          const first = yield* meter.read
          const errors = first.map((s) => (s._tag === "Failed" ? s.error : "read"))
          expect(errors.filter((e) => e.includes("did not answer within 200 ms"))).toHaveLength(2)
          expect(errors.filter((e) => e.includes("not asked: 2 NVML call(s)"))).toHaveLength(1)
          expect(errors.find((e) => e.includes("not asked"))).toContain("of libuv's 3 pool threads")
          // Still hung: the two are not asked again, and the third still may not take a thread.
          const second = (yield* meter.read).map((s) => (s._tag === "Failed" ? s.error : "read"))
          expect(second.filter((e) => e.includes("has not returned"))).toHaveLength(2)
          expect(second.filter((e) => e.includes("not asked: 2 NVML call(s)"))).toHaveLength(1)
          writeNvmlScript(script, devices())
          yield* Effect.sleep(Duration.millis(800))
          expect((yield* meter.read).map((s) => s._tag)).toEqual(["Read", "Read", "Read"])
        })
      )
    )
  }, 20_000)

  it("fails to load a library that is not there, naming it", async () => {
    const exit = await Effect.runPromiseExit(loadNvml(path.join(dir, "missing", "libnvidia-ml.so.1")))
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toContain("dlopen")
    expect(JSON.stringify(exit)).toContain("libnvidia-ml.so.1")
  })
})
