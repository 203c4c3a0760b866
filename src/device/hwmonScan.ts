/**
 * Reads `<sysfs>/class/hwmon`: the device entries (directories, and the symlinks real sysfs uses
 * for them) and, per device, what `hwmonDevice.ts` needs to decide — file names, labels,
 * `_enable` flags and the chip name. The only hwmon code that touches the file system at
 * discovery time.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import { cleanMetricName, type HwmonDevice, HwmonDeviceError } from "./hwmonDevice.js"
import { readSysfsText, type SysfsReadError } from "./sysfsFile.js"
import { listDirSorted, SysfsReader } from "./sysfsReader.js"

export const hwmonDir = (sysfs: string): string => path.join(sysfs, "class", "hwmon")

/** Device directories under `class/hwmon`, sorted by entry name. */
export const listHwmonDevices = (sysfs: string): Effect.Effect<ReadonlyArray<string>, SysfsReadError> =>
  listDirSorted(hwmonDir(sysfs)).pipe(
    Effect.map((entries) => entries.filter((e) => e.kind !== "file").map((e) => path.join(hwmonDir(sysfs), e.name)))
  )

const resolved = (file: string): Effect.Effect<Option.Option<string>> =>
  Effect.flatMap(SysfsReader, (reader) => reader.realpath(file)).pipe(Effect.option)

const readOptional = (file: string): Effect.Effect<Option.Option<string>> => readSysfsText(file).pipe(Effect.option)

/**
 * node_exporter's strategy, which Kepler copied: the resolved `device` link gives a stable
 * `<type>_<name>` (`drm_card0`, `i2c_1_1_0040`), else the driver's `name`, else the directory.
 */
const chipName = (dir: string, driver: string): Effect.Effect<string, HwmonDeviceError> =>
  Effect.gen(function*() {
    const device = yield* resolved(path.join(dir, "device"))
    if (Option.isSome(device)) {
      const devName = cleanMetricName(path.basename(device.value))
      const devType = cleanMetricName(path.basename(path.dirname(device.value)))
      if (devType !== "" && devName !== "") return `${devType}_${devName}`
      if (devName !== "") return devName
    }
    if (driver !== "") return driver
    const real = yield* resolved(dir)
    const fromDir = Option.isSome(real) ? cleanMetricName(path.basename(real.value)) : ""
    if (fromDir !== "") return fromDir
    return yield* new HwmonDeviceError({
      dir,
      reason: "could not derive a chip name (no device link, name file or usable directory name)"
    })
  })

const ENABLE_FILE = /^((?:energy|power|in|curr)\d+)_enable$/

export const readHwmonDevice = (dir: string): Effect.Effect<HwmonDevice, HwmonDeviceError> =>
  Effect.gen(function*() {
    const entries = yield* listDirSorted(dir).pipe(
      Effect.mapError((e) => new HwmonDeviceError({ dir, reason: `cannot list sensors: ${e.reason}` }))
    )
    // Like Go's DirEntry.IsDir, a symlink (`device`, `subsystem`) counts as a file here; it
    // never matches a sensor name.
    const files = entries.filter((e) => e.kind !== "directory").map((e) => e.name)
    const driver = Option.match(yield* readOptional(path.join(dir, "name")), {
      onNone: () => "",
      onSome: cleanMetricName
    })
    const chip = yield* chipName(dir, driver)

    const labelFiles = files.filter((f) => f.endsWith("_label"))
    const labels = yield* Effect.forEach(labelFiles, (f) =>
      readOptional(path.join(dir, f)).pipe(Effect.map((text) => Option.map(text, (t) => [f, t] as const))))
    const enableFiles = files.flatMap((f) => {
      const match = ENABLE_FILE.exec(f)
      return match?.[1] === undefined ? [] : [[f, match[1]] as const]
    })
    // Only an explicit "0" disables; a missing or unreadable flag lets the channel be tried.
    const disabled = yield* Effect.forEach(enableFiles, ([file, channel]) =>
      readOptional(path.join(dir, file)).pipe(
        Effect.map((text) => (Option.isSome(text) && text.value === "0" ? Option.some(channel) : Option.none()))
      ))
    return {
      dir,
      chip,
      driver,
      files,
      labels: new Map(labels.flatMap(Option.toArray)),
      disabled: new Set(disabled.flatMap(Option.toArray))
    } satisfies HwmonDevice
  })
