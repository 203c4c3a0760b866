import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Ref } from "effect"
import * as http from "node:http"
import { gunzipSync } from "node:zlib"
import { testConfig } from "../support/config.js"
import { freePort, waitForHttp } from "../support/ports.js"
import { makeCoreControls, webUnderTest } from "../support/webHarness.js"

const withServer = <A>(f: (base: string) => Promise<A>, over: Parameters<typeof testConfig>[0] = {}) =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    const config = testConfig({
      web: { listenAddresses: [`127.0.0.1:${port}`] },
      monitor: { interval: Duration.zero },
      ...over
    })
    yield* Layer.launch(webUnderTest(config)).pipe(Effect.forkScoped)
    const base = `http://127.0.0.1:${port}`
    yield* waitForHttp(`${base}/`)
    return yield* Effect.promise(() => f(base))
  })

describe("HTTP server over a real socket", () => {
  it.live("serves the landing page listing /metrics", () =>
    Effect.gen(function*() {
      const { status, type, body } = yield* withServer(async (base) => {
        const r = await fetch(`${base}/`)
        return { status: r.status, type: r.headers.get("content-type"), body: await r.text() }
      })
      expect(status).toBe(200)
      expect(type).toBe("text/html; charset=utf-8")
      expect(body).toContain("Kepler")
      expect(body).toContain("<a href=\"/metrics\"> Metrics </a> Prometheus metrics")
    }).pipe(Effect.scoped))

  it.live("serves /metrics in the Prometheus text format with node, workload and build families", () =>
    Effect.gen(function*() {
      const { status, type, body } = yield* withServer(async (base) => {
        await fetch(`${base}/metrics`)
        await new Promise((r) => setTimeout(r, 600)) // past the 500 ms staleness: a second, real interval
        const r = await fetch(`${base}/metrics`)
        return { status: r.status, type: r.headers.get("content-type"), body: await r.text() }
      })
      expect(status).toBe(200)
      expect(type).toBe("text/plain; version=0.0.4; charset=utf-8")
      expect(body).toMatch(/^kepler_node_cpu_watts\{zone="package",path="\/fake\/package",node_name="test-node"\} \d/m)
      expect(body).toMatch(/^kepler_process_cpu_watts\{pid="10",/m)
      expect(body).toContain(
        "kepler_build_info{arch=\"x64\",branch=\"main\",revision=\"abcdef012345\",version=\"1.2.3\",goversion=\"v20\"} 1"
      )
      expect(body).toContain(
        "kepler_node_cpu_info{processor=\"0\",vendor_id=\"GenuineIntel\",model_name=\"Test CPU\",physical_id=\"0\",core_id=\"0\"} 1"
      )
    }).pipe(Effect.scoped))

  it.live("negotiates OpenMetrics and gzip", () =>
    Effect.gen(function*() {
      const { type, encoding, body } = yield* withServer(
        (base) =>
          new Promise<{ type: string | undefined; encoding: string | undefined; body: Buffer }>((resolve, reject) => {
            // node:http, not fetch: fetch would decompress and hide the encoding.
            const req = http.get(
              `${base}/metrics`,
              {
                headers: {
                  accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
                  "accept-encoding": "gzip"
                }
              },
              (res) => {
                const chunks: Array<Buffer> = []
                res.on("data", (c: Buffer) => chunks.push(c))
                res.on("end", () =>
                  resolve({
                    type: res.headers["content-type"],
                    encoding: res.headers["content-encoding"],
                    body: Buffer.concat(chunks)
                  }))
              }
            )
            req.on("error", reject)
          })
      )
      expect(type).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8")
      expect(encoding).toBe("gzip")
      expect(gunzipSync(body).toString().trimEnd().endsWith("# EOF")).toBe(true)
    }).pipe(Effect.scoped))

  it.live("answers 404 for unknown paths and 405 for other methods", () =>
    Effect.gen(function*() {
      const [missing, post] = yield* withServer((base) =>
        Promise.all([
          fetch(`${base}/nope`).then((r) => r.status),
          fetch(`${base}/metrics`, { method: "POST" }).then((r) => r.status)
        ])
      )
      expect(missing).toBe(404)
      expect(post).toBe(405)
    }).pipe(Effect.scoped))

  it.live("gates families with --metrics", () =>
    Effect.gen(function*() {
      const body = yield* withServer((base) => fetch(`${base}/metrics`).then((r) => r.text()), {
        exporter: { prometheus: { metricsLevel: ["node"] } }
      })
      expect(body).toContain("kepler_node_cpu_watts")
      expect(body).not.toMatch(/kepler_(process|container|vm|pod)_/)
    }).pipe(Effect.scoped))

  it.live("adds the BMC's platform power families, whatever the metrics level", () =>
    Effect.gen(function*() {
      const controls = yield* makeCoreControls
      yield* Ref.set(controls.platform, [
        {
          source: "redfish",
          nodeName: "test-node",
          bmcId: "bmc-1",
          chassisId: "1U",
          sourceId: "0",
          sourceName: "PSU 0",
          sourceType: "PowerSupply",
          watts: 212.5,
          microjoulesTotal: 4_250_000_000n,
          joulesTotal: 4250
        }
      ])
      const port = yield* Effect.promise(freePort)
      const config = testConfig({
        web: { listenAddresses: [`127.0.0.1:${port}`] },
        exporter: { prometheus: { metricsLevel: ["node"] } }
      })
      yield* Layer.launch(webUnderTest(config, controls)).pipe(Effect.forkScoped)
      yield* waitForHttp(`http://127.0.0.1:${port}/`)
      const body = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))
      expect(body).toContain(
        "kepler_platform_watts{source=\"redfish\",node_name=\"test-node\",bmc_id=\"bmc-1\",chassis_id=\"1U\",source_id=\"0\",source_name=\"PSU 0\",source_type=\"PowerSupply\"} 212.5"
      )
      expect(body).toMatch(/^kepler_platform_joules_total\{[^}]*source_id="0"[^}]*\} 4250$/m)
    }).pipe(Effect.scoped))

  it.live("fails with a clear message when the port is already in use", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const config = testConfig({ web: { listenAddresses: [`127.0.0.1:${port}`] } })
      yield* Layer.launch(webUnderTest(config)).pipe(Effect.forkScoped)
      yield* waitForHttp(`http://127.0.0.1:${port}/`)
      const second = yield* Layer.launch(webUnderTest(config)).pipe(Effect.timeout(Duration.seconds(5)), Effect.exit)
      expect(Exit.isFailure(second)).toBe(true)
      if (Exit.isFailure(second)) {
        expect(String(second.cause)).toContain(`cannot listen on 127.0.0.1:${port}: address already in use`)
      }
    }).pipe(Effect.scoped))
})
