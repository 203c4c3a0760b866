/**
 * The `model` meter: an estimate for machines without energy sensors (VMs, CI runners, ARM
 * boards, non-root containers). One zone, `package`, labelled `estimated` everywhere and with
 * the path `estimated:linear-model`, so nobody mistakes it for a measurement.
 *
 * P = cpuCount × (idle + (busy − idle) × usage), usage from `/proc/stat` between consecutive
 * reads; the zone is a cumulative counter that adds ⌊P × Δt⌋ µJ per read (the first read is
 * the baseline, 0), so the monitor treats it exactly like a RAPL counter that never wraps.
 *
 * Why 0.8 W idle and 3.0 W busy per logical CPU (`cpu.model` defaults): public TDPs divided by
 * hardware threads land around 2–4 W — Xeon Gold 6248 150 W / 40 threads ≈ 3.8 W, Xeon Platinum
 * 8380 270 W / 80 ≈ 3.4 W, EPYC 7763 280 W / 128 ≈ 2.2 W, laptop Core i7-1165G7 28 W / 8 ≈ 3.5 W
 * — and package idle power is commonly a quarter to a third of TDP on servers (less on laptops,
 * more on desktops), i.e. roughly 0.5–1.2 W per thread. 3.0 and 0.8 sit in the middle of those
 * ranges. They are a package-only estimate (no DRAM, no platform) good to a factor of ~2 per
 * machine; an operator who knows the part should set `cpu.model` from its datasheet.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { JoulemonConfig } from "../config/Config.js"
import { cpuDelta, type CpuTimes, readCpuTimes } from "../resource/procStat.js"
import { type CpuPowerMeterShape, MeterUnavailable } from "./CpuPowerMeter.js"
import { energyReading, type EnergyZone, ZoneReadError } from "./EnergyZone.js"
import { makeMeterShape } from "./meterShape.js"

export const MODEL_ZONE_NAME = "package"
export const MODEL_ZONE_PATH = "estimated:linear-model"

export interface LinearModel {
  readonly idleMicrowattsPerCpu: bigint
  readonly busyMicrowattsPerCpu: bigint
}

export const toLinearModel = (config: JoulemonConfig["cpu"]["model"]): LinearModel => ({
  idleMicrowattsPerCpu: BigInt(Math.round(config.idleWattsPerCpu * 1e6)),
  busyMicrowattsPerCpu: BigInt(Math.round(config.busyWattsPerCpu * 1e6))
})

/**
 * ⌊P × Δt⌋ in µJ, computed as one exact fraction:
 * cpuCount × (idle × total + (busy − idle) × active) × Δns / (total × 10⁹).
 * No ticks elapsed means usage 0 (cpuDelta's rule), i.e. idle power.
 */
export const modelEnergyDelta = (
  model: LinearModel,
  cpuCount: number,
  activeTicks: number,
  totalTicks: number,
  elapsedNanos: bigint
): bigint => {
  if (elapsedNanos <= 0n) return 0n
  const cpus = BigInt(Math.trunc(cpuCount))
  const total = BigInt(Math.trunc(totalTicks))
  const active = BigInt(Math.trunc(activeTicks))
  const idle = model.idleMicrowattsPerCpu
  const busy = model.busyMicrowattsPerCpu
  const [microwattTicks, ticks] = total === 0n ? [idle, 1n] : [idle * total + (busy - idle) * active, total]
  const energy = (cpus * microwattTicks * elapsedNanos) / (ticks * 1_000_000_000n)
  return energy < 0n ? 0n : energy
}

export interface ModelState {
  readonly times: CpuTimes
  readonly atNanos: bigint
  /** Cumulative µJ since the first read. */
  readonly energy: bigint
}

/** One read: the first is the baseline; every later one adds the interval's estimate. */
export const modelStep = (
  model: LinearModel,
  previous: ModelState | undefined,
  times: CpuTimes,
  nowNanos: bigint
): ModelState => {
  if (previous === undefined) return { times, atNanos: nowNanos, energy: 0n }
  const usage = cpuDelta(previous.times, times)
  const added = modelEnergyDelta(
    model,
    times.cpuCount,
    usage.activeTicks,
    usage.totalTicks,
    nowNanos - previous.atNanos
  )
  return { times, atNanos: nowNanos, energy: previous.energy + added }
}

const checkWatts = (key: string, watts: number): Effect.Effect<void, MeterUnavailable> =>
  Number.isFinite(watts) && watts >= 0
    ? Effect.void
    : Effect.fail(new MeterUnavailable({ meter: "model", reason: `${key} must be a finite number ≥ 0, got ${watts}` }))

export const makeModelMeter: (
  procfs: string,
  modelConfig: JoulemonConfig["cpu"]["model"]
) => Effect.Effect<CpuPowerMeterShape, MeterUnavailable> = Effect.fn("ModelMeter.make")(function*(
  procfs: string,
  modelConfig: JoulemonConfig["cpu"]["model"]
) {
  yield* checkWatts("cpu.model.idleWattsPerCpu", modelConfig.idleWattsPerCpu)
  yield* checkWatts("cpu.model.busyWattsPerCpu", modelConfig.busyWattsPerCpu)
  // Fail at startup, not on the first refresh, when /proc/stat is unreadable.
  yield* readCpuTimes(procfs).pipe(
    Effect.mapError((e) => new MeterUnavailable({ meter: "model", reason: e.message }))
  )

  const model = toLinearModel(modelConfig)
  const state = yield* Ref.make<ModelState | undefined>(undefined)
  // Serialised: overlapping reads could commit out of order, pairing one read's ticks with
  // another's clock and booking an interval twice or not at all.
  const lock = yield* Effect.makeSemaphore(1)

  const read = Effect.gen(function*() {
    const times = yield* readCpuTimes(procfs).pipe(
      Effect.mapError((e) => new ZoneReadError({ zone: MODEL_ZONE_NAME, path: MODEL_ZONE_PATH, reason: e.message }))
    )
    const now = yield* Clock.currentTimeNanos
    return yield* Ref.modify(state, (previous) => {
      const next = modelStep(model, previous, times, now)
      return [energyReading(next.energy), next] as const
    })
  }).pipe(lock.withPermits(1))

  const zone: EnergyZone = {
    name: MODEL_ZONE_NAME,
    index: 0,
    path: MODEL_ZONE_PATH,
    maxEnergy: 0n,
    estimated: true,
    read
  }
  return yield* makeMeterShape("model", [zone])
})
