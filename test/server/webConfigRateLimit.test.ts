import { describe, expect, it } from "@effect/vitest"
import { FastCheck, HashMap } from "effect"
import {
  fullBucket,
  type RateLimit,
  takeClientToken,
  takeToken,
  type TokenBucket
} from "../../src/server/webConfigRateLimit.js"

/** Feeds requests at the given times; returns which were allowed. */
const run = (limit: RateLimit, times: ReadonlyArray<number>): ReadonlyArray<boolean> => {
  let bucket = fullBucket(limit, times[0] ?? 0)
  return times.map((t) => {
    const [ok, next] = takeToken(limit, bucket, t)
    bucket = next
    return ok
  })
}

describe("token bucket", () => {
  it("allows a burst, then one request per interval", () => {
    const limit = { intervalMillis: 1000, burst: 2 }
    expect(run(limit, [0, 0, 0, 500, 1000, 1500, 2000, 2000])).toEqual([
      true,
      true,
      false,
      false,
      true,
      false,
      true,
      false
    ])
  })

  it("never allows more than burst + elapsed / interval, and always serves requests spaced by the interval", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 10_000 }),
        FastCheck.integer({ min: 1, max: 20 }),
        FastCheck.array(FastCheck.integer({ min: 0, max: 5_000 }), { maxLength: 200 }),
        (intervalMillis, burst, gaps) => {
          const times = gaps.reduce<Array<number>>((acc, g) => [...acc, (acc.at(-1) ?? 0) + g], [])
          const allowed = run({ intervalMillis, burst }, times)
          // Any window [times[i], times[j]] admits at most burst + its length / interval requests.
          for (let i = 0; i < times.length; i++) {
            let count = 0
            for (let j = i; j < times.length; j++) {
              if (allowed[j]) count++
              const span = (times[j] ?? 0) - (times[i] ?? 0)
              expect(count).toBeLessThanOrEqual(burst + Math.floor(span / intervalMillis) + 1e-9)
            }
          }
          const spaced = run({ intervalMillis, burst }, times.map((_, k) => k * intervalMillis))
          expect(spaced.every((ok) => ok)).toBe(true)
        }
      ),
      { seed: 42, numRuns: 200 }
    )
  })

  it("a clock that goes backwards adds no tokens", () => {
    expect(run({ intervalMillis: 1000, burst: 1 }, [10_000, 10_000, 0, 5_000, 10_999, 11_000])).toEqual([
      true,
      false,
      false,
      false,
      false,
      true
    ])
  })
})

describe("per-client token buckets", () => {
  const limit = { intervalMillis: 1000, burst: 2 }
  const feed = (requests: ReadonlyArray<readonly [string, number]>, capacity?: number) =>
    requests.reduce<{ allowed: ReadonlyArray<boolean>; buckets: HashMap.HashMap<string, TokenBucket> }>(
      ({ allowed, buckets }, [client, at]) => {
        const [ok, next] = takeClientToken(limit, buckets, client, at, capacity)
        return { allowed: [...allowed, ok], buckets: next }
      },
      { allowed: [], buckets: HashMap.empty() }
    )

  it("one client's flood does not spend another's tokens", () => {
    const flood = Array.from({ length: 50 }, (): readonly [string, number] => ["10.0.0.1", 0])
    const { allowed } = feed([...flood, ["10.0.0.2", 0], ["10.0.0.2", 0], ["10.0.0.2", 0]])
    expect(allowed.slice(0, 50).filter(Boolean).length).toBe(2)
    expect(allowed.slice(50)).toEqual([true, true, false])
  })

  it("stays within capacity, dropping buckets that have refilled before any busy one", () => {
    const { buckets } = feed([["a", 0], ["b", 5000], ["c", 5000]], 2)
    // "a" had refilled by 5000 ms, so it made room for "c"; "b" kept its spent token.
    expect(HashMap.size(buckets)).toBe(2)
    expect(HashMap.has(buckets, "a")).toBe(false)
    expect(HashMap.get(buckets, "b").pipe((b) => b._tag === "Some" && b.value.tokens)).toBe(1)
  })

  it("never holds more than capacity buckets, whatever the traffic", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 8 }),
        FastCheck.array(FastCheck.tuple(FastCheck.constantFrom("a", "b", "c", "d", "e", "f"), FastCheck.nat(3000)), {
          maxLength: 100
        }),
        (capacity, requests) => {
          const sorted = [...requests].sort((x, y) => x[1] - y[1])
          let buckets = HashMap.empty<string, TokenBucket>()
          for (const [client, at] of sorted) {
            const [, next] = takeClientToken(limit, buckets, client, at, capacity)
            buckets = next
            expect(HashMap.size(buckets)).toBeLessThanOrEqual(capacity)
            expect(HashMap.has(buckets, client)).toBe(true)
          }
        }
      ),
      { seed: 42, numRuns: 300 }
    )
  })
})
