import { describe, expect, it } from "@effect/vitest"
import { Duration, Either, FastCheck } from "effect"
import { formatDuration, formatGoDuration, parseGoDuration, toDuration } from "../../src/config/duration.js"

const NS = 1n
const US = 1_000n
const MS = 1_000_000n
const S = 1_000_000_000n
const MIN = 60n * S
const H = 60n * MIN
const INT64_MAX = (1n << 63n) - 1n
const INT64_MIN = -(1n << 63n)

describe("parseGoDuration", () => {
  const valid: ReadonlyArray<readonly [string, bigint]> = [
    ["500ms", 500n * MS],
    ["5s", 5n * S],
    ["1m30s", 90n * S],
    ["1.5h", 90n * MIN],
    ["300us", 300n * US],
    ["300\u00b5s", 300n * US], // micro sign
    ["300\u03bcs", 300n * US], // Greek mu
    ["10ns", 10n * NS],
    ["-1s", -S],
    ["+5s", 5n * S],
    ["0", 0n],
    ["-0", 0n],
    ["0s", 0n],
    [".5s", 500n * MS],
    ["1.s", S],
    ["1h2m3s4ms5us6ns", H + 2n * MIN + 3n * S + 4n * MS + 5n * US + 6n],
    ["1.0000000009s", S], // below a nanosecond is truncated, as in Go
    ["2562047h47m16.854775807s", INT64_MAX],
    ["-2562047h47m16.854775808s", INT64_MIN]
  ]
  for (const [text, nanos] of valid) {
    it(`parses ${JSON.stringify(text)}`, () => {
      expect(parseGoDuration(text)).toEqual(Either.right(nanos))
    })
  }

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ["", "time: invalid duration \"\""],
    ["-", "time: invalid duration \"-\""],
    ["5", "time: missing unit in duration \"5\""],
    ["1.5", "time: missing unit in duration \"1.5\""],
    ["5x", "time: unknown unit \"x\" in duration \"5x\""],
    ["1s ", "time: unknown unit \"s \" in duration \"1s \""],
    ["5S", "time: unknown unit \"S\" in duration \"5S\""],
    [".s", "time: invalid duration \".s\""],
    ["s", "time: invalid duration \"s\""],
    ["1.5.5s", "time: missing unit in duration \"1.5.5s\""],
    ["9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""],
    ["2562048h", "time: invalid duration \"2562048h\""],
    ["-9223372036854775809ns", "time: invalid duration \"-9223372036854775809ns\""]
  ]
  for (const [text, message] of invalid) {
    it(`rejects ${JSON.stringify(text)} with Go's message`, () => {
      expect(parseGoDuration(text)).toEqual(Either.left(message))
    })
  }
})

describe("formatGoDuration", () => {
  const table: ReadonlyArray<readonly [bigint, string]> = [
    [0n, "0s"],
    [1n, "1ns"],
    [999n, "999ns"],
    [1_500n, "1.5\u00b5s"],
    [500n * MS, "500ms"],
    [1_234_567n, "1.234567ms"],
    [1_500n * MS, "1.5s"],
    [90n * S, "1m30s"],
    [5n * MIN, "5m0s"],
    [H, "1h0m0s"],
    [H + 1n, "1h0m0.000000001s"],
    [-S, "-1s"],
    [-(500n * MS), "-500ms"],
    [INT64_MAX, "2562047h47m16.854775807s"],
    [INT64_MIN, "-2562047h47m16.854775808s"]
  ]
  for (const [nanos, text] of table) {
    it(`formats ${nanos}ns as ${text}`, () => {
      expect(formatGoDuration(nanos)).toBe(text)
    })
  }

  it("round-trips every int64 through parse (property)", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.bigInt({ min: INT64_MIN, max: INT64_MAX }), (nanos) => {
        expect(parseGoDuration(formatGoDuration(nanos))).toEqual(Either.right(nanos))
      }),
      { seed: 42, numRuns: 2000 }
    )
  })

  it("round-trips small and unit-aligned values too (property)", () => {
    const unit = FastCheck.constantFrom(NS, US, MS, S, MIN, H)
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: -100_000, max: 100_000 }), unit, (n, u) => {
        const nanos = BigInt(n) * u
        expect(parseGoDuration(formatGoDuration(nanos))).toEqual(Either.right(nanos))
      }),
      { seed: 42, numRuns: 2000 }
    )
  })
})

describe("toDuration / formatDuration", () => {
  it("turns whole milliseconds into the same Duration the defaults use", () => {
    expect(toDuration(5n * S)).toEqual(Duration.seconds(5))
    expect(toDuration(500n * MS)).toEqual(Duration.millis(500))
  })

  it("keeps sub-millisecond precision", () => {
    expect(Duration.toNanos(toDuration(1_500n))).toEqual(Duration.toNanos(Duration.nanos(1_500n)))
    expect(Duration.unsafeToNanos(toDuration(1_500n))).toBe(1_500n)
  })

  it("maps zero (and, defensively, negatives) to zero", () => {
    expect(Duration.toMillis(toDuration(0n))).toBe(0)
    expect(Duration.toMillis(toDuration(-S))).toBe(0)
  })

  it("formats an Effect Duration in Go style", () => {
    expect(formatDuration(Duration.seconds(90))).toBe("1m30s")
    expect(formatDuration(Duration.millis(500))).toBe("500ms")
    expect(formatDuration(Duration.zero)).toBe("0s")
  })
})
