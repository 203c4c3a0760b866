import client from "prom-client"
import { describe, expect, it } from "vitest"
import {
  type DelayHistogram,
  EVENT_LOOP_LAG_NAMES,
  lagValues,
  registerEventLoopLag
} from "../../src/telemetry/eventLoopLag.js"

const SECOND = 1e9

/** A histogram as perf_hooks reports one; empty = what it reads after reset() (measured on Node 20). */
const fakeHistogram = (samples: Array<number>): DelayHistogram & { samples: Array<number> } => {
  const h = {
    samples,
    get count() {
      return h.samples.length
    },
    get min() {
      return h.samples.length === 0 ? 9223372036854776000 : Math.min(...h.samples)
    },
    get max() {
      return h.samples.length === 0 ? 0 : Math.max(...h.samples)
    },
    get mean() {
      return h.samples.length === 0 ? Number.NaN : h.samples.reduce((a, b) => a + b, 0) / h.samples.length
    },
    get stddev() {
      return h.samples.length === 0 ? Number.NaN : 0
    },
    percentile: (
      p: number
    ) => (h.samples.length === 0
      ? 511
      : [...h.samples].sort((a, b) => a - b)[Math.ceil((p / 100) * h.samples.length) - 1] ?? 0),
    reset: () => {
      h.samples = []
    }
  }
  return h
}

describe("lagValues", () => {
  it("is undefined for an empty window (where perf_hooks reads NaN and 9223372036854775807)", () => {
    expect(lagValues(fakeHistogram([]), SECOND)).toBeUndefined()
  })

  it("says how late the loop was: the sampling interval is subtracted, never below 0", () => {
    expect(lagValues(fakeHistogram([1.001 * SECOND, 1.5 * SECOND, 0.999 * SECOND]), SECOND)).toEqual({
      min: 0,
      max: 0.5,
      mean: expect.closeTo(0.1666667, 6),
      stddev: 0,
      p50: expect.closeTo(0.001, 9),
      p90: 0.5,
      p99: 0.5
    })
  })
})

describe("the nodejs_eventloop_lag_* gauges", () => {
  const values = async (register: client.Registry) =>
    Object.fromEntries((await register.getMetricsAsJSON()).map((m) => [m.name, m.values.map((v) => v.value)]))

  it("scrapes with no sample in between keep the last window's values, never NaN or a sentinel", async () => {
    const register = new client.Registry()
    const h = fakeHistogram([])
    registerEventLoopLag(register, h, SECOND)
    // before the first sample: 0, not NaN
    expect(await values(register)).toEqual(Object.fromEntries(EVENT_LOOP_LAG_NAMES.map((n) => [n, [0]])))
    h.samples = [1.2 * SECOND, 1.4 * SECOND]
    const first = await values(register)
    expect(first["nodejs_eventloop_lag_max_seconds"]).toEqual([expect.closeTo(0.4, 9)])
    expect(first["nodejs_eventloop_lag_min_seconds"]).toEqual([expect.closeTo(0.2, 9)])
    expect(h.count).toBe(0) // read, then reset
    // two more scrapes within the same second: the window is empty, the values stay
    expect(await values(register)).toEqual(first)
    expect(await values(register)).toEqual(first)
    h.samples = [1.05 * SECOND]
    expect((await values(register))["nodejs_eventloop_lag_mean_seconds"]).toEqual([expect.closeTo(0.05, 9)])
  })
})
