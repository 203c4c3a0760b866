/**
 * One zone's step per interval: turn a reading into an exact booked µJ delta and its
 * active/idle split (DESIGN.md §3.1–§3.6). Pure.
 */
import type { ZoneReading } from "../device/EnergyZone.js"
import { counterDelta } from "../device/wrap.js"
import type { NodeCpuReading } from "../resource/types.js"
import type { ZoneStatus } from "./snapshot.js"

export interface ZoneMeta {
  readonly name: string
  readonly index: number
  readonly path: string
  readonly estimated: boolean
  readonly maxEnergy: bigint
}

export type ZoneSample =
  | {
    readonly _tag: "Read"
    readonly reading: ZoneReading
    /** When the reading was taken; intervals are measured between a zone's own readings. */
    readonly atNanos?: bigint
  }
  | { readonly _tag: "Failed"; readonly error: string }

export interface ZoneState {
  /** The last reading intervals are measured from; undefined until the first good read. */
  readonly baseline: { readonly raw: bigint; readonly nanos: bigint } | undefined
  readonly energyTotal: bigint
  readonly activeEnergyTotal: bigint
  readonly idleEnergyTotal: bigint
  readonly unattributedEnergyTotal: bigint
  readonly wraps: number
  readonly glitches: number
  readonly readErrors: number
  readonly resets: number
}

export const initialZoneState: ZoneState = {
  baseline: undefined,
  energyTotal: 0n,
  activeEnergyTotal: 0n,
  idleEnergyTotal: 0n,
  unattributedEnergyTotal: 0n,
  wraps: 0,
  glitches: 0,
  readErrors: 0,
  resets: 0
}

export interface ZoneStep {
  /** State with the new baseline and counters; totals are added by the caller after attribution. */
  readonly state: ZoneState
  readonly status: ZoneStatus
  readonly error: string
  /** Booked energy this interval (µJ) and its active part. */
  readonly booked: bigint
  readonly active: bigint
  /** Length of the booked interval in seconds; 0 when nothing was booked. */
  readonly seconds: number
}

const NANOS_PER_SECOND = 1_000_000_000n

const nothingBooked = (state: ZoneState, status: ZoneStatus, error = ""): ZoneStep => ({
  state,
  status,
  error,
  booked: 0n,
  active: 0n,
  seconds: 0
})

/** Largest delta (µJ) that `maxWatts` can produce in `nanos`. */
const plausibleCeiling = (maxWatts: number, nanos: bigint): bigint =>
  (BigInt(Math.ceil(maxWatts * 1_000_000)) * nanos) / NANOS_PER_SECOND

export const stepZone = (
  prev: ZoneState,
  meta: ZoneMeta,
  sample: ZoneSample,
  nowNanos: bigint,
  node: NodeCpuReading,
  maxPlausibleWatts: number
): ZoneStep => {
  if (sample._tag === "Failed") {
    // Keep the baseline: the next good read books the whole gap, so no energy is lost.
    return nothingBooked({ ...prev, readErrors: prev.readErrors + 1 }, "read-error", sample.error)
  }
  const reading = sample.reading
  const raw = reading._tag === "Energy" ? reading.microjoules : 0n
  const rebaselined = { raw, nanos: nowNanos }
  if (prev.baseline === undefined) {
    return nothingBooked({ ...prev, baseline: rebaselined }, "baseline")
  }
  const nanos = nowNanos - prev.baseline.nanos
  if (nanos <= 0n) return nothingBooked(prev, "idle-interval")

  let delta: bigint
  let wraps = prev.wraps
  if (reading._tag === "Energy") {
    const d = counterDelta(reading.microjoules, prev.baseline.raw, meta.maxEnergy)
    if (d._tag === "Reset") {
      return nothingBooked({ ...prev, baseline: rebaselined, resets: prev.resets + 1 }, "reset")
    }
    if (d._tag === "Wrapped") wraps++
    delta = d.delta
  } else {
    const microwatts = reading.microwatts
    if (!Number.isFinite(microwatts) || microwatts < 0) {
      return nothingBooked({ ...prev, baseline: rebaselined, glitches: prev.glitches + 1 }, "glitch")
    }
    // Kepler integrates the current sample over the interval (rectangle rule); so do we.
    delta = (BigInt(Math.round(microwatts)) * nanos) / NANOS_PER_SECOND
  }
  if (delta > plausibleCeiling(maxPlausibleWatts, nanos)) {
    return nothingBooked({ ...prev, baseline: rebaselined, glitches: prev.glitches + 1 }, "glitch")
  }
  const active = node.totalTicks > 0 ? (delta * BigInt(node.activeTicks)) / BigInt(node.totalTicks) : 0n
  return {
    state: { ...prev, baseline: rebaselined, wraps },
    status: "ok",
    error: "",
    booked: delta,
    active,
    seconds: Number(nanos) / 1e9
  }
}
