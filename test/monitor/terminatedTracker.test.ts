import { describe, expect, it } from "@effect/vitest"
import type { ZoneValues } from "../../src/monitor/snapshot.js"
import { type TrackerConfig, trackTerminated } from "../../src/monitor/terminatedTracker.js"

interface W extends ZoneValues {
  readonly id: string
}
const w = (id: string, joules: number): W => ({ id, energy: [BigInt(joules) * 1_000_000n], watts: [0] })
const cfg = (maxSize: number, minJoules = 0): TrackerConfig => ({
  maxSize,
  minEnergy: BigInt(minJoules) * 1_000_000n,
  primaryZone: 0
})
const ids = (ws: ReadonlyArray<W>) => ws.map((x) => x.id)
const add = (tracked: ReadonlyArray<W>, additions: ReadonlyArray<W>, c: TrackerConfig) =>
  trackTerminated(tracked, additions, (x) => x.id, c)

// Vectors of kepler-behaviour.md §5.6
describe("trackTerminated", () => {
  it("evicts the minimum when full and the new entry is larger", () => {
    const full = add([], [w("a", 100), w("b", 500), w("c", 1000)], cfg(3))
    expect(ids(add(full, [w("d", 300)], cfg(3)))).toEqual(["c", "b", "d"])
  })

  it("ignores an entry not larger than the minimum when full", () => {
    const full = add([], [w("a", 1000), w("b", 2000)], cfg(2))
    expect(ids(add(full, [w("x", 50)], cfg(2)))).toEqual(["b", "a"])
    expect(ids(add(full, [w("y", 1000)], cfg(2)))).toEqual(["b", "a"])
  })

  it("applies the threshold, keeping an entry equal to it", () => {
    expect(ids(add([], [w("a", 50), w("b", 99), w("c", 0), w("d", 100), w("e", 101), w("f", 500)], cfg(-1, 100))))
      .toEqual([
        "f",
        "e",
        "d"
      ])
    expect(ids(add([], [w("a", 199), w("b", 200)], cfg(10, 200)))).toEqual(["b"])
  })

  it("combines threshold and capacity", () => {
    expect(ids(add([], [w("a", 120), w("b", 500), w("c", 300)], cfg(2, 100)))).toEqual(["b", "c"])
  })

  it("is unlimited for negative sizes and disabled for 0", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => w(`w${String(i).padStart(3, "0")}`, i + 1))
    expect(add([], hundred, cfg(-5))).toHaveLength(100)
    expect(add([], hundred, cfg(-1))).toHaveLength(100)
    expect(add([], hundred, cfg(0))).toHaveLength(0)
  })

  it("ignores an id that is already tracked", () => {
    const once = add([], [w("a", 10)], cfg(5))
    expect(add(once, [w("a", 99)], cfg(5))).toEqual(once)
  })
})
