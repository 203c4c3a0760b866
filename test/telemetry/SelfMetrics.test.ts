import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeSelfMetrics } from "../../src/telemetry/SelfMetrics.js"

describe("SelfMetrics", () => {
  it.effect("keeps Prometheus-format counter names intact after OpenMetrics scrapes", () =>
    Effect.gen(function*() {
      const self = makeSelfMetrics({ debugCollectors: ["go", "process"] })
      yield* self.scraped("openmetrics")
      const om = yield* Effect.promise(() => self.registry("openmetrics").metrics())
      expect(om).toContain("# TYPE joulemon_scrapes counter")
      expect(om).toContain("joulemon_scrapes_total{format=\"openmetrics\"} 1")
      const text = yield* Effect.promise(() => self.registry("prometheus").metrics())
      expect(text).toContain("# TYPE joulemon_scrapes_total counter")
      expect(text).toContain("# TYPE joulemon_process_cpu_seconds_total counter")
      expect(text).toContain("joulemon_scrapes_total{format=\"openmetrics\"} 1")
    }))

  it.effect("maps the go and process debug collectors and drops prom-client's _total gauges", () =>
    Effect.gen(function*() {
      const names = (collectors: ReadonlyArray<string>) =>
        makeSelfMetrics({ debugCollectors: collectors })
          .registry("prometheus")
          .getMetricsAsArray()
          .map((m) => m.name)
      expect(names(["go"]).some((n) => n.startsWith("nodejs_heap"))).toBe(true)
      expect(names(["go"]).some((n) => n.startsWith("process_"))).toBe(false)
      expect(names(["process"]).some((n) => n.startsWith("process_cpu"))).toBe(true)
      expect(names(["process"]).some((n) => n.startsWith("nodejs_"))).toBe(false)
      expect(names(["go", "process"]).filter((n) => n.startsWith("nodejs_") && n.endsWith("_total"))).toEqual([])
      expect(names([]).filter((n) => n.startsWith("nodejs_") || n.startsWith("process_"))).toEqual([])
    }))

  it.effect("counts every concurrent update", () =>
    Effect.gen(function*() {
      const self = makeSelfMetrics({ debugCollectors: [] })
      yield* Effect.forEach(Array.from({ length: 1000 }), () => self.joined, { concurrency: "unbounded" })
      const text = yield* Effect.promise(() => self.registry("prometheus").metrics())
      expect(text).toContain("joulemon_singleflight_joins_total 1000")
    }))
})
