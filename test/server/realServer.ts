/**
 * The real HTTP server, endpoints and Prometheus exporter over fake device/resource services,
 * with a web config layer in place of the plain factory and open guard — as webConfig.test.ts
 * starts it — and the client side: one GET per fresh connection, over HTTP or HTTPS.
 */
import { Duration, Effect, Layer, Schedule } from "effect"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { fileURLToPath } from "node:url"
import { AppConfig } from "../../src/config/Config.js"
import { PrometheusExporterLive } from "../../src/exporter/prometheus/PrometheusExporter.js"
import { EndpointsLive } from "../../src/server/Endpoints.js"
import { HealthLive } from "../../src/server/health.js"
import { HttpServerLive } from "../../src/server/HttpServer.js"
import { WebConfigLive } from "../../src/server/webConfig.js"
import { testConfig } from "../support/config.js"
import { freePort } from "../support/ports.js"
import { fakeCore } from "../support/webHarness.js"

export const FIXTURES = fileURLToPath(new URL("../fixtures/web/", import.meta.url))
export const fixture = (name: string) => path.join(FIXTURES, name)
export const pem = (name: string) => fs.readFile(fixture(name), "utf8")

export interface Reply {
  readonly status: number
  readonly body: string
  /** CN of the server certificate, for HTTPS. */
  readonly serverName: string
}

/** One GET on a fresh connection (no keep-alive, so each request does its own handshake). */
export const get = (url: string, options: https.RequestOptions = {}) =>
  Effect.async<Reply, Error>((resume) => {
    const client = url.startsWith("https:") ? https : http
    const req = client.get(url, { agent: false, timeout: 5_000, ...options }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", (e) => resume(Effect.fail(e)))
      res.on("end", () => {
        const socket = res.socket
        resume(
          Effect.succeed({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            serverName: socket instanceof tls.TLSSocket ? String(socket.getPeerCertificate().subject.CN) : ""
          })
        )
      })
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", (e) => resume(Effect.fail(e)))
    return Effect.sync(() => req.destroy())
  })

export const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`
})

export const connectOnce = (port: number) =>
  Effect.async<void, Error>((resume) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.void)
    })
    socket.once("error", (e) => resume(Effect.fail(e)))
  })

const waitForPort = (port: number) =>
  connectOnce(port).pipe(
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(500)))),
    Effect.orDie
  )

export const serverLayer = (config: AppConfig["Type"], web: typeof WebConfigLive = WebConfigLive) =>
  HttpServerLive.pipe(
    Layer.provide(Layer.merge(PrometheusExporterLive, HealthLive).pipe(Layer.provideMerge(EndpointsLive))),
    Layer.provide(web),
    Layer.provide(fakeCore(config)),
    Layer.provide(Layer.succeed(AppConfig, config))
  )

export const configFor = (configFile: string, port: number) =>
  testConfig({
    web: { configFile, listenAddresses: [`127.0.0.1:${port}`] },
    monitor: { interval: Duration.zero }
  })

/** Starts the server with `configFile` on a free loopback port; returns its port. */
export const serve = (configFile: string, web: typeof WebConfigLive = WebConfigLive) =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    yield* Layer.launch(serverLayer(configFor(configFile, port), web)).pipe(Effect.forkScoped)
    yield* waitForPort(port)
    return port
  })

/** A web config file in a fresh temporary directory; `{fixtures}` is replaced by the fixture dir. */
export const writeConfig = (yaml: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "joulemon-web-"))
      const file = path.join(dir, "web.yml")
      await fs.writeFile(file, yaml.replaceAll("{fixtures}", FIXTURES))
      return file
    }),
    (file) => Effect.promise(() => fs.rm(path.dirname(file), { recursive: true, force: true }))
  )
