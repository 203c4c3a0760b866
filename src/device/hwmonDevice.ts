/**
 * What one hwmon device offers, decided from its file names, labels and `_enable` flags
 * (kepler-behaviour.md §3.9). Pure: `hwmonScan.ts` reads the directory, this decides.
 *
 * A device gives zones from exactly one tier, the best it has:
 * 1. `energyN_input` — cumulative µJ, like RAPL (no wrap boundary is known);
 * 2. `powerN_average`, else `powerN_input` — instantaneous µW, integrated by the monitor;
 * 3. `inN` × `currN` — mV × mA = µW, paired by `hwmonPairing.ts`.
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as path from "node:path"
import type { HwmonChipRule } from "../config/Config.js"
import { findChipRule } from "./hwmonChipRules.js"
import { type ElectricalChannel, type PairingStrategy, pairVoltageCurrent } from "./hwmonPairing.js"

/** A device as read from sysfs. */
export interface HwmonDevice {
  /** `<sysfs>/class/hwmon/<entry>` */
  readonly dir: string
  /** `<devType>_<devName>` from the `device` link, else the cleaned `name`, else the directory name. */
  readonly chip: string
  /** The cleaned `name` file (the driver, e.g. `ina3221`), "" without one; chip rules match on it. */
  readonly driver: string
  /** Names of the directory's non-directory entries. */
  readonly files: ReadonlyArray<string>
  /** `<file>` → trimmed content, for every `*_label` file that could be read. */
  readonly labels: ReadonlyMap<string, string>
  /** Channels (`power3`, `in2`, …) whose `_enable` file reads 0. */
  readonly disabled: ReadonlySet<string>
}

export type HwmonZoneSpec =
  | {
    readonly _tag: "Energy"
    readonly name: string
    readonly index: number
    readonly chip: string
    readonly file: string
  }
  | {
    readonly _tag: "Power"
    readonly name: string
    readonly index: number
    readonly chip: string
    readonly file: string
  }
  | {
    readonly _tag: "VoltageCurrent"
    readonly name: string
    readonly index: number
    readonly chip: string
    readonly voltageFile: string
    readonly currentFile: string
  }

/** The file exported as the zone's `path` label (the voltage file for a V × I rail, as Kepler). */
export const specPath = (spec: HwmonZoneSpec): string => (spec._tag === "VoltageCurrent" ? spec.voltageFile : spec.file)

export type HwmonTier = "energy" | "power" | PairingStrategy

export interface DevicePlan {
  readonly tier: HwmonTier | "none"
  readonly zones: ReadonlyArray<HwmonZoneSpec>
}

export class HwmonDeviceError extends Data.TaggedError("HwmonDeviceError")<{
  readonly dir: string
  readonly reason: string
}> {
  override get message(): string {
    return `hwmon device ${this.dir}: ${this.reason}`
  }
}

const INVALID_METRIC_CHARS = /[^a-z0-9:_]/g

/** Lowercase, every character outside `[a-z0-9:_]` replaced by `_`, then `_` trimmed at both ends. */
export const cleanMetricName = (raw: string): string =>
  raw.toLowerCase().replace(INVALID_METRIC_CHARS, "_").replace(/^_+|_+$/g, "")

export type SensorType = "energy" | "power" | "in" | "curr"

export interface SensorChannel {
  readonly index: number
  /** property (`input`, `average`, `label`, `enable`, …) → file name */
  readonly files: ReadonlyMap<string, string>
}

/** The channels of one sensor type, from `<type><N>_<property>` file names, sorted by N. */
export const sensorChannels = (files: ReadonlyArray<string>, type: SensorType): ReadonlyArray<SensorChannel> => {
  const pattern = new RegExp(`^${type}(\\d+)_(.+)$`)
  const byIndex = new Map<number, Map<string, string>>()
  for (const file of files) {
    const match = pattern.exec(file)
    if (match === null) continue
    const index = Number(match[1])
    const property = match[2] ?? ""
    const channel = byIndex.get(index) ?? new Map<string, string>()
    channel.set(property, file)
    byIndex.set(index, channel)
  }
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([index, channelFiles]) => ({
    index,
    files: channelFiles
  }))
}

