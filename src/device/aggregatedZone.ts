/**
 * Several same-named zones (multi-socket `package` 0 and 1, `dram` 0 and 1) presented as one
 * counter (kepler-behaviour.md §3.5–§3.6). Each member wraps at its own max, so the members'
 * raw values cannot simply be added: the aggregate books each member's delta (with its own
 * wraparound) and keeps a running total that wraps at the sum of the maxima, so downstream it
 * behaves like a single hardware counter with that boundary.
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import { energyReading, type EnergyZone, ZoneReadError } from "./EnergyZone.js"
import { bookedDelta, counterDelta } from "./wrap.js"

export interface AggregateState {
  /** Last raw reading per member (by position); undefined before its first reading. */
  readonly last: ReadonlyArray<bigint | undefined>
  /** The aggregate counter, already reduced modulo the aggregate max when that is known. */
  readonly total: bigint
}

export const initialAggregateState = (memberCount: number): AggregateState => ({
  last: Arr.replicate(undefined, memberCount),
  total: 0n
})

/**
 * One aggregated reading. A member's first reading counts whole (as Kepler); a member reading
 * below its previous value wraps at its own max; with an unknown max (0) that is a reset and
 * books nothing for that member — Kepler's uint64 underflow would book ~1.8e19 µJ instead.
 */
export const aggregateStep = (
  state: AggregateState,
  readings: ReadonlyArray<bigint>,
  memberMax: ReadonlyArray<bigint>,
  aggregateMax: bigint
): AggregateState => {
  let sum = 0n
  readings.forEach((current, i) => {
    const previous = state.last[i]
    sum += previous === undefined ? current : bookedDelta(counterDelta(current, previous, memberMax[i] ?? 0n))
  })
  const total = state.total + sum
  return { last: readings, total: aggregateMax > 0n ? total % aggregateMax : total }
}

/**
 * Exact in bigint, so Kepler's cap of the summed max at uint64 max has nothing to guard against.
 */
export const sumMaxEnergy = (members: ReadonlyArray<{ readonly maxEnergy: bigint }>): bigint =>
  members.reduce((acc, m) => acc + m.maxEnergy, 0n)

/**
 * Builds the zone with its own per-member state. Reads are serialised: two overlapping reads
 * could otherwise commit out of order, and a member's older value after a newer one would be
 * booked as a wrap (a whole counter range of phantom energy).
 */
export const makeAggregatedZone = Effect.fn("AggregatedZone.make")(function*(
  members: Arr.NonEmptyReadonlyArray<EnergyZone>
) {
  const name = members[0].name
  const path = `aggregated-${name}`
  const memberMax = members.map((m) => m.maxEnergy)
  const maxEnergy = sumMaxEnergy(members)
  const state = yield* Ref.make(initialAggregateState(members.length))
  const lock = yield* Effect.makeSemaphore(1)

  const readMember = (member: EnergyZone): Effect.Effect<bigint, ZoneReadError> =>
    member.read.pipe(
      Effect.flatMap((reading) =>
        reading._tag === "Energy"
          ? Effect.succeed(reading.microjoules)
          : Effect.fail(
            new ZoneReadError({ zone: member.name, path: member.path, reason: "reports power, not energy" })
          )
      )
    )

  // Every member is read to the end, and the failure named is the first member's that failed:
  // stopping at whichever failed first in time would name a different member from run to run
  // (and leave the others' files half-read in a recording).
  const read = Effect.forEach(members, (m) => Effect.either(readMember(m)), { concurrency: "unbounded" }).pipe(
    Effect.flatMap((results) => {
      const failed = results.find(Either.isLeft)
      return failed === undefined ? Effect.succeed(Arr.getRights(results)) : Effect.fail(failed.left)
    }),
    Effect.mapError(
      (e) =>
        new ZoneReadError({
          zone: name,
          path,
          reason: `no valid energy readings from aggregated zones - ${e.zone} (${e.path}): ${e.reason}`
        })
    ),
    Effect.flatMap((readings) =>
      Ref.modify(state, (s) => {
        const next = aggregateStep(s, readings, memberMax, maxEnergy)
        return [energyReading(next.total), next] as const
      })
    ),
    lock.withPermits(1)
  )

  const zone: EnergyZone = {
    name,
    index: -1,
    path,
    maxEnergy,
    estimated: members.some((m) => m.estimated),
    read
  }
  return zone
})
