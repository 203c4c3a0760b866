/**
 * Why a sysfs read failed. The errno code is kept so callers can tell "permission denied"
 * (fixable by the operator) from "no such file" (no hardware) and say what to do.
 */
import * as Data from "effect/Data"
import { ReadRefused } from "../io/boundedRead.js"

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
