/**
 * The `fake` meter, for development on machines without sensors (kepler-behaviour.md §3.8).
 *
 * Kepler's fake counter advances by a random ~100 µJ per *read*, so its "power" is tiny and
 * depends on how often it is scraped. This one is a function of time: each zone draws a
 * plausible power that swings ±10 % around a per-zone mean with a one-minute period, and its
 * counter is the closed-form integral of that power since the meter was built. Reading it more
 * or less often changes nothing, and the TestClock drives it.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { CpuPowerMeterShape, MeterUnavailable } from "./CpuPowerMeter.js"
import { energyReading, type EnergyZone } from "./EnergyZone.js"
import { makeMeterShape } from "./meterShape.js"

export const DEFAULT_FAKE_ZONES: ReadonlyArray<string> = ["package", "core", "dram"]

/** Roughly a busy desktop: package and its core/uncore parts, DIMMs, the whole platform. */
const FAKE_MEAN_WATTS: ReadonlyMap<string, number> = new Map([
  ["package", 40],
  ["core", 25],
  ["dram", 6],
  ["uncore", 3],
  ["psys", 55]
])
const FAKE_OTHER_WATTS = 10

/** Relative amplitude of the swing around the mean. */
export const FAKE_SWING = 0.1
export const FAKE_PERIOD_NANOS = 60_000_000_000n
/** A real RAPL package range, so consumers meet a wrap after ~1.8 h at 40 W. */
export const FAKE_MAX_ENERGY = 262_143_328_850n

const OMEGA = (2 * Math.PI) / (Number(FAKE_PERIOD_NANOS) / 1e9)

export const fakeMeanWatts = (zoneName: string): number =>
  FAKE_MEAN_WATTS.get(zoneName.toLowerCase()) ?? FAKE_OTHER_WATTS

/** P(t) = mean × (1 + swing × sin(ωt + phase)), in watts. */
export const fakePowerWatts = (meanWatts: number, phase: number, elapsedNanos: bigint): number =>
  meanWatts * (1 + FAKE_SWING * Math.sin(OMEGA * (Number(elapsedNanos % FAKE_PERIOD_NANOS) / 1e9) + phase))

/**
 * ∫₀ᵗ P in µJ, floored: mean × t + mean × swing / ω × (cos φ − cos(ωt + φ)).
 *
 * The linear term is done in bigint (µW × ns is exact), so the counter stays exact however
 * long the meter runs; only the bounded swing term (|·| ≤ 2 × mean × swing / ω ≈ 76 J at 40 W) and
 * the linear term's sub-µJ fraction are floats, added before the single floor so the counter
 * never steps backwards. The swing term is periodic in t, so t is reduced modulo the period first.
 */
export const fakeEnergyMicrojoules = (meanWatts: number, phase: number, elapsedNanos: bigint): bigint => {
  if (elapsedNanos <= 0n) return 0n
  const meanMicrowatts = BigInt(Math.round(meanWatts * 1e6))
  const scaled = meanMicrowatts * elapsedNanos
  const linear = scaled / 1_000_000_000n
  const fraction = Number(scaled % 1_000_000_000n) / 1e9
  const t = Number(elapsedNanos % FAKE_PERIOD_NANOS) / 1e9
  const swing = ((Number(meanMicrowatts) * FAKE_SWING) / OMEGA) * (Math.cos(phase) - Math.cos(OMEGA * t + phase))
  const total = linear + BigInt(Math.floor(fraction + swing))
  return total < 0n ? 0n : total
}

/** Kepler's fake meter: the first zone whose name contains "package", else the first zone. */
const fakePrimaryZone = (zones: ReadonlyArray<EnergyZone>): EnergyZone | undefined =>
  zones.find((z) => z.name.toLowerCase().includes("package")) ?? zones[0]

export const makeFakeMeter: (zoneNames: ReadonlyArray<string>) => Effect.Effect<CpuPowerMeterShape, MeterUnavailable> =
  Effect.fn("FakeMeter.make")(function*(zoneNames: ReadonlyArray<string>) {
    const start = yield* Clock.currentTimeNanos
    const names = zoneNames.length === 0 ? DEFAULT_FAKE_ZONES : zoneNames
    const zones = names.map((name, index): EnergyZone => {
      const mean = fakeMeanWatts(name)
      // Each zone's own phase (radians = its index) so the zones do not move in lockstep.
      const phase = index
      return {
        name,
        index,
        path: `/sys/class/powercap/intel-rapl/energy_${name}`,
        maxEnergy: FAKE_MAX_ENERGY,
        // Fake, not estimated: `estimated` means "derived from real CPU usage" (the model meter).
        estimated: false,
        read: Effect.map(
          Clock.currentTimeNanos,
          (now) => energyReading(fakeEnergyMicrojoules(mean, phase, now - start) % FAKE_MAX_ENERGY)
        )
      }
    })
    return yield* makeMeterShape("fake", zones, fakePrimaryZone)
  })
