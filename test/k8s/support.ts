/** Building informers against the fake servers. */
import { Duration, Effect, Ref, type Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { FatalLive } from "../../src/Fatal.js"
import type { KubeConnection } from "../../src/k8s/connection.js"
import { type InformerTelemetry, noInformerTelemetry } from "../../src/k8s/informerHealth.js"
import { informerDefaults, makePodInformer, type PodInformerOptions } from "../../src/k8s/PodInformer.js"
import {
  captureLogs,
  fakeHttpsServer,
  type FakeServer,
  fixture,
  fixturePath,
  type LogEntry,
  nodeBody,
  sendJson,
  statusBody,
  TEST_NODE
} from "./fakeKube.js"

/** A temporary directory removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-k8s-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Fast retries so a test sees several of them; no poll during a test unless it asks. */
export const testOptions = {
  ...informerDefaults,
  nodeName: TEST_NODE,
  pollInterval: Duration.hours(1),
  requestTimeout: Duration.seconds(5),
  retry: { base: Duration.millis(10), cap: Duration.millis(40) }
} as const

export const tokenConnection = (server: string, tokenFile: string): KubeConnection => ({
  server,
  ca: fixture("ca.crt"),
  clientCert: undefined,
  clientKey: undefined,
  insecureSkipTlsVerify: false,
  tlsServerName: undefined,
  auth: { _tag: "TokenFile", path: tokenFile },
  source: "test"
})

/** Starts an informer in the test's scope, reporting its connection to `telemetry`. */
export const startInformer = (
  options: Omit<PodInformerOptions, keyof typeof testOptions> & Partial<PodInformerOptions>,
  telemetry: InformerTelemetry = noInformerTelemetry
) => makePodInformer({ ...testOptions, ...options }, telemetry).pipe(Effect.provide(FatalLive))

/**
 * Runs `body` with every log line captured, as the program's one logger would see them (the
 * informer logs from its own fibers and from the callers that start a fetch).
 */
export const withCapturedLogs = <A, E, R>(
  body: (logs: Effect.Effect<ReadonlyArray<LogEntry>>) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const captured = yield* captureLogs
    return yield* body(captured.entries).pipe(Effect.provide(captured.layer))
  })

export const errorsIn = (logs: Effect.Effect<ReadonlyArray<LogEntry>>) =>
  Effect.map(logs, (entries) => entries.filter((e) => e.level === "ERROR"))

export interface KubeletControl {
  /** HTTP status /pods answers with (200 serves `body`). */
  readonly status: Ref.Ref<number>
  readonly body: Ref.Ref<string>
  /** Milliseconds before /pods answers. */
  readonly delay: Ref.Ref<number>
}

export interface KubeletWorld {
  readonly api: FakeServer
  readonly kubelet: FakeServer
  readonly control: KubeletControl
  /** The port the Node object names for the kubelet (changed to make it unreachable). */
  readonly kubeletPort: Ref.Ref<number>
  readonly nodeStatus: Ref.Ref<number>
  readonly tokenFile: string
  readonly podsRequests: Effect.Effect<number>
}

/** A fake API server that knows node worker-1, and a fake kubelet serving kubelet-pods.json. */
export const kubeletWorld: Effect.Effect<KubeletWorld, never, Scope.Scope> = Effect.gen(function*() {
  const control: KubeletControl = {
    status: yield* Ref.make(200),
    body: yield* Ref.make(fixture("kubelet-pods.json").toString("utf8")),
    delay: yield* Ref.make(0)
  }
  const kubelet = yield* fakeHttpsServer((request, response) => {
    if (request.path !== "/pods") return sendJson(response, 404, "404 page not found")
    const status = Effect.runSync(Ref.get(control.status))
    const body = Effect.runSync(Ref.get(control.body))
    const answer = () =>
      status === 200
        ? sendJson(response, 200, body)
        : sendJson(
          response,
          status,
          status === 401
            ? "Unauthorized"
            : `Forbidden (user=system:serviceaccount:joulemon:joulemon, verb=get, resource=nodes, subresource(s)=[proxy])`
        )
    const delay = Effect.runSync(Ref.get(control.delay))
    if (delay > 0) setTimeout(answer, delay)
    else answer()
  })
  const kubeletPort = yield* Ref.make(kubelet.port)
  const nodeStatus = yield* Ref.make(200)
  const api = yield* fakeHttpsServer((request, response) => {
    if (request.path !== `/api/v1/nodes/${TEST_NODE}`) {
      return sendJson(response, 404, statusBody(404, "NotFound", `nodes "${request.path}" not found`))
    }
    const status = Effect.runSync(Ref.get(nodeStatus))
    if (status !== 200) {
      return sendJson(
        response,
        status,
        statusBody(
          status,
          "Forbidden",
          `nodes "${TEST_NODE}" is forbidden: User "system:serviceaccount:joulemon:joulemon" cannot get resource "nodes"`
        )
      )
    }
    sendJson(response, 200, nodeBody(Effect.runSync(Ref.get(kubeletPort))))
  })
  const dir = yield* tempDir
  const tokenFile = path.join(dir, "token")
  fs.writeFileSync(tokenFile, "token-1\n")
  const podsRequests = Effect.map(kubelet.requests, (rs) => rs.filter((r) => r.path === "/pods").length)
  return { api, kubelet, control, kubeletPort, nodeStatus, tokenFile, podsRequests }
})

/** A kubeconfig at `dir`/kubeconfig that reaches `world`'s API server with its token file: what a
 * binary test passes as `kube.config`. */
export const writeKubeconfig = (dir: string, world: KubeletWorld): string => {
  const file = path.join(dir, "kubeconfig")
  fs.writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `  - name: fake\n    cluster:\n      server: ${world.api.base}\n      certificate-authority: ${
        fixturePath("ca.crt")
      }`,
      "users:",
      `  - name: joulemon\n    user:\n      tokenFile: ${world.tokenFile}`,
      "contexts:",
      "  - name: fake\n    context:\n      cluster: fake\n      user: joulemon",
      "current-context: fake",
      ""
    ].join("\n")
  )
  return file
}
