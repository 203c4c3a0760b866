/**
 * Go's `time.Duration` text form, because Kepler's YAML and flags use it (`500ms`, `1m30s`).
 *
 * A Go duration is a signed count of nanoseconds (int64). Effect's `Duration` cannot hold a
 * negative value (it clamps to zero), yet validation must be able to say
 * `invalid monitor interval: -1s can't be negative`. So the configuration keeps the signed
 * nanoseconds (`GoDuration`, a bigint) until validation has passed, and only then converts to
 * `Duration.Duration` with `toDuration`.
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

/** Signed nanoseconds, exactly as Go's `time.Duration`. */
export type GoDuration = bigint

const NANOSECOND = 1n
const MICROSECOND = 1_000n * NANOSECOND
const MILLISECOND = 1_000n * MICROSECOND
const SECOND = 1_000n * MILLISECOND
const MINUTE = 60n * SECOND
const HOUR = 60n * MINUTE

/** int64 bounds: Go rejects anything outside them as "invalid duration". */
const MAX_MAGNITUDE_POSITIVE = (1n << 63n) - 1n
const MAX_MAGNITUDE_NEGATIVE = 1n << 63n

/** Go's unit table, including both spellings of "micro" (U+00B5 and U+03BC). */
const UNITS: ReadonlyMap<string, bigint> = new Map([
  ["ns", NANOSECOND],
  ["us", MICROSECOND],
  ["\u00b5s", MICROSECOND],
  ["\u03bcs", MICROSECOND],
  ["ms", MILLISECOND],
  ["s", SECOND],
  ["m", MINUTE],
  ["h", HOUR]
])

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9"

const quote = (s: string): string => JSON.stringify(s)

/**
 * Parses Go's `time.ParseDuration` syntax: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` or a lone `0`.
 * The error text is Go's (`time: missing unit in duration "5"`), so messages match Kepler's.
 *
 * Fractions are computed in exact integer arithmetic (Go uses a float64 there, which is
 * nanosecond-exact for every input it documents), truncating below one nanosecond like Go.
 */
export const parseGoDuration = (text: string): Either.Either<GoDuration, string> => {
  const invalid = Either.left(`time: invalid duration ${quote(text)}`)
  let s = text
  let negative = false
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s.startsWith("-")
    s = s.slice(1)
  }
  if (s === "0") return Either.right(0n)
  if (s === "") return invalid

  let total = 0n
  while (s !== "") {
    if (!(s[0] === "." || isDigit(s[0]))) return invalid

    let i = 0
    while (isDigit(s[i])) i++
    const intDigits = s.slice(0, i)
    s = s.slice(i)

    let fracDigits = ""
    if (s.startsWith(".")) {
      s = s.slice(1)
      let j = 0
      while (isDigit(s[j])) j++
      fracDigits = s.slice(0, j)
      s = s.slice(j)
    }
    if (intDigits === "" && fracDigits === "") return invalid

    let k = 0
    while (k < s.length && !(s[k] === "." || isDigit(s[k]))) k++
    if (k === 0) return Either.left(`time: missing unit in duration ${quote(text)}`)
    const unitName = s.slice(0, k)
    s = s.slice(k)
    const unit = UNITS.get(unitName)
    if (unit === undefined) {
      return Either.left(`time: unknown unit ${quote(unitName)} in duration ${quote(text)}`)
    }

    const whole = intDigits === "" ? 0n : BigInt(intDigits)
    const fraction = fracDigits === "" ? 0n : (BigInt(fracDigits) * unit) / 10n ** BigInt(fracDigits.length)
    total += whole * unit + fraction
    if (total > MAX_MAGNITUDE_NEGATIVE) return invalid
  }
  if (negative) return Either.right(-total)
  if (total > MAX_MAGNITUDE_POSITIVE) return invalid
  return Either.right(total)
}

/** `digits` of `value / 10^precision` after the point, trailing zeros dropped ("" when none). */
const fractionDigits = (value: bigint, precision: number): string => {
  const digits = (value % 10n ** BigInt(precision)).toString().padStart(precision, "0")
  const trimmed = digits.replace(/0+$/, "")
  return trimmed === "" ? "" : `.${trimmed}`
}

/**
 * Formats like Go's `Duration.String()`: `0s`, `1.5µs`, `500ms`, `1m30s`, `1h0m0s`, `-1s`.
 * Exact for every int64, so `parseGoDuration(formatGoDuration(d))` gives back `d`.
 */
export const formatGoDuration = (nanos: GoDuration): string => {
  const sign = nanos < 0n ? "-" : ""
  const u = nanos < 0n ? -nanos : nanos
  if (u === 0n) return "0s"
  if (u < SECOND) {
    if (u < MICROSECOND) return `${sign}${u}ns`
    if (u < MILLISECOND) return `${sign}${u / MICROSECOND}${fractionDigits(u, 3)}\u00b5s`
    return `${sign}${u / MILLISECOND}${fractionDigits(u, 6)}ms`
  }
  const seconds = `${(u / SECOND) % 60n}${fractionDigits(u, 9)}s`
  const totalMinutes = u / MINUTE
  if (totalMinutes === 0n) return `${sign}${seconds}`
  const hours = totalMinutes / 60n
  const minutes = `${totalMinutes % 60n}m`
  return hours === 0n ? `${sign}${minutes}${seconds}` : `${sign}${hours}h${minutes}${seconds}`
}

/**
 * For values already known to be non-negative (after validation). Whole milliseconds become a
 * millisecond `Duration`, like the ones `defaults.ts` builds, so equal settings compare equal
 * structurally too (`Duration.equals` would say so either way).
 */
export const toDuration = (nanos: GoDuration): Duration.Duration => {
  if (nanos <= 0n) return Duration.zero
  return nanos % MILLISECOND === 0n ? Duration.millis(Number(nanos / MILLISECOND)) : Duration.nanos(nanos)
}

/** The signed nanoseconds of a finite Effect `Duration` (used to seed defaults). */
export const fromDuration = (duration: Duration.Duration): GoDuration => Duration.unsafeToNanos(duration)

/** Go-style text of an Effect `Duration`, for messages and help text. */
export const formatDuration = (duration: Duration.Duration): string => formatGoDuration(fromDuration(duration))
