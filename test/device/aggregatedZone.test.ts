import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, Ref } from "effect"
import {
  aggregateStep,
  initialAggregateState,
  makeAggregatedZone,
  sumMaxEnergy
} from "../../src/device/aggregatedZone.js"
import { energyReading, type EnergyZone, ZoneReadError } from "../../src/device/EnergyZone.js"
import { bookedDelta, counterDelta } from "../../src/device/wrap.js"

/** The aggregate's successive readings for successive member readings (pure step). */
const run = (memberMax: ReadonlyArray<bigint>, steps: ReadonlyArray<ReadonlyArray<bigint>>): ReadonlyArray<bigint> => {
  const aggregateMax = memberMax.reduce((a, b) => a + b, 0n)
  let state = initialAggregateState(memberMax.length)
  return steps.map((readings) => {
    state = aggregateStep(state, readings, memberMax, aggregateMax)
    return state.total
  })
}

describe("aggregateStep (kepler-behaviour.md §3.6 vectors, §12 check 4)", () => {
  it("members 100 and 200 (max 1000 each) give 300", () => {
    expect(run([1000n, 1000n], [[100n, 200n]])).toEqual([300n])
  })

  it("one member: 100, 100, 150 gives 100, 100, 150", () => {
    expect(run([1000n], [[100n], [100n], [150n]])).toEqual([100n, 100n, 150n])
  })

  it("members 900 and 800 give 1700, then 100 and 850 give 1950", () => {
    expect(run([1000n, 1000n], [[900n, 800n], [100n, 850n]])).toEqual([1700n, 1950n])
  })

  it("one member (max 1000): 900 → 100 → 50 gives 900, 100, 50", () => {
    expect(run([1000n], [[900n], [100n], [50n]])).toEqual([900n, 100n, 50n])
  })

  it("a backward reading is booked as a wrap: 500 then 400 gives 400", () => {
    expect(run([1000n], [[500n], [400n]])).toEqual([500n, 400n])
  })

  it("max 0 on both members: 100 and 200 give 300 with no modulo", () => {
    expect(run([0n, 0n], [[100n, 200n], [1100n, 1200n]])).toEqual([300n, 2300n])
  })

  it("a member going backwards with max 0 books 0 for it and re-baselines", () => {
    // Kepler would book 2^64 − 100 µJ here (uint64 underflow).
    expect(run([0n, 0n], [[100n, 200n], [0n, 250n], [30n, 260n]])).toEqual([300n, 350n, 390n])
  })

  it("the monitor recovers exactly the members' increments from the aggregate, across wraps", () => {
    const arbitrary = FastCheck.integer({ min: 1, max: 4 }).chain((members) =>
      FastCheck.tuple(
        FastCheck.array(FastCheck.bigInt({ min: 1n, max: 10n ** 12n }), { minLength: members, maxLength: members }),
        FastCheck.array(FastCheck.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: members, maxLength: members }),
        FastCheck.array(
          FastCheck.array(FastCheck.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: members, maxLength: members }),
          { minLength: 1, maxLength: 20 }
        )
      )
    )
    FastCheck.assert(
      FastCheck.property(arbitrary, ([memberMax, start, steps]) => {
        const aggregateMax = sumMaxEnergy(memberMax.map((maxEnergy) => ({ maxEnergy })))
        let counters = start.map((s, i) => s % (memberMax[i] ?? 1n))
        let state = aggregateStep(initialAggregateState(memberMax.length), counters, memberMax, aggregateMax)
        for (const raw of steps) {
          // Each member advances by less than its own range (a wrap is recoverable).
          const increments = raw.map((r, i) => r % (memberMax[i] ?? 1n))
          counters = counters.map((c, i) => (c + (increments[i] ?? 0n)) % (memberMax[i] ?? 1n))
          const next = aggregateStep(state, counters, memberMax, aggregateMax)
          const expected = increments.reduce((a, b) => a + b, 0n)
          if (expected < aggregateMax) {
            expect(bookedDelta(counterDelta(next.total, state.total, aggregateMax))).toBe(expected)
          }
          expect(next.total).toBeGreaterThanOrEqual(0n)
          expect(next.total).toBeLessThan(aggregateMax)
          state = next
        }
      }),
      { seed: 42, numRuns: 300 }
    )
  })
})

const memberZone = (index: number, maxEnergy: bigint, counter: Ref.Ref<bigint>): EnergyZone => ({
  name: "package",
  index,
  path: `/sys/class/powercap/intel-rapl:${index}`,
  maxEnergy,
  estimated: false,
  read: Effect.map(Ref.get(counter), energyReading)
})

describe("makeAggregatedZone", () => {
  it.effect("has Kepler's identity: first member's name, index −1, aggregated-<name>, summed max", () =>
    Effect.gen(function*() {
      const a = yield* Ref.make(100n)
      const b = yield* Ref.make(200n)
      const zone = yield* makeAggregatedZone([memberZone(0, 1000n, a), memberZone(1, 1000n, b)])
      expect(zone).toMatchObject({ name: "package", index: -1, path: "aggregated-package", maxEnergy: 2000n })
      expect(zone.estimated).toBe(false)
      expect(yield* zone.read).toEqual(energyReading(300n))
    }))

  it.effect("keeps per-member state between reads: 900/800 → 1700, then 100/850 → 1950", () =>
    Effect.gen(function*() {
      const a = yield* Ref.make(900n)
      const b = yield* Ref.make(800n)
      const zone = yield* makeAggregatedZone([memberZone(0, 1000n, a), memberZone(1, 1000n, b)])
      expect(yield* zone.read).toEqual(energyReading(1700n))
      yield* Ref.set(a, 100n)
      yield* Ref.set(b, 850n)
      expect(yield* zone.read).toEqual(energyReading(1950n))
    }))

  it.effect("two zones built from the same members have independent state", () =>
    Effect.gen(function*() {
      // Max 0 so that a reset shows: shared state would make the second zone's first read a delta.
      const a = yield* Ref.make(100n)
      const members = [memberZone(0, 0n, a), memberZone(1, 0n, a)] as const
      const first = yield* makeAggregatedZone(members)
      expect(yield* first.read).toEqual(energyReading(200n))
      yield* Ref.set(a, 50n)
      expect(yield* first.read).toEqual(energyReading(200n))
      const second = yield* makeAggregatedZone(members)
      expect(yield* second.read).toEqual(energyReading(100n))
      yield* Ref.set(a, 70n)
      expect(yield* first.read).toEqual(energyReading(240n))
      expect(yield* second.read).toEqual(energyReading(140n))
    }))

  it.effect("a failing member fails the read, naming the member", () =>
    Effect.gen(function*() {
      const a = yield* Ref.make(1n)
      const broken: EnergyZone = {
        ...memberZone(1, 1000n, a),
        read: Effect.fail(
          new ZoneReadError({ zone: "package", path: "/sys/class/powercap/intel-rapl:1", reason: "EIO" })
        )
      }
      const zone = yield* makeAggregatedZone([memberZone(0, 1000n, a), broken])
      const error = yield* Effect.flip(zone.read)
      expect(error).toBeInstanceOf(ZoneReadError)
      expect(error.message).toBe(
        "cannot read zone package (aggregated-package): no valid energy readings from aggregated zones - " +
          "package (/sys/class/powercap/intel-rapl:1): EIO"
      )
    }))
})
