import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { profileSeconds } from "../../src/server/pprof.js"
import { testConfig } from "../support/config.js"
import { freePort, waitForHttp } from "../support/ports.js"
import { webUnderTest } from "../support/webHarness.js"

describe("profileSeconds", () => {
  it("defaults to 30 and bounds the duration", () => {
    expect(profileSeconds("/debug/pprof/profile")).toBe(30)
    expect(profileSeconds("/debug/pprof/profile?seconds=2")).toBe(2)
    expect(profileSeconds("/debug/pprof/profile?seconds=0")).toBe("seconds must be an integer from 1 to 300, got 0")
    expect(profileSeconds("/debug/pprof/profile?seconds=abc")).toBe("seconds must be an integer from 1 to 300, got abc")
  })
})

describe("/debug/pprof over a real socket", () => {
  const serve = (enabled: boolean) =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const base = `http://127.0.0.1:${port}`
      const config = testConfig({
        web: { listenAddresses: [`127.0.0.1:${port}`] },
        debug: { pprof: { enabled } },
        monitor: { interval: Duration.zero }
      })
      yield* Layer.launch(webUnderTest(config)).pipe(Effect.forkScoped)
      yield* waitForHttp(`${base}/`)
      return base
    })

  it.live("records a CPU profile, refuses a second one at the same time, and streams a heap snapshot", () =>
    Effect.gen(function*() {
      const base = yield* serve(true)
      const landing = yield* Effect.promise(() => fetch(`${base}/`).then((r) => r.text()))
      expect(landing).toContain("<a href=\"/debug/pprof/\"> pprof </a> Profiling Data")
      const [first, second] = yield* Effect.promise(() =>
        Promise.all([
          fetch(`${base}/debug/pprof/profile?seconds=1`).then(async (r) => ({
            status: r.status,
            body: await r.text()
          })),
          new Promise((r) => setTimeout(r, 200)).then(() =>
            fetch(`${base}/debug/pprof/profile?seconds=1`).then((r) => r.status)
          )
        ])
      )
      expect(first.status).toBe(200)
      const profile: unknown = JSON.parse(first.body)
      expect(typeof profile === "object" && profile !== null && "nodes" in profile && "startTime" in profile).toBe(true)
      expect(second).toBe(409)
      const heap = yield* Effect.promise(() =>
        fetch(`${base}/debug/pprof/heap`).then(async (r) => ({ status: r.status, head: (await r.text()).slice(0, 20) }))
      )
      expect(heap.status).toBe(200)
      expect(heap.head).toMatch(/^\{"snapshot":/)
      expect((yield* Effect.promise(() => fetch(`${base}/debug/pprof/profile?seconds=0`))).status).toBe(400)
    }).pipe(Effect.scoped))

  it.live("is absent unless enabled", () =>
    Effect.gen(function*() {
      const base = yield* serve(false)
      expect((yield* Effect.promise(() => fetch(`${base}/debug/pprof/`))).status).toBe(404)
    }).pipe(Effect.scoped))
})
