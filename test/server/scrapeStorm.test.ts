import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Layer, Option, Ref } from "effect"
import { testConfig } from "../support/config.js"
import { freePort, waitForHttp } from "../support/ports.js"
import { makeCoreControls, webUnderTest } from "../support/webHarness.js"

const sample = (body: string, series: string): number => {
  const line = body.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1))
}

describe("500 concurrent scrapes against a stale snapshot", () => {
  it.live("all answer 200 from exactly one refresh, and the self-metrics count every request", () =>
    Effect.gen(function*() {
      const controls = yield* makeCoreControls
      const port = yield* Effect.promise(freePort)
      const base = `http://127.0.0.1:${port}`
      // On demand (interval 0) with a short staleness: the snapshot is stale when the storm starts.
      const config = testConfig({
        web: { listenAddresses: [`127.0.0.1:${port}`] },
        monitor: { interval: Duration.zero, staleness: Duration.millis(50) }
      })
      // Serving 500 responses takes longer than the staleness: all must share the one refresh anyway.
      yield* Layer.launch(webUnderTest(config, controls)).pipe(Effect.forkScoped)
      yield* waitForHttp(`${base}/healthz`)
      const warmUp = yield* Effect.promise(() => fetch(`${base}/metrics`).then((r) => r.text()))
      const refreshesBefore = sample(warmUp, "joulemon_refreshes_total")
      yield* Effect.sleep("100 millis")
      const callsBefore = yield* Ref.get(controls.informer.calls)

      // Hold the refresh until every request has arrived, so they all find the data stale.
      const gate = yield* Deferred.make<void>()
      yield* Ref.set(controls.informer.gate, Option.some(gate))
      const storm = yield* Effect.fork(
        Effect.forEach(
          Array.from({ length: 500 }),
          () =>
            Effect.promise(() =>
              fetch(`${base}/metrics`).then(async (r) => ({ status: r.status, body: await r.text() }))
            ),
          { concurrency: "unbounded" }
        )
      )
      // Every request has reached the handler (it counts before waiting for the snapshot).
      const scrapesCounted = Effect.promise(() =>
        controls.self.registry("prometheus").getSingleMetricAsString("joulemon_scrapes_total")
      ).pipe(
        Effect.map((text) => sample(text, "joulemon_scrapes_total{format=\"prometheus\"}"))
      )
      yield* scrapesCounted.pipe(
        Effect.tap(() => Effect.sleep("10 millis")),
        Effect.repeat({ until: (n) => n === 501 })
      )
      yield* Deferred.succeed(gate, undefined)
      const responses = yield* storm
      yield* Ref.set(controls.informer.gate, Option.none())

      expect(responses.every((r) => r.status === 200)).toBe(true)
      expect((yield* Ref.get(controls.informer.calls)) - callsBefore).toBe(1)
      expect(new Set(responses.map((r) => sample(r.body, "joulemon_refreshes_total")))).toEqual(
        new Set([refreshesBefore + 1])
      )

      const after = yield* Effect.promise(() => fetch(`${base}/metrics`).then((r) => r.text()))
      // 1 warm-up + 500 + this one; none lost to concurrency.
      expect(sample(after, "joulemon_scrapes_total{format=\"prometheus\"}")).toBe(502)
      // 499 of the 500 joined the one that started the refresh (the first scrape refreshed alone).
      expect(sample(after, "joulemon_singleflight_joins_total")).toBe(499)
    }).pipe(Effect.scoped))
})
