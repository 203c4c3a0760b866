/**
 * Reading the one-value files of sysfs (`name`, `energy_uj`, `max_energy_range_uj`, hwmon
 * inputs). Failures keep the errno code so callers can tell "permission denied" (fixable by
 * the operator) from "no such file" (no hardware) and say what to do.
 */
import * as Effect from "effect/Effect"
import { parseUint64 } from "../io/uint64.js"
import { SysfsReader } from "./sysfsReader.js"
import { SysfsReadError } from "./sysfsReadError.js"

export { parseUint64 }
export { errnoCode, readFailure, SysfsReadError } from "./sysfsReadError.js"

/**
 * The file's content without surrounding whitespace (sysfs values end in a newline), read
 * through the SysfsReader (sysfsReader.ts): a regular file of at most one page
 * (SYSFS_ATTRIBUTE_LIMIT); anything else fails as unreadable.
 */
export const readSysfsText = (file: string): Effect.Effect<string, SysfsReadError> =>
  Effect.flatMap(SysfsReader, (reader) => reader.readText(file)).pipe(Effect.map((text) => text.trim()))

export const readSysfsUint64 = (file: string): Effect.Effect<bigint, SysfsReadError> =>
  Effect.flatMap(readSysfsText(file), (text) => {
    const value = parseUint64(text)
    return value === undefined
      ? Effect.fail(
        new SysfsReadError({ path: file, reason: `not an unsigned 64-bit integer: ${JSON.stringify(text)}` })
      )
      : Effect.succeed(value)
  })
