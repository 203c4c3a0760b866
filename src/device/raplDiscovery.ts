/**
 * RAPL zone discovery under `<sysfs>/class/powercap`, as procfs' `sysfs.GetRaplZones` does it
 * (kepler-behaviour.md §3.4): every entry with a readable `name` file is a zone, whatever its
 * `enabled` says, and a zone without a readable `max_energy_range_uj` fails the whole discovery.
 */
import * as Arr from "effect/Array"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { readSysfsText, readSysfsUint64 } from "./sysfsFile.js"
import { listDirSorted } from "./sysfsReader.js"

export interface RaplZoneInfo {
  readonly name: string
  readonly index: number
  /** `<sysfs>/class/powercap/<entry>`; `energy_uj` lives inside it. */
  readonly path: string
  readonly maxEnergy: bigint
}

export class RaplDiscoveryError extends Data.TaggedError("RaplDiscoveryError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `RAPL discovery failed at ${this.path}: ${this.reason}`
  }
}

export const powercapDir = (sysfs: string): string => path.join(sysfs, "class", "powercap")

export const energyFile = (zonePath: string): string => path.join(zonePath, "energy_uj")

/** `package-0` → (package, 0), `package-10` → (package, 10); anything else has no index. */
export const splitZoneName = (raw: string): { readonly name: string; readonly index: number | undefined } => {
  const parts = raw.split("-")
  if (parts.length === 2) {
    const [name = "", digits = ""] = parts
    const index = /^\d+$/.test(digits) ? Number(digits) : Number.NaN
    if (Number.isSafeInteger(index)) return { name, index }
  }
  return { name: raw, index: undefined }
}

/**
 * Names and indices for the `name` files in directory order. An unindexed name takes the
 * counter for that name, and every zone then sets the counter to its index + 1 — so three
 * unindexed `dram` get 0, 1, 2, and an unindexed name after `package-5` gets 6 (as procfs).
 */
export const assignZoneIndices = (
  rawNames: ReadonlyArray<string>
): ReadonlyArray<{ readonly name: string; readonly index: number }> => {
  const next = new Map<string, number>()
  return rawNames.map((raw) => {
    const split = splitZoneName(raw.trim())
    const index = split.index ?? next.get(split.name) ?? 0
    next.set(split.name, index + 1)
    return { name: split.name, index }
  })
}

/**
 * The raw zone list in directory order. A missing powercap directory is an empty list (no RAPL
 * on this machine), not an error; an unreadable one is an error naming it.
 */
export const discoverRaplZones = Effect.fn("RaplSysfs.discover")(function*(sysfs: string) {
  const dir = powercapDir(sysfs)
  // Sorted as Go's ReadDir sorts: zone indices depend on the order.
  const sorted = yield* listDirSorted(dir).pipe(
    Effect.map((list) => list.map((e) => e.name)),
    Effect.catchAll((e) =>
      e.code === "ENOENT" || e.code === "ENOTDIR"
        ? Effect.succeed<ReadonlyArray<string>>([])
        : Effect.fail(new RaplDiscoveryError({ path: dir, reason: `cannot list directory: ${e.reason}` }))
    )
  )

  // Control-type directories (`intel-rapl`, `intel-rapl-mmio`) have no `name` file: not zones.
  const named = yield* Effect.forEach(
    sorted,
    (entry) =>
      readSysfsText(path.join(dir, entry, "name")).pipe(
        Effect.map((raw) => ({ entry, raw })),
        Effect.option
      ),
    { concurrency: 8 }
  )
  const zones = Arr.getSomes(named)
  const indexed = Arr.zip(zones, assignZoneIndices(zones.map((z) => z.raw)))

  // Sequential so that, when several zones lack a max, the error names the first one every time.
  return yield* Effect.forEach(indexed, ([{ entry }, { name, index }]) => {
    const zonePath = path.join(dir, entry)
    const maxFile = path.join(zonePath, "max_energy_range_uj")
    return readSysfsUint64(maxFile).pipe(
      Effect.mapError((e) => new RaplDiscoveryError({ path: maxFile, reason: e.reason })),
      Effect.map((maxEnergy): RaplZoneInfo => ({ name, index, path: zonePath, maxEnergy }))
    )
  })
})
