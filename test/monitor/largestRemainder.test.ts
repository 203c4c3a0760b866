import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { splitLargestRemainder } from "../../src/monitor/largestRemainder.js"

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

describe("splitLargestRemainder", () => {
  it("splits proportionally and exactly", () => {
    expect(splitLargestRemainder(100, [1, 1, 2])).toEqual([25, 25, 50])
    expect(splitLargestRemainder(10, [1, 1, 1])).toEqual([4, 3, 3])
    expect(splitLargestRemainder(2, [1, 1, 1])).toEqual([1, 1, 0])
  })

  it("gives the leftover to the largest remainders, earlier position on ties", () => {
    // 7 × (1,2,4)/7 is exact; 8 × (1,2,4)/7 = 1.14, 2.29, 4.57 → floors 1,2,4 + 1 to the .57
    expect(splitLargestRemainder(8, [1, 2, 4])).toEqual([1, 2, 5])
    expect(splitLargestRemainder(1, [3, 3])).toEqual([1, 0])
  })

  it("books nothing when no weight is positive", () => {
    expect(splitLargestRemainder(100, [0, 0])).toEqual([0, 0])
    expect(splitLargestRemainder(100, [])).toEqual([])
    expect(splitLargestRemainder(0, [1, 2])).toEqual([0, 0])
  })

  it("stays exact when the products exceed 2^53 (bigint path)", () => {
    const total = 9_000_000_000_000 // 9e12 µJ
    const weights = [1_000_003, 2_000_011, 7]
    const parts = splitLargestRemainder(total, weights)
    expect(sum(parts)).toBe(total)
    const big = weights.map((w) => (BigInt(total) * BigInt(w)) / BigInt(sum(weights)))
    parts.forEach((p, i) => expect(BigInt(p) - (big[i] ?? 0n)).toBeGreaterThanOrEqual(0n))
    parts.forEach((p, i) => expect(BigInt(p) - (big[i] ?? 0n)).toBeLessThanOrEqual(1n))
  })

  it("orders remainders exactly when Σw × n is beyond 2^53 (comparator path)", () => {
    const weights = [2 ** 51, 2 ** 51 + 1, 3]
    const total = 7
    const parts = splitLargestRemainder(total, weights)
    expect(sum(parts)).toBe(total)
    // floors 3,3,0 (Σ 6); the one left goes to the largest remainder: index 1.
    expect(parts).toEqual([3, 4, 0])
  })

  it("property: Σ parts = total and every part is its floor or floor + 1", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 200 }),
        (total, weights) => {
          const parts = splitLargestRemainder(total, weights)
          const W = sum(weights)
          if (W === 0) return parts.every((p) => p === 0)
          if (sum(parts) !== total) return false
          return parts.every((p, i) => {
            const floor = (BigInt(total) * BigInt(weights[i] ?? 0)) / BigInt(W)
            return BigInt(p) === floor || BigInt(p) === floor + 1n
          })
        }
      ),
      { seed: 42, numRuns: 500 }
    )
  })
})
