/**
 * One measurable energy domain of the machine (a RAPL zone, an hwmon sensor, the model's
 * estimate). The device layer owns discovery, mmio dedup, multi-socket aggregation and
 * per-member wraparound; the monitor only sees zones (DESIGN.md §2).
 */
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"

/**
 * A reading is either a cumulative counter in µJ (which may wrap at `maxEnergy`) or an
 * instantaneous power in µW that the monitor integrates over time.
 */
export type ZoneReading =
  | { readonly _tag: "Energy"; readonly microjoules: bigint }
  | { readonly _tag: "Power"; readonly microwatts: number }

export const energyReading = (microjoules: bigint): ZoneReading => ({ _tag: "Energy", microjoules })
export const powerReading = (microwatts: number): ZoneReading => ({ _tag: "Power", microwatts })

export class ZoneReadError extends Data.TaggedError("ZoneReadError")<{
  readonly zone: string
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot read zone ${this.zone} (${this.path}): ${this.reason}`
  }
}

export interface EnergyZone {
  /** package, core, dram, uncore, psys, or an hwmon label. Exported as the `zone` label. */
  readonly name: string
  /** -1 for an aggregated multi-socket zone. */
  readonly index: number
  /** Exported as the `path` label: sysfs directory, `aggregated-<name>`, input file, … */
  readonly path: string
  /** Wrap boundary in µJ; 0n when unknown or for power zones. */
  readonly maxEnergy: bigint
  /** True for zones whose numbers are estimated rather than measured (the model meter). */
  readonly estimated: boolean
  readonly read: Effect.Effect<ZoneReading, ZoneReadError>
}

/** Kepler's priority for the primary zone (kepler-behaviour.md §3.7). */
export const RAPL_PRIMARY_PRIORITY = ["psys", "package", "core", "dram", "uncore"] as const

/**
 * The zone used to rank terminated workloads: the first name of `priority` (matched
 * case-insensitively) that exists, else the first zone.
 */
export const choosePrimaryZone = (
  zones: ReadonlyArray<EnergyZone>,
  priority: ReadonlyArray<string> = RAPL_PRIMARY_PRIORITY
): EnergyZone | undefined => {
  for (const wanted of priority) {
    const hit = zones.find((z) => z.name.toLowerCase() === wanted)
    if (hit !== undefined) return hit
  }
  return zones[0]
}
