/**
 * hwmon zone specs → `EnergyZone`s, and same-named zones merged into one (Kepler aggregates them
 * too, and admits it is a limitation: two chips that happen to share a label are summed).
 *
 * How an aggregate reads:
 * - energy members: one cumulative counter, the sum of the members' deltas (`aggregatedZone.ts`;
 *   hwmon counters have no known wrap, so a member that goes backwards books nothing that read);
 * - power members: the sum of the members' µW, integrated by the monitor like any power zone;
 * - both kinds under one name cannot be added (a counter plus a rate), so the energy members
 *   win — a cumulative counter loses nothing between reads — and the power members are left out
 *   (`dropped`, which the meter logs).
 * A member that fails fails the aggregate's read for that interval, so the sum never silently
 * shrinks to a subset.
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import { makeAggregatedZone } from "./aggregatedZone.js"
import { energyReading, type EnergyZone, powerReading, ZoneReadError, type ZoneReading } from "./EnergyZone.js"
import { type HwmonZoneSpec, specPath } from "./hwmonDevice.js"
import { readSysfsUint64, type SysfsReadError } from "./sysfsFile.js"

const zoneError = (spec: HwmonZoneSpec) => (e: SysfsReadError) =>
  new ZoneReadError({ zone: spec.name, path: specPath(spec), reason: e.message })

/** The raw reading of one spec: µJ for energy, µW otherwise (mV × mA = µW exactly). */
export const readSpec = (spec: HwmonZoneSpec): Effect.Effect<ZoneReading, ZoneReadError> => {
  switch (spec._tag) {
    case "Energy":
      return readSysfsUint64(spec.file).pipe(Effect.map(energyReading), Effect.mapError(zoneError(spec)))
    case "Power":
      return readSysfsUint64(spec.file).pipe(
        Effect.map((microwatts) => powerReading(Number(microwatts))),
        Effect.mapError(zoneError(spec))
      )
    case "VoltageCurrent":
      return Effect.all([readSysfsUint64(spec.voltageFile), readSysfsUint64(spec.currentFile)], {
        concurrency: 2
      }).pipe(
        Effect.map(([millivolts, milliamps]) => powerReading(Number(millivolts * milliamps))),
        Effect.mapError(zoneError(spec))
      )
  }
}

export const makeHwmonZone = (spec: HwmonZoneSpec): EnergyZone => ({
  name: spec.name,
  index: spec.index,
  path: specPath(spec),
  maxEnergy: 0n,
  estimated: false,
  read: readSpec(spec)
})

const readPower = (member: EnergyZone): Effect.Effect<number, ZoneReadError> =>
  Effect.flatMap(member.read, (reading) =>
    reading._tag === "Power"
      ? Effect.succeed(reading.microwatts)
      : Effect.fail(new ZoneReadError({ zone: member.name, path: member.path, reason: "reports energy, not power" })))

/** Several same-named power zones as one: their µW summed at every read. */
export const makePowerSumZone = (members: Arr.NonEmptyReadonlyArray<EnergyZone>): EnergyZone => {
  const name = members[0].name
  const path = `aggregated-${name}`
  return {
    name,
    index: -1,
    path,
    maxEnergy: 0n,
    estimated: false,
    read: Effect.forEach(members, readPower, { concurrency: "unbounded" }).pipe(
      Effect.map((values) => powerReading(values.reduce((sum, v) => sum + v, 0))),
      Effect.mapError(
        (e) => new ZoneReadError({ zone: name, path, reason: `aggregated member ${e.zone} (${e.path}): ${e.reason}` })
      )
    )
  }
}

export interface GroupedZones {
  readonly zones: ReadonlyArray<EnergyZone>
  /** Power specs left out because energy specs share their name. */
  readonly dropped: ReadonlyArray<HwmonZoneSpec>
}

/** Zones by name, in first-seen order; duplicates aggregated as described above. */
export const groupHwmonZones = (specs: ReadonlyArray<HwmonZoneSpec>): Effect.Effect<GroupedZones> =>
  Effect.gen(function*() {
    const groups = Arr.groupBy(specs, (s) => s.name)
    const zones: Array<EnergyZone> = []
    const dropped: Array<HwmonZoneSpec> = []
    for (const name of Arr.dedupe(specs.map((s) => s.name))) {
      const group = groups[name]
      if (group === undefined) continue
      if (group.length === 1) {
        zones.push(makeHwmonZone(group[0]))
        continue
      }
      // Effect's partition returns [excluded, satisfying].
      const [power, energy] = Arr.partition(group, (s) => s._tag === "Energy")
      if (Arr.isNonEmptyReadonlyArray(energy)) {
        dropped.push(...power)
        zones.push(
          energy.length === 1 ? makeHwmonZone(energy[0]) : yield* makeAggregatedZone(Arr.map(energy, makeHwmonZone))
        )
      } else if (Arr.isNonEmptyReadonlyArray(power)) {
        zones.push(makePowerSumZone(Arr.map(power, makeHwmonZone)))
      }
    }
    return { zones, dropped }
  })
