/**
 * BMC power readings → per-series energy, integrated between polls (joulemon's
 * `kepler_platform_joules_total`; Kepler exports only the watts). Pure.
 *
 * - A series is one (chassis, source type, source id). Its counter is exact integer µJ,
 *   monotonic, and starts at 0 on the poll that first sees it.
 * - Each poll books the new reading × the time since the series' previous reading (the rectangle
 *   rule the monitor uses for power zones: a BMC's watts are an average up to "now").
 * - A series missing from a successful poll is dropped — it keeps nothing; if it comes back it
 *   starts again from 0.
 * - A failed poll changes nothing here. If the next reading of a series comes after more than
 *   `maxGap`, nothing is booked for the gap (re-baselined): energy is never invented across an
 *   outage.
 * - Series are visible to exporters only while the last successful poll is younger than
 *   `expireAfter`: a BMC that stopped answering yields no series (as Kepler), not stale watts.
 */
import { joules } from "../monitor/snapshot.js"
import type { PowerSourceType, SourceReading } from "./redfishPower.js"

/** One exported series (labels in Kepler's order: source, node_name, bmc_id, chassis_id, source_id, source_name, source_type). */
export interface PlatformReading {
  readonly source: "redfish"
  readonly nodeName: string
  readonly bmcId: string
  readonly chassisId: string
  readonly sourceId: string
  readonly sourceName: string
  readonly sourceType: PowerSourceType
  readonly watts: number
  /** Integrated energy since the series was first seen, exact. */
  readonly microjoulesTotal: bigint
  /** `microjoulesTotal` in joules, for exporters. */
  readonly joulesTotal: number
}

export interface SeriesState {
  readonly reading: SourceReading
  readonly microjoules: bigint
  readonly atNanos: bigint
}

export interface PlatformEnergyState {
  /** In the order of the last successful poll. */
  readonly series: ReadonlyMap<string, SeriesState>
  readonly lastSuccessNanos: bigint | undefined
}

export const initialPlatformEnergyState: PlatformEnergyState = { series: new Map(), lastSuccessNanos: undefined }

export const seriesKey = (r: Pick<SourceReading, "chassisId" | "sourceType" | "sourceId">): string =>
  JSON.stringify([r.chassisId, r.sourceType, r.sourceId])

const NANOS_PER_SECOND = 1_000_000_000n

/** ⌊watts × Δt⌋ in µJ, with watts rounded to the µW as everywhere else. */
export const energyOver = (watts: number, nanos: bigint): bigint =>
  nanos <= 0n ? 0n : (BigInt(Math.round(watts * 1e6)) * nanos) / NANOS_PER_SECOND

export interface PollOutcome {
  readonly state: PlatformEnergyState
  /** Readings left out because an earlier reading of the same poll had the same series key. */
  readonly duplicates: ReadonlyArray<SourceReading>
}

/**
 * One successful poll. A BMC that lists two sources with one id would produce two series with
 * one label set, which makes the whole exposition fail; the first is kept, the rest reported.
 */
export const integratePoll = (
  state: PlatformEnergyState,
  readings: ReadonlyArray<SourceReading>,
  nowNanos: bigint,
  maxGapNanos: bigint
): PollOutcome => {
  const series = new Map<string, SeriesState>()
  const duplicates: Array<SourceReading> = []
  for (const reading of readings) {
    const key = seriesKey(reading)
    if (series.has(key)) {
      duplicates.push(reading)
      continue
    }
    const previous = state.series.get(key)
    const gap = previous === undefined ? 0n : nowNanos - previous.atNanos
    const booked = previous !== undefined && gap > 0n && gap <= maxGapNanos ? energyOver(reading.watts, gap) : 0n
    series.set(key, { reading, microjoules: (previous?.microjoules ?? 0n) + booked, atNanos: nowNanos })
  }
  return { state: { series, lastSuccessNanos: nowNanos }, duplicates }
}

export interface SeriesIdentity {
  readonly nodeName: string
  readonly bmcId: string
}

/** What exporters see at `nowNanos`: every series of the last poll while it is fresh, else none. */
export const visibleReadings = (
  state: PlatformEnergyState,
  nowNanos: bigint,
  expireAfterNanos: bigint,
  identity: SeriesIdentity
): ReadonlyArray<PlatformReading> => {
  if (state.lastSuccessNanos === undefined || nowNanos - state.lastSuccessNanos > expireAfterNanos) return []
  return [...state.series.values()].map(({ reading, microjoules }) => ({
    source: "redfish",
    nodeName: identity.nodeName,
    bmcId: identity.bmcId,
    chassisId: reading.chassisId,
    sourceId: reading.sourceId,
    sourceName: reading.sourceName,
    sourceType: reading.sourceType,
    watts: reading.watts,
    microjoulesTotal: microjoules,
    joulesTotal: joules(microjoules)
  }))
}
