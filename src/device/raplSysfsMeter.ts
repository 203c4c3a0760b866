/**
 * The `rapl` meter: powercap sysfs zones (kepler-behaviour.md §3.4–§3.6). Discovery, filter,
 * mmio dedup and multi-socket aggregation happen once when the meter is built; every zone
 * read then opens `energy_uj` afresh.
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import { makeAggregatedZone } from "./aggregatedZone.js"
import { type CpuPowerMeterShape, MeterUnavailable } from "./CpuPowerMeter.js"
import { energyReading, type EnergyZone, ZoneReadError } from "./EnergyZone.js"
import { makeMeterShape } from "./meterShape.js"
import { discoverRaplZones, energyFile, powercapDir, type RaplZoneInfo } from "./raplDiscovery.js"
import { dedupRaplZones, filterRaplZones, groupRaplZones } from "./raplZoneSet.js"
import { readSysfsUint64, type SysfsReadError } from "./sysfsFile.js"

/**
 * Linux 5.10 made `energy_uj` root-only (PLATYPUS, CVE-2020-8694), so this is what a non-root
 * run meets first. The tmpfiles line persists across reboots; a group keeps the side channel
 * closed to everyone else.
 */
export const RAPL_PERMISSION_HINT =
  "energy_uj is readable by root only since Linux 5.10: run joulemon as root (or with CAP_DAC_READ_SEARCH), " +
  "or grant read access — now: `sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj`; at every boot: " +
  "the line `z /sys/class/powercap/intel-rapl:*/energy_uj 0440 root joulemon -` in /etc/tmpfiles.d/joulemon.conf " +
  "with joulemon's user in group joulemon"

/** Why an `energy_uj` read failed, and what the operator can do about it when we know. */
export const describeEnergyReadFailure = (
  error: SysfsReadError
): { readonly reason: string; readonly hint?: string } =>
  error.code === "EACCES" || error.code === "EPERM"
    ? { reason: error.message, hint: RAPL_PERMISSION_HINT }
    : { reason: error.message }

const makeRaplZone = (info: RaplZoneInfo): EnergyZone => {
  const file = energyFile(info.path)
  return {
    name: info.name,
    index: info.index,
    path: info.path,
    maxEnergy: info.maxEnergy,
    estimated: false,
    read: readSysfsUint64(file).pipe(
      Effect.map(energyReading),
      Effect.mapError((e) => {
        const { reason, hint } = describeEnergyReadFailure(e)
        return new ZoneReadError({
          zone: info.name,
          path: info.path,
          reason: hint === undefined ? reason : `${reason} (${hint})`
        })
      })
    )
  }
}

const unavailable = (reason: string, hint?: string): MeterUnavailable =>
  new MeterUnavailable(hint === undefined ? { meter: "rapl", reason } : { meter: "rapl", reason, hint })

const NO_RAPL_HINT = "no powercap RAPL on this machine (a VM, a CPU without RAPL, or the intel_rapl module not loaded)"

export const makeRaplMeter: (
  sysfs: string,
  zonesFilter: ReadonlyArray<string>
) => Effect.Effect<CpuPowerMeterShape, MeterUnavailable> = Effect.fn("RaplSysfsMeter.make")(function*(
  sysfs: string,
  zonesFilter: ReadonlyArray<string>
) {
  const dir = powercapDir(sysfs)
  const discovered = yield* discoverRaplZones(sysfs).pipe(Effect.mapError((e) => unavailable(e.message)))
  if (discovered.length === 0) return yield* unavailable(`no RAPL zones found under ${dir}`, NO_RAPL_HINT)

  const filtered = filterRaplZones(discovered, zonesFilter)
  if (filtered.length === 0) {
    const found = [...new Set(discovered.map((z) => z.name))].join(", ")
    return yield* unavailable(
      `no RAPL zones found after filtering (rapl.zones: ${zonesFilter.join(", ")}; found: ${found})`
    )
  }
  const kept = dedupRaplZones(filtered)

  // Every zone that will be used is read once now, so an unreadable counter stops this meter at
  // startup (and the next preferred meter is tried) instead of exporting 0 W. Sequential so the
  // first failure reported is always the same one.
  yield* Effect.forEach(
    kept,
    (zone) =>
      readSysfsUint64(energyFile(zone.path)).pipe(
        Effect.mapError((e) => {
          const { reason, hint } = describeEnergyReadFailure(e)
          return unavailable(reason, hint)
        })
      ),
    { discard: true }
  )

  const zones = yield* Effect.forEach(
    groupRaplZones(kept),
    (members) =>
      members.length === 1
        ? Effect.succeed(makeRaplZone(members[0]))
        : makeAggregatedZone(Arr.map(members, makeRaplZone))
  )
  return yield* makeMeterShape("rapl", zones)
})
