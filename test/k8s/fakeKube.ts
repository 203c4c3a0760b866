/**
 * Fake kubelet and API server for the pod informer tests: real HTTPS servers on loopback with the
 * test certificates of test/fixtures/k8s (README there), recording every request.
 */
import { Effect, List, Logger, Ref, Schedule, type Scope } from "effect"
import * as fs from "node:fs"
import type * as http from "node:http"
import * as https from "node:https"
import type { TLSSocket } from "node:tls"

const fixtures = new URL("../fixtures/k8s/", import.meta.url)
export const fixturePath = (name: string): string => new URL(name, fixtures).pathname
export const fixture = (name: string): Buffer => fs.readFileSync(new URL(name, fixtures))

export const TEST_NODE = "worker-1"
/** sha256 of the container name: the ids in kubelet-pods.json. */
export const containerIds = {
  coredns: "8a32e516d7415be524a7fcec482ad2918f2b6ef2a7f4cb8e2e232b361436b20b",
  nginx: "5be1ecc7935f1dd85635d4feedaf660594030253cc97c9e9ca3819ffeac36b65",
  logShipper: "e7562220aee1d6e38c5633d241fdb4c1716fb104b37b1ab2abd0b7a2254ac0b2",
  migrate: "3bc801a33ea83df414e1aeb962a52412835be99db28668ec25de73fdd4733804",
  debugger: "4c44d7c28ec0f6ca3e2624c6af1d3be324576d01ef6f6c2dc0af7e61664b8c2c",
  joulemon: "970f0fa2b957cb0e1c6c2e5ddc8fc5cbe29570e7dfc9fb5c20c1231f1c8a2b98",
  kubeProxy: "7d7d4eed89b70ea736ca15fa6c6183a27198a1b8cccc12e1944590f415a774e7",
  kubeProxyOld: "01f309cb00a16bd13a91b4ee36cc63de81b3f36f2cd3d56aa5bb94c43bc1331e"
} as const

export const podUids = {
  coredns: "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
  web: "6fa459ea-ee8a-4ca4-894e-db77e160355e",
  joulemon: "9b2f0a3c-5e1d-4f6a-8b7c-1d2e3f4a5b6c",
  kubeProxy: "c3d4e5f6-a7b8-49c0-8d1e-2f3a4b5c6d7e",
  report: "e7f8a9b0-c1d2-43e4-9f5a-6b7c8d9e0f1a"
} as const

export interface RecordedRequest {
  readonly path: string
  readonly query: URLSearchParams
  readonly authorization: string | undefined
  /** CN of the client certificate, when one was presented. */
  readonly clientCn: string | undefined
}

export interface FakeServer {
  readonly base: string
  readonly port: number
  /** Every request so far, in arrival order. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
}

export type Handler = (request: RecordedRequest, response: http.ServerResponse) => void

/** An HTTPS server on 127.0.0.1 that lives as long as the scope. */
export const fakeHttpsServer = (handler: Handler): Effect.Effect<FakeServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const log = yield* Ref.make(List.empty<RecordedRequest>())
    const server = yield* Effect.acquireRelease(
      Effect.async<https.Server>((resume) => {
        const s = https.createServer(
          {
            key: fixture("server.key"),
            cert: fixture("server.crt"),
            ca: fixture("ca.crt"),
            requestCert: true,
            rejectUnauthorized: false
          },
          (req, res) => {
            const url = new URL(req.url ?? "/", "https://fake")
            const peer = (req.socket as TLSSocket).getPeerCertificate()
            const recorded: RecordedRequest = {
              path: url.pathname,
              query: url.searchParams,
              authorization: req.headers.authorization,
              clientCn: peer.subject === undefined ? undefined : String(peer.subject.CN)
            }
            Effect.runSync(Ref.update(log, List.prepend(recorded)))
            handler(recorded, res)
          }
        )
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.async<void>((resume) => {
          s.closeAllConnections()
          s.close(() => resume(Effect.void))
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return {
      base: `https://127.0.0.1:${port}`,
      port,
      requests: Effect.map(Ref.get(log), (l) => List.toArray(List.reverse(l)))
    }
  })

export const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(typeof body === "string" ? body : JSON.stringify(body))
}

export const statusBody = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  code
})

/** node.json pointing at a kubelet on 127.0.0.1:`port`. */
export const nodeBody = (kubeletPort: number): string =>
  fixture("node.json")
    .toString("utf8")
    .replace("__KUBELET_HOST__", "127.0.0.1")
    .replace("\"__KUBELET_PORT__\"", String(kubeletPort))

export interface LogEntry {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** A logger that keeps every entry, to check what an operator would read. */
export const captureLogs = Effect.gen(function*() {
  const entries = yield* Ref.make(List.empty<LogEntry>())
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    const record: Record<string, unknown> = {}
    for (const [k, v] of annotations) record[k] = v
    Effect.runSync(Ref.update(entries, List.prepend({ level: logLevel.label, message: text, annotations: record })))
  })
  return {
    layer: Logger.replace(Logger.defaultLogger, logger),
    entries: Effect.map(Ref.get(entries), (l) => List.toArray(List.reverse(l)))
  }
})

/** Retries `check` every 10 ms until it succeeds (up to ~10 s): for what a background fiber does. */
export const eventually = <A, E, R>(check: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(check, Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(1000))))
