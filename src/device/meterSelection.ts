/**
 * Picks the CPU power meter once at startup (kepler-behaviour.md §3.3): the first backend of
 * `cpu.preferredMeters` that builds and reads. Every skipped backend is logged with its reason
 * and hint, so "why am I on the model?" is answered by the log, and an estimated meter says
 * loudly that it is estimated.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { AppConfig, type JoulemonConfig, type MeterName } from "../config/Config.js"
import { CpuPowerMeter, type CpuPowerMeterShape, MeterUnavailable, NoUsableMeter } from "./CpuPowerMeter.js"
import { makeFakeMeter } from "./fakeMeter.js"
import { makeHwmonMeter } from "./hwmonMeter.js"
import type { MeterSettings } from "./meterSettings.js"
import { makeModelMeter } from "./modelMeter.js"
import { makeRaplMeter } from "./raplSysfsMeter.js"

export { makeFakeMeter } from "./fakeMeter.js"
export { makeHwmonMeter } from "./hwmonMeter.js"
export { makeModelMeter } from "./modelMeter.js"
export { makeRaplMeter } from "./raplSysfsMeter.js"

/** The part of the configuration the meters read: what the collector worker is sent. */
export const meterSettingsFrom = (config: JoulemonConfig): MeterSettings => ({
  sysfs: config.host.sysfs,
  procfs: config.host.procfs,
  raplZones: config.rapl.zones,
  fakeZones: config.dev.fakeCpuMeter.zones,
  model: config.cpu.model,
  hwmonZones: config.experimental.hwmon.zones,
  chipRules: config.experimental.hwmon.chipRules
})

export const buildMeterFrom = (
  name: MeterName,
  settings: MeterSettings
): Effect.Effect<CpuPowerMeterShape, MeterUnavailable> => {
  switch (name) {
    case "rapl":
      return makeRaplMeter(settings.sysfs, settings.raplZones)
    case "fake":
      return makeFakeMeter(settings.fakeZones)
    case "model":
      return makeModelMeter(settings.procfs, settings.model)
    case "hwmon":
      return makeHwmonMeter(settings.sysfs, settings.hwmonZones, settings.chipRules)
  }
}

export const buildMeter = (
  name: MeterName,
  config: JoulemonConfig
): Effect.Effect<CpuPowerMeterShape, MeterUnavailable> => buildMeterFrom(name, meterSettingsFrom(config))

const logChosen = (meter: CpuPowerMeterShape, skipped: ReadonlyArray<MeterUnavailable>, config: JoulemonConfig) =>
  Effect.gen(function*() {
    yield* Effect.logInfo("using cpu power meter").pipe(
      Effect.annotateLogs({ meter: meter.name, zones: meter.zones.map((z) => z.name).join(",") })
    )
    if (meter.estimated) {
      yield* Effect.logWarning("cpu power is ESTIMATED from CPU usage by a linear model, not measured").pipe(
        Effect.annotateLogs({
          meter: meter.name,
          idleWattsPerCpu: config.cpu.model.idleWattsPerCpu,
          busyWattsPerCpu: config.cpu.model.busyWattsPerCpu,
          why: skipped.length === 0
            ? `${meter.name} comes first in cpu.preferredMeters`
            : `no usable sensor: ${skipped.map((f) => f.message).join("; ")}`
        })
      )
    }
    if (meter.name === "fake") {
      yield* Effect.logWarning("cpu power is FAKE: synthetic readings for development, not this machine's").pipe(
        Effect.annotateLogs({ meter: meter.name })
      )
    }
  })

export const selectCpuPowerMeter: (config: JoulemonConfig) => Effect.Effect<CpuPowerMeterShape, NoUsableMeter> = Effect
  .fn("CpuPowerMeter.select")(function*(config: JoulemonConfig) {
    const skipped: Array<MeterUnavailable> = []
    for (const name of config.cpu.preferredMeters) {
      const built = yield* Effect.either(buildMeter(name, config))
      if (Either.isRight(built)) {
        yield* logChosen(built.right, skipped, config)
        return built.right
      }
      skipped.push(built.left)
      yield* Effect.logWarning("skipping cpu power meter").pipe(
        Effect.annotateLogs({
          meter: name,
          reason: built.left.reason,
          ...(built.left.hint === undefined ? {} : { hint: built.left.hint })
        })
      )
    }
    return yield* new NoUsableMeter({ failures: skipped })
  })

export const CpuPowerMeterLive: Layer.Layer<CpuPowerMeter, NoUsableMeter, AppConfig> = Layer.effect(
  CpuPowerMeter,
  Effect.flatMap(AppConfig, selectCpuPowerMeter)
)
