/**
 * `/proc/<pid>/stat`: the three numbers the informer needs — utime (field 14), stime (15) and
 * starttime (22) — and where the comm sits, parsed straight from the bytes `read(2)` returned.
 *
 * Why bytes: this is the only file read for every known process on every refresh (10k–50k
 * per refresh on a busy node). Decoding each line to a string and splitting it would
 * allocate ~55 strings per process; walking the bytes allocates nothing.
 *
 * The comm (field 2) is in parentheses and may itself contain spaces and parentheses
 * (`(a) (b)`), so the fields are counted from the LAST `)` of the line, as the kernel's own
 * tools do.
 */

/** Parser output; one mutable instance per informer is reused for every process. */
export interface PidStatFields {
  /** utime + stime, in USER_HZ ticks. */
  cpuTicks: number
  /** Field 22, ticks after boot: with the pid, identifies one process incarnation. */
  startTime: number
  /** Byte range of the comm inside the buffer (between the parentheses). */
  commStart: number
  commEnd: number
}

export const emptyPidStatFields = (): PidStatFields => ({ cpuTicks: 0, startTime: 0, commStart: 0, commEnd: 0 })

const SPACE = 0x20
const OPEN_PAREN = 0x28
const CLOSE_PAREN = 0x29
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39

/** 2^64 − 1 as ASCII digits: utime, stime and starttime are u64 in the kernel. */
const U64_MAX_DIGITS = "18446744073709551615"

/**
 * Whether the `count` significant digits at `bytes[start]` fit a u64: fewer than 20 always;
 * 20 when they do not exceed 2^64 − 1 digit by digit. (Past 2^53 the double loses digits,
 * so the bound cannot be checked on the parsed value: 2^64 and 2^64 − 1 are the same double.)
 */
const fitsU64 = (bytes: Uint8Array, start: number, count: number): boolean => {
  if (count < U64_MAX_DIGITS.length) return true
  if (count > U64_MAX_DIGITS.length) return false
  for (let i = 0; i < count; i++) {
    const d = bytes[start + i] ?? 0
    const max = U64_MAX_DIGITS.charCodeAt(i)
    if (d !== max) return d < max
  }
  return true
}

/** Fields are numbered as in proc(5): 1 pid, 2 comm, 3 state, …, 14 utime, 15 stime, 22 starttime. */
const UTIME = 14
const STIME = 15
const STARTTIME = 22

/**
 * Parses `bytes[0, length)` into `out`. Returns false when the line is not a stat line
 * (no parentheses, a non-numeric time field, a time field past 2^64 − 1, or fewer than 22
 * fields); `out` is then garbage. The fields not parsed are not checked.
 */
export const parsePidStat = (bytes: Uint8Array, length: number, out: PidStatFields): boolean => {
  const open = bytes.indexOf(OPEN_PAREN)
  const close = length > 0 ? bytes.lastIndexOf(CLOSE_PAREN, length - 1) : -1
  if (open < 0 || close < open || close + 2 >= length || bytes[close + 1] !== SPACE) return false
  out.commStart = open + 1
  out.commEnd = close

  let field = 3
  let value = 0
  let digits = 0
  // Digits after any leading zeros, and where they start: for the u64 bound.
  let significant = 0
  let significantStart = 0
  let utime = 0
  let stime = 0
  for (let i = close + 2; i < length; i++) {
    const c = bytes[i] ?? SPACE
    if (c === SPACE || c === 0x0a) {
      if (field === UTIME || field === STIME || field === STARTTIME) {
        if (digits === 0 || !fitsU64(bytes, significantStart, significant)) return false
        if (field === UTIME) utime = value
        else if (field === STIME) stime = value
        else {
          out.startTime = value
          out.cpuTicks = utime + stime
          return true
        }
      }
      field++
      value = 0
      digits = 0
      significant = 0
    } else if (field === UTIME || field === STIME || field === STARTTIME) {
      if (c < DIGIT_0 || c > DIGIT_9) return false
      if (significant === 0 && c !== DIGIT_0) significantStart = i
      if (significant > 0 || c !== DIGIT_0) significant++
      value = value * 10 + (c - DIGIT_0)
      digits++
    }
  }
  // A line that ends right after starttime (no trailing fields, no newline).
  if (field === STARTTIME && digits > 0 && fitsU64(bytes, significantStart, significant)) {
    out.startTime = value
    out.cpuTicks = utime + stime
    return true
  }
  return false
}

/**
 * True when `bytes[start, end)` holds exactly the char codes of `latin1` — the comm bytes
 * remembered from an earlier read, compared without decoding (no allocation).
 */
export const sameBytes = (bytes: Uint8Array, start: number, end: number, latin1: string): boolean => {
  if (end - start !== latin1.length) return false
  for (let i = 0; i < latin1.length; i++) {
    if (bytes[start + i] !== latin1.charCodeAt(i)) return false
  }
  return true
}
