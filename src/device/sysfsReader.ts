/**
 * Every file-system operation the meters make under `host.sysfs` — discovery's directory
 * listings and links, the `name`/`max_energy_range_uj`/hwmon attribute reads, and each zone's
 * per-refresh `energy_uj` or hwmon input — goes through this one service. Its default reads the
 * machine; `joulemon record` puts a recording one in its place and `joulemon replay` one that
 * answers from the recording (src/record/sysfsRecording.ts), so the meters' own parsing, wrap
 * handling and aggregation run again on the very text the live run read.
 *
 * A `Context.Reference`: code that reads sysfs needs no extra requirement in its type, and the
 * daemon never provides it.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { readdir, realpath } from "node:fs/promises"
import { readBoundedText } from "../io/boundedRead.js"
import { SYSFS_ATTRIBUTE_LIMIT } from "../io/readLimits.js"
import { readFailure, type SysfsReadError } from "./sysfsReadError.js"

/** What discovery needs of a directory entry: real sysfs uses symlinks for hwmon devices. */
export type SysfsEntryKind = "directory" | "symlink" | "file"

export interface SysfsEntry {
  readonly name: string
  readonly kind: SysfsEntryKind
}

export interface SysfsReaderShape {
  /** The whole file as text (untrimmed), a regular file of at most SYSFS_ATTRIBUTE_LIMIT bytes. */
  readonly readText: (file: string) => Effect.Effect<string, SysfsReadError>
  /** The directory's entries in the file system's order. */
  readonly listDir: (dir: string) => Effect.Effect<ReadonlyArray<SysfsEntry>, SysfsReadError>
  /** The path with every symlink resolved. */
  readonly realpath: (file: string) => Effect.Effect<string, SysfsReadError>
}

const kindOf = (e: { isDirectory(): boolean; isSymbolicLink(): boolean }): SysfsEntryKind =>
  e.isDirectory() ? "directory" : e.isSymbolicLink() ? "symlink" : "file"

export const liveSysfsReader: SysfsReaderShape = {
  readText: (file) =>
    Effect.tryPromise({
      try: () => readBoundedText(file, SYSFS_ATTRIBUTE_LIMIT),
      catch: (cause) => readFailure(file, cause)
    }),
  listDir: (dir) =>
    Effect.tryPromise({
      try: () => readdir(dir, { withFileTypes: true }),
      catch: (cause) => readFailure(dir, cause)
    }).pipe(Effect.map((entries) => entries.map((e) => ({ name: e.name, kind: kindOf(e) })))),
  realpath: (file) =>
    Effect.tryPromise({
      try: () => realpath(file),
      catch: (cause) => readFailure(file, cause)
    })
}

export class SysfsReader extends Context.Reference<SysfsReader>()("joulemon/SysfsReader", {
  defaultValue: () => liveSysfsReader
}) {}

/**
 * `dir`'s entries sorted by name in code-unit order, as Go's ReadDir returns them (and so
 * Kepler's discovery): readdir's order is the file system's, and zone indices and discovery
 * order must not vary with it.
 */
export const listDirSorted = (dir: string): Effect.Effect<ReadonlyArray<SysfsEntry>, SysfsReadError> =>
  Effect.flatMap(SysfsReader, (reader) => reader.listDir(dir)).pipe(
    Effect.map((entries) => [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
  )