const labelOf = (device: HwmonDevice, channel: SensorChannel): string => {
  const file = channel.files.get("label")
  const text = file === undefined ? undefined : device.labels.get(file)
  return text === undefined ? "" : cleanMetricName(text)
}

/** A missing or unreadable `_enable` file means enabled (Kepler fails open, and the read will tell). */
const enabled = (device: HwmonDevice, type: SensorType, channel: SensorChannel): boolean =>
  !device.disabled.has(`${type}${channel.index}`)

const inDir = (device: HwmonDevice, file: string): string => path.join(device.dir, file)

/** One zone per enabled channel of `kind` with an input file (`pick` chooses which). */
const channelZones = (
  device: HwmonDevice,
  kind: "energy" | "power",
  tag: "Energy" | "Power",
  pick: (files: ReadonlyMap<string, string>) => string | undefined
): ReadonlyArray<HwmonZoneSpec> =>
  sensorChannels(device.files, kind).flatMap((channel) => {
    const file = pick(channel.files)
    if (file === undefined || !enabled(device, kind, channel)) return []
    const label = labelOf(device, channel)
    return [
      {
        _tag: tag,
        name: label !== "" ? label : `${device.chip}_${kind}${channel.index}`,
        index: channel.index,
        chip: device.chip,
        file: inDir(device, file)
      }
    ]
  })

const energyZones = (device: HwmonDevice): ReadonlyArray<HwmonZoneSpec> =>
  channelZones(device, "energy", "Energy", (files) => files.get("input"))

/** `powerN_average` is preferred: drivers that have both smooth it over their own window. */
const powerZones = (device: HwmonDevice): ReadonlyArray<HwmonZoneSpec> =>
  channelZones(device, "power", "Power", (files) => files.get("average") ?? files.get("input"))

const electricalChannels = (device: HwmonDevice, type: "in" | "curr"): ReadonlyArray<ElectricalChannel> =>
  sensorChannels(device.files, type).flatMap((channel) => {
    const input = channel.files.get("input")
    if (input === undefined || !enabled(device, type, channel)) return []
    const average = channel.files.get("average")
    return [
      {
        index: channel.index,
        label: labelOf(device, channel),
        input: inDir(device, input),
        average: average === undefined ? undefined : inDir(device, average)
      }
    ]
  })

export const NO_MATCHING_LABELS =
  "voltage and current sensors found but no matching labels available for power calculation"

/** The zones one device contributes, from its best tier; an error only for unpairable V × I sensors. */
export const planDevice = (
  device: HwmonDevice,
  configRules: ReadonlyArray<HwmonChipRule>
): Either.Either<DevicePlan, HwmonDeviceError> => {
  const energy = energyZones(device)
  if (energy.length > 0) return Either.right({ tier: "energy", zones: energy })
  const power = powerZones(device)
  if (power.length > 0) return Either.right({ tier: "power", zones: power })

  const pairing = pairVoltageCurrent(
    device.chip,
    findChipRule(device.driver, configRules),
    electricalChannels(device, "in"),
    electricalChannels(device, "curr")
  )
  if (pairing === undefined) {
    const rulesHint = device.driver === ""
      ? ""
      : ` (chip "${device.driver}": add an experimental.hwmon.chipRules entry)`
    return Either.left(new HwmonDeviceError({ dir: device.dir, reason: `${NO_MATCHING_LABELS}${rulesHint}` }))
  }
  if (pairing.rails.length === 0) return Either.right({ tier: "none", zones: [] })
  return Either.right({
    tier: pairing.strategy,
    zones: pairing.rails.map((r) => ({
      _tag: "VoltageCurrent" as const,
      name: r.name,
      index: r.index,
      chip: device.chip,
      voltageFile: r.voltageFile,
      currentFile: r.currentFile
    }))
  })
}
