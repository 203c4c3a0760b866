import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, TestClock } from "effect"
import * as path from "node:path"
import { energyReading } from "../../src/device/EnergyZone.js"
import {
  makeModelMeter,
  MODEL_ZONE_PATH,
  modelEnergyDelta,
  modelStep,
  toLinearModel
} from "../../src/device/modelMeter.js"
import { makeTree, procStatText, writeTree } from "./tempTree.js"

const defaults = { idleWattsPerCpu: 0.8, busyWattsPerCpu: 3.0 }

/** A procfs whose stat can be rewritten between reads. */
const procfs = (activeTicks: number, idleTicks: number, cpus: number) =>
  makeTree({ stat: procStatText(activeTicks, idleTicks, cpus) })

const setStat = (root: string, activeTicks: number, idleTicks: number, cpus: number) =>
  writeTree(root, { stat: procStatText(activeTicks, idleTicks, cpus) })

describe("modelEnergyDelta", () => {
  const model = toLinearModel(defaults)

  it("turns watts into exact microwatts", () => {
    expect(model).toEqual({ idleMicrowattsPerCpu: 800_000n, busyMicrowattsPerCpu: 3_000_000n })
  })

  it("floors the exact product: 1 CPU at usage 1/3 for 1 s is ⌊1 533 333.3⌋ µJ", () => {
    expect(modelEnergyDelta(model, 1, 100, 300, 1_000_000_000n)).toBe(1_533_333n)
  })

  it("with no ticks elapsed books idle power, and with no time elapsed nothing", () => {
    expect(modelEnergyDelta(model, 2, 0, 0, 1_000_000_000n)).toBe(1_600_000n)
    expect(modelEnergyDelta(model, 2, 5, 10, 0n)).toBe(0n)
    expect(modelEnergyDelta(model, 2, 5, 10, -5n)).toBe(0n)
  })

  it("stays within 1 µJ of P × Δt in floating point", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 512 }),
        FastCheck.integer({ min: 0, max: 1_000_000 }),
        FastCheck.integer({ min: 1, max: 1_000_000 }),
        FastCheck.bigInt({ min: 1n, max: 600_000_000_000n }),
        (cpus, rawActive, total, nanos) => {
          const active = rawActive % (total + 1)
          const watts = cpus * (0.8 + 2.2 * (active / total))
          const expected = watts * Number(nanos) / 1e3
          const got = Number(modelEnergyDelta(model, cpus, active, total, nanos))
          expect(got).toBeLessThanOrEqual(expected + 1e-6 * expected + 1e-9)
          expect(got).toBeGreaterThan(expected - 1 - 1e-6 * expected)
        }
      ),
      { seed: 42, numRuns: 1000 }
    )
  })
})

describe("modelStep", () => {
  it("never decreases, whatever /proc/stat and the clock do", () => {
    const model = toLinearModel(defaults)
    const sample = FastCheck.record({
      active: FastCheck.integer({ min: 0, max: 1_000_000 }),
      idle: FastCheck.integer({ min: 0, max: 1_000_000 }),
      cpus: FastCheck.integer({ min: 1, max: 64 }),
      at: FastCheck.bigInt({ min: 0n, max: 10n ** 13n })
    })
    FastCheck.assert(
      FastCheck.property(FastCheck.array(sample, { minLength: 1, maxLength: 30 }), (samples) => {
        let state: ReturnType<typeof modelStep> | undefined
        let last = 0n
        for (const s of samples) {
          const times = { activeTicks: s.active, totalTicks: s.active + s.idle, cpuCount: s.cpus }
          state = modelStep(model, state, times, s.at)
          expect(state.energy).toBeGreaterThanOrEqual(last)
          last = state.energy
        }
      }),
      { seed: 42, numRuns: 300 }
    )
  })
})

