import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, TestClock } from "effect"
import { energyReading, type ZoneReading } from "../../src/device/EnergyZone.js"
import {
  FAKE_MAX_ENERGY,
  FAKE_SWING,
  fakeEnergyMicrojoules,
  fakeMeanWatts,
  fakePowerWatts,
  makeFakeMeter
} from "../../src/device/fakeMeter.js"

const SECOND = 1_000_000_000n

const microjoules = (r: ZoneReading): bigint => (r._tag === "Energy" ? r.microjoules : -1n)

describe("fakeEnergyMicrojoules", () => {
  it("is 0 at the start and exactly mean × period over a whole period", () => {
    expect(fakeEnergyMicrojoules(40, 0, 0n)).toBe(0n)
    // The swing integrates to 0 over a period; ±1 µJ for the floor.
    const period = fakeEnergyMicrojoules(40, 1.5, 60n * SECOND)
    expect(period >= 2_400_000_000n - 1n && period <= 2_400_000_000n).toBe(true)
  })

  it("is the integral of fakePowerWatts (compared with a fine trapezoid sum)", () => {
    for (const phase of [0, 1, 2]) {
      const steps = 20_000
      const end = 45n * SECOND
      let joules = 0
      for (let i = 0; i < steps; i++) {
        const a = (end * BigInt(i)) / BigInt(steps)
        const b = (end * BigInt(i + 1)) / BigInt(steps)
        joules += ((fakePowerWatts(25, phase, a) + fakePowerWatts(25, phase, b)) / 2) * (Number(b - a) / 1e9)
      }
      const closed = Number(fakeEnergyMicrojoules(25, phase, end)) / 1e6
      expect(Math.abs(closed - joules)).toBeLessThan(1e-3)
    }
  })

  it("never goes backwards and stays within ±10 % of the mean power over any interval", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.constantFrom("package", "core", "dram", "uncore", "psys", "gpu"),
        FastCheck.integer({ min: 0, max: 5 }),
        FastCheck.bigInt({ min: 0n, max: 400n * 24n * 3600n * SECOND }),
        FastCheck.bigInt({ min: 1n, max: 3600n * SECOND }),
        (zone, phase, start, length) => {
          const mean = fakeMeanWatts(zone)
          const delta = fakeEnergyMicrojoules(mean, phase, start + length) - fakeEnergyMicrojoules(mean, phase, start)
          expect(delta).toBeGreaterThanOrEqual(0n)
          const seconds = Number(length) / 1e9
          const lowMicrojoules = mean * (1 - FAKE_SWING) * seconds * 1e6
          const highMicrojoules = mean * (1 + FAKE_SWING) * seconds * 1e6
          expect(Number(delta)).toBeGreaterThanOrEqual(Math.floor(lowMicrojoules) - 1)
          expect(Number(delta)).toBeLessThanOrEqual(Math.ceil(highMicrojoules) + 1)
        }
      ),
      { seed: 42, numRuns: 1000 }
    )
  })
})

describe("makeFakeMeter", () => {
  it.effect("defaults to package, core, dram with Kepler's paths and a real RAPL range", () =>
    Effect.gen(function*() {
      const meter = yield* makeFakeMeter([])
      expect(meter.name).toBe("fake")
      expect(meter.estimated).toBe(false)
      expect(meter.zones.map((z) => [z.name, z.index, z.path, z.maxEnergy, z.estimated])).toEqual([
        ["core", 1, "/sys/class/powercap/intel-rapl/energy_core", FAKE_MAX_ENERGY, false],
        ["dram", 2, "/sys/class/powercap/intel-rapl/energy_dram", FAKE_MAX_ENERGY, false],
        ["package", 0, "/sys/class/powercap/intel-rapl/energy_package", FAKE_MAX_ENERGY, false]
      ])
      expect(meter.primaryZone.name).toBe("package")
    }))

  it.effect("takes configured zones; the primary is the first containing package, as Kepler's fake", () =>
    Effect.gen(function*() {
      const meter = yield* makeFakeMeter(["psys", "Package", "gpu"])
      expect(meter.zones.map((z) => z.name)).toEqual(["Package", "gpu", "psys"])
      expect(meter.primaryZone.name).toBe("Package")
    }))

  it.effect("power over a TestClock interval is plausible and does not depend on how often it is read", () =>
    Effect.gen(function*() {
      const often = yield* makeFakeMeter([])
      const once = yield* makeFakeMeter([])
      const start = yield* Effect.forEach(once.zones, (z) => z.read)
      for (let i = 0; i < 90; i++) {
        yield* TestClock.adjust("1 second")
        yield* Effect.forEach(often.zones, (z) => z.read)
      }
      const endOften = yield* Effect.forEach(often.zones, (z) => z.read)
      const endOnce = yield* Effect.forEach(once.zones, (z) => z.read)
      expect(endOften).toEqual(endOnce)
      expect(start).toEqual([energyReading(0n), energyReading(0n), energyReading(0n)])
      once.zones.forEach((zone, i) => {
        const watts = Number(microjoules(endOnce[i] ?? energyReading(0n))) / 1e6 / 90
        const mean = fakeMeanWatts(zone.name)
        expect(watts).toBeGreaterThanOrEqual(mean * (1 - FAKE_SWING))
        expect(watts).toBeLessThanOrEqual(mean * (1 + FAKE_SWING))
      })
      expect(Number(microjoules(endOnce[2] ?? energyReading(0n))) / 1e6 / 90).toBeGreaterThan(30)
    }))

  it.effect("wraps at its max energy like a RAPL counter", () =>
    Effect.gen(function*() {
      const meter = yield* makeFakeMeter(["package"])
      yield* TestClock.adjust("3 hours")
      const reading = microjoules(yield* meter.primaryZone.read)
      const unwrapped = fakeEnergyMicrojoules(40, 0, 3n * 3600n * SECOND)
      expect(unwrapped).toBeGreaterThan(FAKE_MAX_ENERGY)
      expect(reading).toBe(unwrapped % FAKE_MAX_ENERGY)
    }))
})
