/**
 * Terminated workloads kept for export (kepler-behaviour.md §5.5–§5.6): ranked by their
 * primary-zone energy, top-N (`monitor.maxTerminated`: <0 unlimited, 0 off), dropped below
 * `minTerminatedEnergyThreshold` (equal is kept). Pure: every call returns a new list.
 */
import type { ZoneValues } from "./snapshot.js"

export interface TrackerConfig {
  readonly maxSize: number
  /** µJ */
  readonly minEnergy: bigint
  readonly primaryZone: number
}

const primaryEnergy = (w: ZoneValues, zone: number): bigint => w.energy[zone] ?? 0n

/**
 * Adds `additions` to `tracked` (kept sorted: highest energy first, then key). An id already
 * tracked is ignored. When full, an addition replaces the lowest entry only if it is strictly
 * greater — Kepler's min-heap rule; additions are taken in key order so ties are deterministic.
 */
export const trackTerminated = <W extends ZoneValues>(
  tracked: ReadonlyArray<W>,
  additions: ReadonlyArray<W>,
  keyOf: (w: W) => string,
  config: TrackerConfig
): ReadonlyArray<W> => {
  if (config.maxSize === 0 || additions.length === 0) return tracked
  const byEnergyDesc = (a: W, b: W): number => {
    const ea = primaryEnergy(a, config.primaryZone)
    const eb = primaryEnergy(b, config.primaryZone)
    if (ea !== eb) return ea > eb ? -1 : 1
    const ka = keyOf(a)
    const kb = keyOf(b)
    return ka < kb ? -1 : ka > kb ? 1 : 0
  }
  const result = [...tracked]
  const known = new Set(tracked.map(keyOf))
  const sortedAdditions = [...additions].sort((a, b) => {
    const ka = keyOf(a)
    const kb = keyOf(b)
    return ka < kb ? -1 : ka > kb ? 1 : 0
  })
  for (const w of sortedAdditions) {
    const key = keyOf(w)
    if (known.has(key)) continue
    const energy = primaryEnergy(w, config.primaryZone)
    if (energy < config.minEnergy) continue
    if (config.maxSize < 0 || result.length < config.maxSize) {
      insertSorted(result, w, byEnergyDesc)
      known.add(key)
      continue
    }
    const lowest = result[result.length - 1]
    if (lowest !== undefined && energy > primaryEnergy(lowest, config.primaryZone)) {
      result.pop()
      known.delete(keyOf(lowest))
      insertSorted(result, w, byEnergyDesc)
      known.add(key)
    }
  }
  return result
}

const insertSorted = <W>(list: Array<W>, item: W, compare: (a: W, b: W) => number): void => {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const probe = list[mid]
    if (probe !== undefined && compare(probe, item) <= 0) lo = mid + 1
    else hi = mid
  }
  list.splice(lo, 0, item)
}
