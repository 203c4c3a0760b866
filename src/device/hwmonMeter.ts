/**
 * The `hwmon` meter (kepler-behaviour.md §3.9): power and energy sensors of `/sys/class/hwmon`,
 * for ARM boards, AMD GPUs, INA power monitors and PMBus regulators where RAPL is missing.
 *
 * Discovery runs once when the meter is built: devices are scanned in name order, each gives
 * the zones of its best tier, `experimental.hwmon.zones` filters them, every zone is read once
 * (an unreadable sensor is left out, and logged, instead of disabling the whole meter), and
 * same-named zones are aggregated. Unlike Kepler, `experimental.hwmon.zones` and `chipRules`
 * apply whenever this meter is used, not only with the deprecated `forceEnabled`.
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { HwmonChipRule } from "../config/Config.js"
import { type CpuPowerMeterShape, MeterUnavailable } from "./CpuPowerMeter.js"
import { choosePrimaryZone, type EnergyZone } from "./EnergyZone.js"
import { type HwmonZoneSpec, planDevice, specPath } from "./hwmonDevice.js"
import { hwmonDir, listHwmonDevices, readHwmonDevice } from "./hwmonScan.js"
import { groupHwmonZones, readSpec } from "./hwmonZones.js"
import { makeMeterShape } from "./meterShape.js"

/** Kepler's hwmon primary-zone priority (kepler-behaviour.md §3.7). */
export const HWMON_PRIMARY_PRIORITY = [
  "package",
  "socket",
  "cpu",
  "core",
  "ppt",
  "ppt0",
  "ppt1",
  "core_power",
  "io_power",
  "soc",
  "platform",
  "gpu",
  "vddgfx"
] as const

const NO_HWMON_HINT = "no hwmon power or energy sensor on this machine (or /sys not mounted at host.sysfs)"

const unavailable = (reason: string, hint?: string): MeterUnavailable =>
  new MeterUnavailable(hint === undefined ? { meter: "hwmon", reason } : { meter: "hwmon", reason, hint })

/** Case-insensitive, like `rapl.zones`; an empty filter keeps everything. */
export const filterHwmonSpecs = (
  specs: ReadonlyArray<HwmonZoneSpec>,
  zonesFilter: ReadonlyArray<string>
): ReadonlyArray<HwmonZoneSpec> => {
  if (zonesFilter.length === 0) return specs
  const wanted = new Set(zonesFilter.map((z) => z.trim().toLowerCase()))
  return specs.filter((s) => wanted.has(s.name.toLowerCase()))
}

/** Every device's specs, in device order; devices that fail are logged and skipped (as Kepler). */
export const discoverHwmonSpecs = (sysfs: string, chipRules: ReadonlyArray<HwmonChipRule>) =>
  Effect.gen(function*() {
    const devices = yield* listHwmonDevices(sysfs).pipe(
      Effect.mapError((e) => unavailable(`no hwmon devices: ${e.message}`, NO_HWMON_HINT))
    )
    const specs: Array<HwmonZoneSpec> = []
    for (const dir of devices) {
      const planned = yield* Effect.either(Effect.flatMap(readHwmonDevice(dir), (d) => planDevice(d, chipRules)))
      if (Either.isLeft(planned)) {
        yield* Effect.logWarning("skipping hwmon device").pipe(
          Effect.annotateLogs({ device: dir, reason: planned.left.reason })
        )
        continue
      }
      if (planned.right.zones.length > 0) {
        yield* Effect.logDebug("hwmon device sensors").pipe(
          Effect.annotateLogs({
            device: dir,
            tier: planned.right.tier,
            zones: planned.right.zones.map((z) => z.name).join(",")
          })
        )
      }
      specs.push(...planned.right.zones)
    }
    return specs
  })

export const makeHwmonMeter: (
  sysfs: string,
  zonesFilter: ReadonlyArray<string>,
  chipRules: ReadonlyArray<HwmonChipRule>
) => Effect.Effect<CpuPowerMeterShape, MeterUnavailable> = Effect.fn("HwmonMeter.make")(function*(
  sysfs: string,
  zonesFilter: ReadonlyArray<string>,
  chipRules: ReadonlyArray<HwmonChipRule>
) {
  const dir = hwmonDir(sysfs)
  const discovered = yield* discoverHwmonSpecs(sysfs, chipRules)
  if (discovered.length === 0) {
    return yield* unavailable(`no hwmon power or energy sensors found under ${dir}`, NO_HWMON_HINT)
  }
  const filtered = filterHwmonSpecs(discovered, zonesFilter)
  if (filtered.length === 0) {
    const found = Arr.dedupe(discovered.map((s) => s.name)).join(", ")
    return yield* unavailable(
      `no hwmon zones found after filtering (experimental.hwmon.zones: ${zonesFilter.join(", ")}; found: ${found})`
    )
  }

  // Read every sensor once, in order, so a broken driver (EAGAIN, EIO, a value that is not a
  // number) costs its own zone at startup rather than a zone that fails every interval.
  const probed = yield* Effect.forEach(
    filtered,
    (spec) => Effect.either(readSpec(spec)).pipe(Effect.map((r) => [spec, r] as const))
  )
  const readable: Array<HwmonZoneSpec> = []
  for (const [spec, result] of probed) {
    if (Either.isRight(result)) {
      readable.push(spec)
    } else {
      yield* Effect.logWarning("skipping unreadable hwmon sensor").pipe(
        Effect.annotateLogs({ zone: spec.name, path: specPath(spec), reason: result.left.reason })
      )
    }
  }
  const firstFailure = probed.map(([, r]) => r).find(Either.isLeft)
  if (readable.length === 0 && firstFailure !== undefined) {
    return yield* unavailable(`no readable hwmon sensor: ${firstFailure.left.message}`)
  }

  const { zones, dropped } = yield* groupHwmonZones(readable)
  for (const spec of dropped) {
    yield* Effect.logWarning("hwmon power sensor left out: an energy sensor has the same name").pipe(
      Effect.annotateLogs({ zone: spec.name, path: specPath(spec) })
    )
  }
  return yield* makeMeterShape(
    "hwmon",
    zones,
    (sorted: ReadonlyArray<EnergyZone>) => choosePrimaryZone(sorted, HWMON_PRIMARY_PRIORITY)
  )
})
