import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { AppConfig, type JoulemonConfig, type MeterName } from "../../src/config/Config.js"
import { defaultConfig } from "../../src/config/defaults.js"
import { CpuPowerMeter, NoUsableMeter } from "../../src/device/CpuPowerMeter.js"
import { CpuPowerMeterLive, selectCpuPowerMeter } from "../../src/device/meterSelection.js"
import { withLogs as recordLogs } from "../support/logs.js"

const fixtures = fileURLToPath(new URL("../fixtures/device/", import.meta.url))
const raplSysfs = path.join(fixtures, "sys")
const noRaplSysfs = path.join(fixtures, "bad_sysfs")
const procfs = path.join(fixtures, "proc")

const config = (preferredMeters: ReadonlyArray<MeterName>, sysfs: string): JoulemonConfig => ({
  ...defaultConfig,
  host: { sysfs, procfs },
  cpu: { ...defaultConfig.cpu, preferredMeters }
})

/** Runs `effect` recording every log line; returns its outcome (as an Either) and the lines. */
const withLogs = <A, E>(effect: Effect.Effect<A, E>) => recordLogs(Effect.either(effect))

const viaLayer = (cfg: JoulemonConfig) =>
  Effect.provide(CpuPowerMeter, CpuPowerMeterLive.pipe(Layer.provide(Layer.succeed(AppConfig, cfg))))

describe("CpuPowerMeterLive", () => {
  it.effect("honours the preferred order: fake before a working rapl gives fake", () =>
    Effect.gen(function*() {
      const meter = yield* viaLayer(config(["fake", "rapl"], raplSysfs))
      expect(meter.name).toBe("fake")
    }))

  it.effect("honours the preferred order: rapl before fake gives rapl", () =>
    Effect.gen(function*() {
      const [outcome, lines] = yield* withLogs(viaLayer(config(["rapl", "fake"], raplSysfs)))
      expect(Either.getOrThrow(outcome).name).toBe("rapl")
      expect(lines).toEqual([
        { level: "INFO", message: "using cpu power meter", annotations: { meter: "rapl", zones: "core,package" } }
      ])
    }))

  it.effect("skips failing meters with one warning each and takes the next", () =>
    Effect.gen(function*() {
      const [outcome, lines] = yield* withLogs(viaLayer(config(["hwmon", "rapl", "fake"], noRaplSysfs)))
      expect(Either.getOrThrow(outcome).name).toBe("fake")
      expect(lines.map((l) => [l.level, l.message, l.annotations["meter"]])).toEqual([
        ["WARN", "skipping cpu power meter", "hwmon"],
        ["WARN", "skipping cpu power meter", "rapl"],
        ["INFO", "using cpu power meter", "fake"],
        ["WARN", "cpu power is FAKE: synthetic readings for development, not this machine's", "fake"]
      ])
      expect(lines[0]?.annotations["reason"]).toBe(
        `no hwmon devices: cannot read ${path.join(noRaplSysfs, "class", "hwmon")}: ENOENT (no such file)`
      )
      expect(lines[1]?.annotations["reason"]).toBe(
        `no RAPL zones found under ${path.join(noRaplSysfs, "class", "powercap")}`
      )
      expect(lines[1]?.annotations["hint"]).toEqual(expect.stringContaining("no powercap RAPL on this machine"))
    }))

  it.effect("falls back to the model on a machine without powercap, and says it is estimated", () =>
    Effect.gen(function*() {
      const [outcome, lines] = yield* withLogs(viaLayer(config(defaultConfig.cpu.preferredMeters, noRaplSysfs)))
      const meter = Either.getOrThrow(outcome)
      expect(meter.name).toBe("model")
      expect(meter.estimated).toBe(true)
      expect(lines.map((l) => [l.level, l.message, l.annotations["meter"]])).toEqual([
        ["WARN", "skipping cpu power meter", "rapl"],
        ["WARN", "skipping cpu power meter", "hwmon"],
        ["INFO", "using cpu power meter", "model"],
        ["WARN", "cpu power is ESTIMATED from CPU usage by a linear model, not measured", "model"]
      ])
      expect(lines[2]?.annotations).toEqual({ meter: "model", zones: "package" })
      expect(lines[3]?.annotations).toMatchObject({ meter: "model", idleWattsPerCpu: 0.8, busyWattsPerCpu: 3 })
      expect(lines[3]?.annotations["why"]).toBe(
        `no usable sensor: cpu meter "rapl": no RAPL zones found under ${path.join(noRaplSysfs, "class", "powercap")}` +
          ` (${String(lines[0]?.annotations["hint"])})` +
          `; cpu meter "hwmon": no hwmon devices: cannot read ${
            path.join(noRaplSysfs, "class", "hwmon")
          }: ENOENT (no such file)` +
          ` (${String(lines[1]?.annotations["hint"])})`
      )
    }))

  it.effect("a model chosen first says so", () =>
    Effect.gen(function*() {
      const [, lines] = yield* withLogs(viaLayer(config(["model"], raplSysfs)))
      expect(lines[1]?.annotations["why"]).toBe("model comes first in cpu.preferredMeters")
    }))

  it.effect("fails with every reason when no meter works", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(viaLayer(config(["hwmon", "rapl"], noRaplSysfs)))
      expect(error).toBeInstanceOf(NoUsableMeter)
      expect(error.failures.map((f) => f.meter)).toEqual(["hwmon", "rapl"])
      expect(error.message).toContain("cpu meter \"hwmon\": no hwmon devices: cannot read")
      expect(error.message).toContain("cpu meter \"rapl\": no RAPL zones found under")
      expect(error.message).toMatch(
        /add `model` at the end of cpu.preferredMeters to run with estimated power instead$/
      )
    }))

  it.effect("fails on an empty preferred list", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(selectCpuPowerMeter(config([], raplSysfs)))
      expect(error.failures).toEqual([])
      expect(error.message).toBe("failed to create CPU power meter: cpu.preferredMeters is empty")
    }))

  it.effect("passes rapl.zones and dev.fake-cpu-meter.zones to the meters", () =>
    Effect.gen(function*() {
      const rapl = yield* selectCpuPowerMeter({ ...config(["rapl"], raplSysfs), rapl: { zones: ["core"] } })
      expect(rapl.zones.map((z) => z.name)).toEqual(["core"])
      const fake = yield* selectCpuPowerMeter({
        ...config(["fake"], raplSysfs),
        dev: { fakeCpuMeter: { enabled: false, zones: ["psys"] } }
      })
      expect(fake.zones.map((z) => z.name)).toEqual(["psys"])
    }))
})
