import { describe, expect, it } from "@effect/vitest"
import { fetched, fetchFailed, initialPodCache, lookIn, polled, settle } from "../../src/k8s/podCache.js"
import type { PodContainer } from "../../src/k8s/podIndex.js"

const container = (podId: string, name: string): PodContainer => ({
  podId,
  podName: `pod-${podId}`,
  namespace: "ns",
  containerName: name,
  cpuRequestMillis: 0,
  podCpuRequestMillis: 0
})
const index = (entries: Record<string, PodContainer>) => new Map(Object.entries(entries))

describe("podCache", () => {
  it("ids in the index are found; others are unknown until a fetch confirms them missing", () => {
    const c0 = fetched(initialPodCache, index({ a: container("p", "a") }))
    const first = lookIn(c0, ["a", "x"])
    expect([...first.found.keys()]).toEqual(["a"])
    expect(first.unknown).toEqual(["x"])

    const afterRefetch = settle(fetched(first.cache, index({ a: container("p", "a") })), first.unknown)
    expect(afterRefetch.found.size).toBe(0)
    const second = lookIn(afterRefetch.cache, ["a", "x"])
    expect(second.unknown).toEqual([])
    expect([...second.found.keys()]).toEqual(["a"])
  })

  it("a confirmed miss never hides a pod the next fetch brings", () => {
    const confirmed = settle(fetched(initialPodCache, new Map()), ["x"]).cache
    const later = fetched(confirmed, index({ x: container("q", "x") }))
    expect(lookIn(later, ["x"]).found.get("x")?.podId).toBe("q")
  })

  it("misses not asked for during a whole poll period are forgotten; asked ones stay", () => {
    let cache = settle(fetched(initialPodCache, new Map()), ["kept", "dropped"]).cache
    cache = polled(cache) // period 0 ends: both were asked in it
    expect([...cache.misses.keys()].sort()).toEqual(["dropped", "kept"])
    cache = lookIn(cache, ["kept"]).cache // asked in period 1
    cache = polled(cache)
    expect([...cache.misses.keys()]).toEqual(["kept"])
    expect(lookIn(cache, ["dropped"]).unknown).toEqual(["dropped"])
  })

  it("a failed fetch keeps the index (container ids are unique, so stale entries cannot mislead)", () => {
    const ok = fetched(initialPodCache, index({ a: container("p", "a") }))
    const failing = fetchFailed(ok)
    expect(failing.phase).toBe("failing")
    expect(lookIn(failing, ["a"]).found.size).toBe(1)
    expect(fetched(failing, new Map()).phase).toBe("ok")
  })

  it("looking up known misses in the same period does not copy the cache", () => {
    const cache = settle(fetched(initialPodCache, new Map()), ["x"]).cache
    expect(lookIn(cache, ["x"]).cache).toBe(cache)
  })
})
