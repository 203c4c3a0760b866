import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { bookedDelta, counterDelta } from "../../src/device/wrap.js"

const J = 1_000_000n

describe("counterDelta (kepler-behaviour.md §12 check 5)", () => {
  it("cur 10 J, prev 90 J, max 100 J books 20 J", () => {
    const d = counterDelta(10n * J, 90n * J, 100n * J)
    expect(d).toEqual({ _tag: "Wrapped", delta: 20n * J })
    expect(bookedDelta(d)).toBe(20n * J)
  })

  it("(10, 20, max 0) books 0: a reset without a known boundary", () => {
    const d = counterDelta(10n, 20n, 0n)
    expect(d).toEqual({ _tag: "Reset" })
    expect(bookedDelta(d)).toBe(0n)
  })

  it("(0, 100, max 100) books 0", () => {
    expect(bookedDelta(counterDelta(0n, 100n, 100n))).toBe(0n)
  })

  it("a previous value beyond the max is a reset, not a wrap", () => {
    expect(counterDelta(5n, 150n, 100n)).toEqual({ _tag: "Reset" })
  })

  it("an advancing counter books the plain difference", () => {
    expect(counterDelta(150n, 100n, 1000n)).toEqual({ _tag: "Advanced", delta: 50n })
  })

  it("recovers any increment below the max across a wrap", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.bigInt({ min: 1n, max: 2n ** 40n }),
        FastCheck.bigInt({ min: 0n, max: 2n ** 40n }),
        FastCheck.bigInt({ min: 0n, max: 2n ** 40n }),
        (max, start, step) => {
          const previous = start % max
          const increment = step % max
          const current = (previous + increment) % max
          expect(bookedDelta(counterDelta(current, previous, max))).toBe(increment)
        }
      ),
      { seed: 42, numRuns: 500 }
    )
  })
})
