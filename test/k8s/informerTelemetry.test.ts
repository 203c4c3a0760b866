/**
 * The pod informer's connection as self-metrics (joulemon_kube_informer_*): how requests that
 * fail are classified, that the families exist only with Kubernetes on, and that `up` follows a
 * real informer against the fake servers as Kubernetes fails and recovers.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Ref } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { errorReason } from "../../src/k8s/informerHealth.js"
import { KubeRequestError } from "../../src/k8s/KubeHttp.js"
import { makeSelfMetrics, type SelfMetricsShape } from "../../src/telemetry/SelfMetrics.js"
import { freePort } from "../support/ports.js"
import { eventually, fakeHttpsServer, sendJson, statusBody } from "./fakeKube.js"
import { kubeletWorld, startInformer, tempDir, tokenConnection, withCapturedLogs } from "./support.js"

const error = (status: number, reason = "x") => new KubeRequestError({ url: "https://k/pods", status, reason })

/** The value of one series in the Prometheus text of `self`, or undefined when it is not there. */
const sample = (self: SelfMetricsShape, series: string): Effect.Effect<number | undefined> =>
  Effect.map(Effect.promise(() => self.registry("prometheus").metrics()), (text) => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `))
    return line === undefined ? undefined : Number(line.slice(series.length + 1))
  })

/** Waits until `series` reads `expected` (a background fiber sets it). */
const until = (self: SelfMetricsShape, series: string, expected: (value: number) => boolean) =>
  eventually(
    Effect.flatMap(
      sample(self, series),
      (value) => (value !== undefined && expected(value) ? Effect.void : Effect.fail(`${series} = ${value}`))
    )
  )

const UP = "joulemon_kube_informer_up{mode=\"kubelet\"}"
const errorsOf = (reason: string) => `joulemon_kube_informer_errors_total{reason="${reason}"}`
const LAST_SUCCESS = "joulemon_kube_informer_last_success_timestamp_seconds"

describe("errorReason", () => {
  it.each(
    [
      [401, "Unauthorized", "unauthorized"],
      [0, "cannot read the bearer token /t: ENOENT", "unauthorized"],
      [403, "forbidden", "forbidden"],
      [0, "connect ECONNREFUSED 127.0.0.1:1", "unreachable"],
      [0, "no answer within 10s", "unreachable"],
      [200, "unexpected body: Expected string", "decode"],
      [200, "unreadable body: Unexpected token", "decode"],
      [200, "undecodable watch event: no type", "decode"],
      [404, "nodes \"w\" not found", "other"],
      [500, "etcdserver: leader changed", "other"],
      [200, "no InternalIP found for node \"w\"", "other"]
    ] as const
  )("HTTP %i (%s) → %s", (status, reason, expected) => {
    expect(errorReason(error(status, reason))).toBe(expected)
  })
})

describe("joulemon_kube_informer_* families", () => {
  it.effect("are not exported with Kubernetes off", () =>
    Effect.gen(function*() {
      const text = yield* Effect.promise(() =>
        makeSelfMetrics({ debugCollectors: [] }).registry("prometheus").metrics()
      )
      expect(text).not.toContain("joulemon_kube_informer")
    }))

  it.effect("start disconnected, with every reason at 0, in both formats", () =>
    Effect.gen(function*() {
      const self = makeSelfMetrics({ debugCollectors: [], podInformerMode: "apiserver" })
      expect(yield* sample(self, "joulemon_kube_informer_up{mode=\"apiserver\"}")).toBe(0)
      for (const reason of ["unauthorized", "forbidden", "unreachable", "decode", "other"]) {
        expect(yield* sample(self, errorsOf(reason))).toBe(0)
      }
      expect(yield* sample(self, LAST_SUCCESS)).toBe(0)
      yield* self.podInformer.connected(1_700_000_000_500)
      yield* self.podInformer.failed("forbidden")
      const om = yield* Effect.promise(() => self.registry("openmetrics").metrics())
      expect(om).toContain("# TYPE joulemon_kube_informer_errors counter")
      expect(om).toContain("joulemon_kube_informer_errors_total{reason=\"forbidden\"} 1")
      expect(om).toContain("joulemon_kube_informer_up{mode=\"apiserver\"} 0")
      expect(om).toContain("joulemon_kube_informer_last_success_timestamp_seconds 1700000000.5")
    }))
})

describe("joulemon_kube_informer_up follows the informer", () => {
  // The log lines are captured (and dropped): the metrics are what is under test.
  it.scopedLive(
    "kubelet mode: 1 → 0 on 401, 1 again, 0 when the kubelet is unreachable, 1 when it is back",
    () =>
      withCapturedLogs(() =>
        Effect.gen(function*() {
          const world = yield* kubeletWorld
          const self = makeSelfMetrics({ debugCollectors: [], podInformerMode: "kubelet" })
          expect(yield* sample(self, UP)).toBe(0)
          yield* startInformer(
            {
              mode: "kubelet",
              connection: tokenConnection(world.api.base, world.tokenFile),
              pollInterval: Duration.millis(20)
            },
            self.podInformer
          )

          // The first poll connects.
          yield* until(self, UP, (v) => v === 1)
          const connectedAt = (yield* sample(self, LAST_SUCCESS)) ?? 0
          expect(connectedAt * 1000).toBeGreaterThan(Date.now() - 60_000)
          expect(yield* sample(self, errorsOf("unauthorized"))).toBe(0)

          // The kubelet starts refusing the token.
          yield* Ref.set(world.control.status, 401)
          yield* until(self, UP, (v) => v === 0)
          yield* until(self, errorsOf("unauthorized"), (v) => v >= 1)
          expect(yield* sample(self, errorsOf("unreachable"))).toBe(0)
          const lastBefore401 = (yield* sample(self, LAST_SUCCESS)) ?? 0

          // Accepted again.
          yield* Ref.set(world.control.status, 200)
          yield* until(self, UP, (v) => v === 1)
          expect((yield* sample(self, LAST_SUCCESS)) ?? 0).toBeGreaterThan(lastBefore401)

          // The Node now names a port where nothing listens; the next failure (401) makes the
          // informer read the Node again, and from then on the kubelet does not answer.
          yield* Ref.set(world.kubeletPort, yield* Effect.promise(freePort))
          yield* Ref.set(world.control.status, 401)
          yield* until(self, errorsOf("unreachable"), (v) => v >= 1)
          expect(yield* sample(self, UP)).toBe(0)

          // Back.
          yield* Ref.set(world.kubeletPort, world.kubelet.port)
          yield* Ref.set(world.control.status, 200)
          yield* until(self, UP, (v) => v === 1)
          // Nothing was counted under a reason that did not happen.
          for (const reason of ["forbidden", "decode", "other"]) expect(yield* sample(self, errorsOf(reason))).toBe(0)
        })
      ),
    { timeout: 30_000 }
  )

  it.scopedLive(
    "apiserver mode: 0 while the pod list is forbidden, 1 once it is allowed",
    () =>
      withCapturedLogs(() =>
        Effect.gen(function*() {
          const listStatus = yield* Ref.make(403)
          const server = yield* fakeHttpsServer((request, response) => {
            if (request.path !== "/api/v1/pods") {
              return sendJson(response, 404, statusBody(404, "NotFound", "not found"))
            }
            if (request.query.get("watch") === "true") {
              // Held open: the watch is the connection.
              response.writeHead(200, { "content-type": "application/json" })
              response.write("")
              return
            }
            const status = Effect.runSync(Ref.get(listStatus))
            if (status !== 200) {
              return sendJson(response, status, statusBody(status, "Forbidden", "pods is forbidden: cannot list pods"))
            }
            sendJson(response, 200, { kind: "PodList", metadata: { resourceVersion: "1" }, items: [] })
          })
          const dir = yield* tempDir
          const tokenFile = path.join(dir, "token")
          fs.writeFileSync(tokenFile, "api-token")
          const self = makeSelfMetrics({ debugCollectors: [], podInformerMode: "apiserver" })
          const up = "joulemon_kube_informer_up{mode=\"apiserver\"}"
          yield* startInformer(
            { mode: "apiserver", connection: tokenConnection(server.base, tokenFile) },
            self.podInformer
          )

          yield* until(self, errorsOf("forbidden"), (v) => v >= 2)
          expect(yield* sample(self, up)).toBe(0)
          expect(yield* sample(self, LAST_SUCCESS)).toBe(0)

          yield* Ref.set(listStatus, 200)
          yield* until(self, up, (v) => v === 1)
          expect((yield* sample(self, LAST_SUCCESS)) ?? 0).toBeGreaterThan(0)
        })
      ),
    { timeout: 30_000 }
  )
})
