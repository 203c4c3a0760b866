/**
 * Reading the one-value files of sysfs (`name`, `energy_uj`, `max_energy_range_uj`, hwmon
 * inputs). Failures keep the errno code so callers can tell "permission denied" (fixable by
 * the operator) from "no such file" (no hardware) and say what to do.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { readBoundedText, ReadRefused } from "../io/boundedRead.js"
import { SYSFS_ATTRIBUTE_LIMIT } from "../io/readLimits.js"
import { parseUint64 } from "../io/uint64.js"

export { parseUint64 }

export class SysfsReadError extends Data.TaggedError("SysfsReadError")<{
  readonly path: string
  readonly reason: string
  /** errno code (EACCES, ENOENT, EISDIR, …) when the failure came from the OS. */
  readonly code?: string
}> {
  override get message(): string {
    return `cannot read ${this.path}: ${this.reason}`
  }
}

const ERRNO_TEXT: ReadonlyMap<string, string> = new Map([
  ["EACCES", "permission denied"],
  ["EPERM", "operation not permitted"],
  ["ENOENT", "no such file"],
  ["EISDIR", "is a directory"],
  ["ENOTDIR", "not a directory"],
  ["ENODATA", "no data available"],
  ["EIO", "input/output error"]
])

export const errnoCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/** Node's own messages repeat the path; ours name it once, in `SysfsReadError.message`. */
export const readFailure = (file: string, cause: unknown): SysfsReadError => {
  if (cause instanceof ReadRefused) return new SysfsReadError({ path: file, reason: cause.reason })
  const code = errnoCode(cause)
  if (code === undefined) {
    return new SysfsReadError({ path: file, reason: cause instanceof Error ? cause.message : String(cause) })
  }
  const text = ERRNO_TEXT.get(code)
  const reason = text === undefined ? (cause instanceof Error ? cause.message : code) : `${code} (${text})`
  return new SysfsReadError({ path: file, reason, code })
}

/**
 * The file's content without surrounding whitespace (sysfs values end in a newline). A regular
 * file of at most one page (SYSFS_ATTRIBUTE_LIMIT); anything else fails as unreadable.
 */
export const readSysfsText = (file: string): Effect.Effect<string, SysfsReadError> =>
  Effect.tryPromise({
    try: () => readBoundedText(file, SYSFS_ATTRIBUTE_LIMIT),
    catch: (cause) => readFailure(file, cause)
  }).pipe(Effect.map((text) => text.trim()))

export const readSysfsUint64 = (file: string): Effect.Effect<bigint, SysfsReadError> =>
  Effect.flatMap(readSysfsText(file), (text) => {
    const value = parseUint64(text)
    return value === undefined
      ? Effect.fail(
        new SysfsReadError({ path: file, reason: `not an unsigned 64-bit integer: ${JSON.stringify(text)}` })
      )
      : Effect.succeed(value)
  })