describe("makeModelMeter", () => {
  it.scoped("is one estimated package zone with an unmistakable path", () =>
    Effect.gen(function*() {
      const root = yield* procfs(0, 0, 4)
      const meter = yield* makeModelMeter(root, defaults)
      expect(meter.name).toBe("model")
      expect(meter.estimated).toBe(true)
      expect(meter.zones).toHaveLength(1)
      expect(meter.primaryZone).toMatchObject({
        name: "package",
        index: 0,
        path: MODEL_ZONE_PATH,
        maxEnergy: 0n,
        estimated: true
      })
      expect(MODEL_ZONE_PATH).toBe("estimated:linear-model")
    }))

  it.scoped("first read is the baseline; later reads add the formula's energy exactly", () =>
    Effect.gen(function*() {
      const root = yield* procfs(1000, 4000, 4)
      const zone = (yield* makeModelMeter(root, defaults)).primaryZone
      yield* TestClock.adjust("2 seconds")
      expect(yield* zone.read).toEqual(energyReading(0n))

      // usage 300/400 = 0.75: 4 × (0.8 + 2.2 × 0.75) = 9.8 W for 5 s = 49 J
      yield* setStat(root, 1300, 4100, 4)
      yield* TestClock.adjust("5 seconds")
      expect(yield* zone.read).toEqual(energyReading(49_000_000n))

      // idle machine: 4 × 0.8 = 3.2 W for 10 s = 32 J
      yield* setStat(root, 1300, 4500, 4)
      yield* TestClock.adjust("10 seconds")
      expect(yield* zone.read).toEqual(energyReading(81_000_000n))

      // usage 1: 4 × 3.0 = 12 W for 2.5 s = 30 J
      yield* setStat(root, 1800, 4500, 4)
      yield* TestClock.adjust("2500 millis")
      expect(yield* zone.read).toEqual(energyReading(111_000_000n))

      // no time, no energy
      expect(yield* zone.read).toEqual(energyReading(111_000_000n))
    }))

  it.scoped("uses the current number of CPUs and the configured watts", () =>
    Effect.gen(function*() {
      const root = yield* procfs(0, 0, 2)
      const zone = (yield* makeModelMeter(root, { idleWattsPerCpu: 1, busyWattsPerCpu: 5 })).primaryZone
      yield* zone.read
      // 8 CPUs now, usage 0.5: 8 × (1 + 4 × 0.5) = 24 W for 1 s
      yield* setStat(root, 50, 50, 8)
      yield* TestClock.adjust("1 second")
      expect(yield* zone.read).toEqual(energyReading(24_000_000n))
    }))

  it.scoped("a stat that becomes unreadable fails the read, naming the file", () =>
    Effect.gen(function*() {
      const root = yield* procfs(0, 0, 2)
      const zone = (yield* makeModelMeter(root, defaults)).primaryZone
      yield* writeTree(root, { stat: "garbage\n" })
      const error = yield* Effect.flip(zone.read)
      expect(error.path).toBe(MODEL_ZONE_PATH)
      expect(error.reason).toBe(`cannot read ${path.join(root, "stat")}: no aggregate cpu line`)
    }))

  it.scoped("refuses to build without a readable /proc/stat or with nonsense watts", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({ "empty/": "" })
      const missing = yield* Effect.flip(makeModelMeter(root, defaults))
      expect(missing.meter).toBe("model")
      expect(missing.reason).toContain(path.join(root, "stat"))

      const ok = yield* procfs(0, 0, 1)
      const negative = yield* Effect.flip(makeModelMeter(ok, { idleWattsPerCpu: -1, busyWattsPerCpu: 3 }))
      expect(negative.reason).toBe("cpu.model.idleWattsPerCpu must be a finite number ≥ 0, got -1")
      const nan = yield* Effect.flip(makeModelMeter(ok, { idleWattsPerCpu: 1, busyWattsPerCpu: Number.NaN }))
      expect(nan.reason).toBe("cpu.model.busyWattsPerCpu must be a finite number ≥ 0, got NaN")
    }))
})
