/**
 * `experimental.gpu.meter: fake`: two invented GPUs for developing dashboards and exporters on a
 * machine without one. GPU 0 is time-sliced and runs joulemon itself as its compute process, so
 * process, container and pod GPU series appear; GPU 1 is exclusive and idle. Power follows a slow
 * wave and the energy counter is its exact integral, so the numbers move like a real device's.
 */
import * as Effect from "effect/Effect"
import type { GpuDeviceInfo, GpuPowerMeterShape, GpuSample } from "./GpuPowerMeter.js"

const devices: ReadonlyArray<GpuDeviceInfo> = [
  {
    index: 0,
    uuid: "GPU-fake-0000",
    name: "joulemon fake GPU",
    vendor: "nvidia",
    mode: "time-slicing",
    energyCounter: true
  },
  {
    index: 1,
    uuid: "GPU-fake-0001",
    name: "joulemon fake GPU",
    vendor: "nvidia",
    mode: "exclusive",
    energyCounter: true
  }
]

/** Idle and peak board power, W. */
const IDLE_WATTS = [60, 45] as const
const PEAK_WATTS = [300, 45] as const
/** One full wave, s. */
const PERIOD_SECONDS = 120

/** mJ since `startNanos`: ∫ idle + (peak − idle)(1 − cos 2πt/T)/2 dt. */
const energyAt = (device: number, seconds: number): bigint => {
  const idle = IDLE_WATTS[device] ?? 0
  const swing = (PEAK_WATTS[device] ?? 0) - idle
  const joules = idle * seconds +
    (swing / 2) * (seconds - (PERIOD_SECONDS / (2 * Math.PI)) * Math.sin((2 * Math.PI * seconds) / PERIOD_SECONDS))
  return BigInt(Math.floor(joules * 1000))
}

const powerAt = (device: number, seconds: number): number => {
  const idle = IDLE_WATTS[device] ?? 0
  const swing = (PEAK_WATTS[device] ?? 0) - idle
  return Math.round((idle + (swing * (1 - Math.cos((2 * Math.PI * seconds) / PERIOD_SECONDS))) / 2) * 1000)
}

export const makeFakeGpuMeter = (pid: number) =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const startNanos = clock.unsafeCurrentTimeNanos()
    const read = Effect.sync((): ReadonlyArray<GpuSample> => {
      const atNanos = clock.unsafeCurrentTimeNanos()
      const seconds = Number(atNanos - startNanos) / 1e9
      return devices.map((d): GpuSample => ({
        _tag: "Read",
        atNanos,
        powerMilliwatts: powerAt(d.index, seconds),
        energyMillijoules: energyAt(d.index, seconds),
        computeProcesses: d.index === 0 ? 1 : 0,
        groups: d.index === 0 ? [{ gpuInstance: -1, weight: 1, processes: [{ pid, weight: 1 }] }] : []
      }))
    })
    const meter: GpuPowerMeterShape = { name: "fake", devices, read }
    return meter
  })
