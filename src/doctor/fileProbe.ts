/**
 * Reads one file for the doctor without ever blocking on it: the file is stat'ed first and only
 * a regular file is opened, so a FIFO (or a directory) put where a sysfs attribute should be is
 * reported, not waited on. Every outcome is data: the checks are pure functions over it.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"

export type FileKind = "file" | "directory" | "fifo" | "socket" | "device" | "other"

export type FileProbe =
  | { readonly _tag: "Read"; readonly path: string; readonly text: string }
  | { readonly _tag: "Missing"; readonly path: string }
  | { readonly _tag: "NotAFile"; readonly path: string; readonly kind: FileKind }
  /** `code` is the errno name: EACCES, EPERM, EIO, … */
  | { readonly _tag: "Unreadable"; readonly path: string; readonly code: string; readonly reason: string }

const kindOf = (
  stat: {
    isFile(): boolean
    isDirectory(): boolean
    isFIFO(): boolean
    isSocket(): boolean
    isCharacterDevice(): boolean
    isBlockDevice(): boolean
  }
): FileKind =>
  stat.isFile()
    ? "file"
    : stat.isDirectory()
    ? "directory"
    : stat.isFIFO()
    ? "fifo"
    : stat.isSocket()
    ? "socket"
    : stat.isCharacterDevice() || stat.isBlockDevice()
    ? "device"
    : "other"

const errnoOf = (error: unknown): { readonly code: string; readonly reason: string } => {
  const code = error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : "UNKNOWN"
  return { code, reason: error instanceof Error ? error.message : String(error) }
}

/** Text of the file at `path` (stat follows symlinks, as sysfs's class links need). */
export const probeFile = (path: string): Effect.Effect<FileProbe> =>
  Effect.promise(async (): Promise<FileProbe> => {
    try {
      const kind = kindOf(await fs.stat(path))
      if (kind !== "file") return { _tag: "NotAFile", path, kind }
      return { _tag: "Read", path, text: await fs.readFile(path, "utf8") }
    } catch (error) {
      const { code, reason } = errnoOf(error)
      return code === "ENOENT" || code === "ENOTDIR"
        ? { _tag: "Missing", path }
        : { _tag: "Unreadable", path, code, reason }
    }
  })

/** The entries of a directory, sorted; undefined when it does not exist or cannot be listed. */
export const listDir = (path: string): Effect.Effect<ReadonlyArray<string> | undefined> =>
  Effect.promise(() =>
    fs.readdir(path).then(
      (entries) => [...entries].sort(),
      () => undefined
    )
  )

export const isDirectory = (path: string): Effect.Effect<boolean> =>
  Effect.promise(() =>
    fs.stat(path).then(
      (s) => s.isDirectory(),
      () => false
    )
  )

/** Where a symlink points (`/proc/<pid>/exe`), or the errno that stopped us. */
export const probeLink = (path: string): Effect.Effect<FileProbe> =>
  Effect.promise(async (): Promise<FileProbe> => {
    try {
      return { _tag: "Read", path, text: await fs.readlink(path) }
    } catch (error) {
      const { code, reason } = errnoOf(error)
      return code === "ENOENT" ? { _tag: "Missing", path } : { _tag: "Unreadable", path, code, reason }
    }
  })

/** For messages: what went wrong with a probe that did not read. */
export const describeProbe = (probe: FileProbe): string => {
  switch (probe._tag) {
    case "Read":
      return `${probe.path} is readable`
    case "Missing":
      return `${probe.path} does not exist`
    case "NotAFile":
      return `${probe.path} is a ${probe.kind}, not a regular file`
    case "Unreadable":
      return `${probe.path} cannot be read (${probe.code})`
  }
}
