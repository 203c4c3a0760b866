/**
 * `nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`, in place of prom-client's.
 *
 * prom-client sets them from a perf_hooks event-loop-delay histogram and resets it on every
 * scrape. At the 1 s sampling joulemon uses (SelfMetrics.ts says why), two scrapes less than a
 * second apart find it empty, and an empty histogram reads mean = stddev = NaN, min =
 * 9223372036854775807 ns (9223372036.85 s) and p99 = 511 ns (issue 16, item 4). And every
 * sample is the time between two timer ticks, so each value carries the 1 s interval itself:
 * min ≈ 1.0009 s on an idle loop. Here:
 * - an empty window changes nothing: the gauges keep the last window that had samples (0 until
 *   the first sample, a second after start), and the histogram is reset only once read;
 * - the interval is subtracted (never below 0), so the gauges say how LATE the loop was, as
 *   their help says.
 */
import client from "prom-client"

/** The part of perf_hooks' IntervalHistogram read here (nanoseconds). */
export interface DelayHistogram {
  readonly count: number
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly stddev: number
  readonly percentile: (p: number) => number
  readonly reset: () => void
}

export interface LagValues {
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly stddev: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
}

/** The window's lags in seconds, or undefined when it holds no sample. */
export const lagValues = (h: DelayHistogram, intervalNs: number): LagValues | undefined => {
  if (h.count === 0) return undefined
  const late = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns - intervalNs) / 1e9 : 0)
  const spread = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0)
  return {
    min: late(h.min),
    max: late(h.max),
    mean: late(h.mean),
    stddev: spread(h.stddev),
    p50: late(h.percentile(50)),
    p90: late(h.percentile(90)),
    p99: late(h.percentile(99))
  }
}

/** prom-client's names and help, so dashboards keep working. */
const GAUGES: ReadonlyArray<readonly [keyof LagValues, string, string]> = [
  ["min", "nodejs_eventloop_lag_min_seconds", "The minimum recorded event loop delay."],
  ["max", "nodejs_eventloop_lag_max_seconds", "The maximum recorded event loop delay."],
  ["mean", "nodejs_eventloop_lag_mean_seconds", "The mean of the recorded event loop delays."],
  ["stddev", "nodejs_eventloop_lag_stddev_seconds", "The standard deviation of the recorded event loop delays."],
  ["p50", "nodejs_eventloop_lag_p50_seconds", "The 50th percentile of the recorded event loop delays."],
  ["p90", "nodejs_eventloop_lag_p90_seconds", "The 90th percentile of the recorded event loop delays."],
  ["p99", "nodejs_eventloop_lag_p99_seconds", "The 99th percentile of the recorded event loop delays."]
]

export const EVENT_LOOP_LAG_NAMES: ReadonlyArray<string> = GAUGES.map(([, name]) => name)

/**
 * Registers the seven gauges in `register`, fed by `histogram` (sampling every `intervalNs`).
 * The first gauge a scrape collects reads and resets the window; the others report the same.
 */
export const registerEventLoopLag = (
  register: client.Registry<client.RegistryContentType>,
  histogram: DelayHistogram,
  intervalNs: number
): void => {
  let current: LagValues = { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 }
  // prom-client collects a registry's metrics in registration order: the first one reads.
  const readWindow = (): void => {
    const next = lagValues(histogram, intervalNs)
    if (next === undefined) return
    current = next
    histogram.reset()
  }
  GAUGES.forEach(([key, name, help], i) => {
    new client.Gauge({
      name,
      help,
      registers: [register],
      collect() {
        if (i === 0) readWindow()
        this.set(current[key])
      }
    })
  })
}
