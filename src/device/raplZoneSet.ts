/**
 * From discovered RAPL zones to the meter's zone set (kepler-behaviour.md §3.5): filter by
 * `rapl.zones`, dedup by (name, index) with the standard `intel-rapl:*` zone beating its mmio
 * twin, then group by name so multi-socket members become one aggregated zone. Pure.
 */
import * as Arr from "effect/Array"
import * as Order from "effect/Order"
import type { RaplZoneInfo } from "./raplDiscovery.js"

/** Keep zones whose name is in `filter`, case-insensitively; an empty filter keeps all. */
export const filterRaplZones = (
  zones: ReadonlyArray<RaplZoneInfo>,
  filter: ReadonlyArray<string>
): ReadonlyArray<RaplZoneInfo> => {
  if (filter.length === 0) return zones
  const wanted = new Set(filter.map((f) => f.toLowerCase()))
  return zones.filter((z) => wanted.has(z.name.toLowerCase()))
}

export const isStandardRaplPath = (zonePath: string): boolean => zonePath.includes("/intel-rapl:")

/**
 * One zone per (name, index): a later zone replaces an earlier one unless the earlier one is
 * standard, so `intel-rapl:0` wins over `intel-rapl-mmio:0` in either order (both expose the
 * same package counter; summing them would double it).
 */
export const dedupRaplZones = (zones: ReadonlyArray<RaplZoneInfo>): ReadonlyArray<RaplZoneInfo> => {
  const byKey = new Map<string, RaplZoneInfo>()
  for (const zone of zones) {
    const key = `${zone.name}\u0000${zone.index}`
    const earlier = byKey.get(key)
    if (earlier === undefined || !isStandardRaplPath(earlier.path)) byKey.set(key, zone)
  }
  return [...byKey.values()]
}

const byIndex: Order.Order<RaplZoneInfo> = Order.mapInput(Order.number, (z: RaplZoneInfo) => z.index)

/**
 * Zones grouped by exact name, groups in name order and members in index order — deterministic,
 * unlike Kepler's map iteration.
 */
export const groupRaplZones = (
  zones: ReadonlyArray<RaplZoneInfo>
): ReadonlyArray<Arr.NonEmptyReadonlyArray<RaplZoneInfo>> => {
  // A Map, not Arr.groupBy's plain object: zone names come from hardware files.
  const groups = new Map<string, Arr.NonEmptyArray<RaplZoneInfo>>()
  for (const zone of zones) {
    const members = groups.get(zone.name)
    if (members === undefined) groups.set(zone.name, [zone])
    else members.push(zone)
  }
  return Arr.sort(
    [...groups.values()].map((members) => Arr.sort(members, byIndex)),
    Order.mapInput(Order.string, (members: Arr.NonEmptyReadonlyArray<RaplZoneInfo>) => members[0].name)
  )
}
