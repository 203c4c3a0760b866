/**
 * The web config over real sockets: the real HTTP server, endpoints and Prometheus exporter over
 * fake device/resource services, with `WebConfigLive` in place of the plain factory and open guard.
 */
import { describe, expect, it } from "@effect/vitest"
import bcrypt from "bcryptjs"
import { Duration, Effect, Exit, Fiber, Layer, Schedule } from "effect"
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
import { makeWebConfigLayer, WebConfigLive } from "../../src/server/webConfig.js"
import { testConfig } from "../support/config.js"
import { freePort } from "../support/ports.js"
import { fakeCore } from "../support/webHarness.js"

const FIXTURES = fileURLToPath(new URL("../fixtures/web/", import.meta.url))
const fixture = (name: string) => path.join(FIXTURES, name)
const pem = (name: string) => fs.readFile(fixture(name), "utf8")

interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  /** TLS version and cipher, for HTTPS. */
  readonly protocol: string | null
  readonly cipher: string
  /** CN of the server certificate, for HTTPS. */
  readonly serverName: string
}

/** One GET on a fresh connection (no keep-alive, so each request does its own handshake). */
const get = (url: string, options: https.RequestOptions = {}) =>
  Effect.async<Reply, Error>((resume) => {
    const client = url.startsWith("https:") ? https : http
    const req = client.get(url, { agent: false, timeout: 5_000, ...options }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", (e) => resume(Effect.fail(e)))
      res.on("end", () => {
        const socket = res.socket
        const secure = socket instanceof tls.TLSSocket
        resume(
          Effect.succeed({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            protocol: secure ? socket.getProtocol() : null,
            cipher: secure ? socket.getCipher().standardName : "",
            serverName: secure ? String(socket.getPeerCertificate().subject.CN) : ""
          })
        )
      })
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", (e) => resume(Effect.fail(e)))
    return Effect.sync(() => req.destroy())
  })

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`
})

const connectOnce = (port: number) =>
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
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(250)))),
    Effect.orDie
  )

const serverLayer = (config: AppConfig["Type"], web: typeof WebConfigLive = WebConfigLive) =>
  HttpServerLive.pipe(
    Layer.provide(Layer.merge(PrometheusExporterLive, HealthLive).pipe(Layer.provideMerge(EndpointsLive))),
    Layer.provide(web),
    Layer.provide(fakeCore(config)),
    Layer.provide(Layer.succeed(AppConfig, config))
  )

/** Starts the server with `configFile` on a free loopback port; returns its port. */
const serve = (configFile: string, web: typeof WebConfigLive = WebConfigLive) =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    const config = testConfig({
      web: { configFile, listenAddresses: [`127.0.0.1:${port}`] },
      monitor: { interval: Duration.zero }
    })
    yield* Layer.launch(serverLayer(config, web)).pipe(Effect.forkScoped)
    yield* waitForPort(port)
    return port
  })

/** A web config file in a fresh temporary directory; `{fixtures}` is replaced by the fixture dir. */
const writeConfig = (yaml: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "joulemon-web-"))
      const file = path.join(dir, "web.yml")
      await fs.writeFile(file, yaml.replaceAll("{fixtures}", FIXTURES))
      return file
    }),
    (file) => Effect.promise(() => fs.rm(path.dirname(file), { recursive: true, force: true }))
  )

const tlsSection = (extra: string) =>
  `tls_server_config:
  cert_file: {fixtures}server.pem
  key_file: {fixtures}server-key.pem
${extra}`

describe("web config over real sockets", () => {
  it.live("TLS + basic auth: 401 without or with wrong credentials, 200 with the right ones, over HTTPS only", () =>
    Effect.gen(function*() {
      const port = yield* serve(fixture("tls-basic-auth.yml"))
      const ca = yield* Effect.promise(() => pem("ca.pem"))
      const url = `https://127.0.0.1:${port}/metrics`

      const none = yield* get(url, { ca })
      expect(none.status).toBe(401)
      expect(none.headers["www-authenticate"]).toBe("Basic realm=\"joulemon\"")
      expect(none.headers["x-frame-options"]).toBe("deny")
      expect(none.body).not.toContain("kepler_")

      const wrong = yield* get(url, { ca, headers: basic("prometheus", "wrong") })
      expect(wrong.status).toBe(401)
      expect(wrong.headers["www-authenticate"]).toBe("Basic realm=\"joulemon\"")

      const unknownUser = yield* get(url, { ca, headers: basic("mallory", "s3cret") })
      expect(unknownUser.status).toBe(401)

      const malformed = yield* get(url, { ca, headers: { authorization: "Basic not base64!" } })
      expect(malformed.status).toBe(401)

      const right = yield* get(url, { ca, headers: basic("prometheus", "s3cret") })
      expect(right.status).toBe(200)
      expect(right.body).toMatch(/^kepler_node_cpu_watts\{zone="package"/m)
      expect(right.headers["x-frame-options"]).toBe("deny")
      expect(right.headers["x-content-type-options"]).toBe("nosniff")
      expect(right.protocol).toBe("TLSv1.3")

      // The same credentials again (answered from the memo) still pass; wrong ones still fail.
      expect((yield* get(url, { ca, headers: basic("prometheus", "s3cret") })).status).toBe(200)
      expect((yield* get(url, { ca, headers: basic("prometheus", "wrong") })).status).toBe(401)

      // Plain HTTP to the TLS port: Go's 400 with the reason, as exporter-toolkit answers, and no data.
      const plain = yield* get(`http://127.0.0.1:${port}/metrics`, { headers: basic("prometheus", "s3cret") })
      expect(plain.status).toBe(400)
      expect(plain.body).toBe("Client sent an HTTP request to an HTTPS server.\n")
      // And the port still speaks TLS afterwards.
      expect((yield* get(url, { ca, headers: basic("prometheus", "s3cret") })).status).toBe(200)
    }).pipe(Effect.scoped))

  it.live("bytes that are neither TLS nor HTTP on the TLS port: closed without an answer", () =>
    Effect.gen(function*() {
      const port = yield* serve(fixture("tls-basic-auth.yml"))
      const answer = yield* Effect.async<string, Error>((resume) => {
        const socket = net.connect(port, "127.0.0.1", () => socket.write(Buffer.from([0x00, 0xff, 0x13, 0x37])))
        const chunks: Array<Buffer> = []
        socket.on("data", (c: Buffer) => chunks.push(c))
        socket.on("close", () => resume(Effect.succeed(Buffer.concat(chunks).toString("hex"))))
        socket.on("error", (e) => resume(Effect.fail(e)))
        return Effect.sync(() => socket.destroy())
      }).pipe(Effect.timeout("5 seconds"))
      expect(answer).toBe("")
    }).pipe(Effect.scoped))

  it.live("the server certificate verifies for 127.0.0.1 against the fixture CA, and not without it", () =>
    Effect.gen(function*() {
      const port = yield* serve(fixture("tls-basic-auth.yml"))
      const untrusted = yield* get(`https://127.0.0.1:${port}/`).pipe(Effect.flip)
      expect(untrusted.message).toMatch(/self[- ]signed|unable to (get|verify)/i)
    }).pipe(Effect.scoped))

  it.live("RequireAndVerifyClientCert: no client certificate or an untrusted one fails the handshake; the CA's client gets 200", () =>
    Effect.gen(function*() {
      const port = yield* serve(fixture("mtls.yml"))
      const [ca, cert, key, strangerCert, strangerKey] = yield* Effect.promise(() =>
        Promise.all([
          pem("ca.pem"),
          pem("client.pem"),
          pem("client-key.pem"),
          pem("stranger.pem"),
          pem("stranger-key.pem")
        ])
      )
      const url = `https://127.0.0.1:${port}/`
      const anonymous = yield* get(url, { ca }).pipe(Effect.flip)
      expect(anonymous.message).toContain("certificate required")
      const stranger = yield* get(url, { ca, cert: strangerCert, key: strangerKey }).pipe(Effect.exit)
      expect(Exit.isFailure(stranger)).toBe(true)
      const client = yield* get(url, { ca, cert, key })
      expect(client.status).toBe(200)
      expect(client.body).toContain("Kepler")
    }).pipe(Effect.scoped))

  it.live("client_allowed_sans admits a trusted client only when one of its SANs is listed", () =>
    Effect.gen(function*() {
      const [ca, cert, key] = yield* Effect.promise(() =>
        Promise.all([pem("ca.pem"), pem("client.pem"), pem("client-key.pem")])
      )
      const mtls = (sans: string) =>
        tlsSection(`  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {fixtures}ca.pem
  client_allowed_sans: [${sans}]`)
      const allowed = yield* serve(yield* writeConfig(mtls("\"spiffe://cluster.local/ns/monitoring/sa/prometheus\"")))
      expect((yield* get(`https://127.0.0.1:${allowed}/`, { ca, cert, key })).status).toBe(200)
      const other = yield* serve(yield* writeConfig(mtls("\"grafana.monitoring.svc\"")))
      const refused = yield* get(`https://127.0.0.1:${other}/`, { ca, cert, key }).pipe(Effect.exit)
      expect(Exit.isFailure(refused)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("RequireAnyClientCert wants a certificate but not a trusted one; VerifyClientCertIfGiven checks only a given one", () =>
    Effect.gen(function*() {
      const [ca, cert, key, strangerCert, strangerKey] = yield* Effect.promise(() =>
        Promise.all([
          pem("ca.pem"),
          pem("client.pem"),
          pem("client-key.pem"),
          pem("stranger.pem"),
          pem("stranger-key.pem")
        ])
      )
      const any = yield* serve(yield* writeConfig(tlsSection("  client_auth_type: RequireAnyClientCert")))
      expect(Exit.isFailure(yield* get(`https://127.0.0.1:${any}/`, { ca }).pipe(Effect.exit))).toBe(true)
      expect((yield* get(`https://127.0.0.1:${any}/`, { ca, cert: strangerCert, key: strangerKey })).status).toBe(200)

      const ifGiven = yield* serve(
        yield* writeConfig(
          tlsSection("  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {fixtures}ca.pem")
        )
      )
      expect((yield* get(`https://127.0.0.1:${ifGiven}/`, { ca })).status).toBe(200)
      expect((yield* get(`https://127.0.0.1:${ifGiven}/`, { ca, cert, key })).status).toBe(200)
      const untrusted = yield* get(`https://127.0.0.1:${ifGiven}/`, { ca, cert: strangerCert, key: strangerKey }).pipe(
        Effect.exit
      )
      expect(Exit.isFailure(untrusted)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("min_version and max_version are honoured", () =>
    Effect.gen(function*() {
      const ca = yield* Effect.promise(() => pem("ca.pem"))
      const tls13 = yield* serve(yield* writeConfig(tlsSection("  min_version: TLS13")))
      const old = yield* get(`https://127.0.0.1:${tls13}/`, { ca, maxVersion: "TLSv1.2" }).pipe(Effect.flip)
      expect(old.message).toMatch(/protocol version|alert/i)
      expect((yield* get(`https://127.0.0.1:${tls13}/`, { ca })).protocol).toBe("TLSv1.3")

      const tls12 = yield* serve(yield* writeConfig(tlsSection("  max_version: TLS12")))
      expect((yield* get(`https://127.0.0.1:${tls12}/`, { ca })).protocol).toBe("TLSv1.2")
      // The same TLS 1.2-only client the TLS 1.3 server refused is served here.
      expect((yield* get(`https://127.0.0.1:${tls12}/`, { ca, maxVersion: "TLSv1.2" })).status).toBe(200)
    }).pipe(Effect.scoped))

  it.live("cipher_suites restrict TLS 1.2 to the listed suites", () =>
    Effect.gen(function*() {
      const ca = yield* Effect.promise(() => pem("ca.pem"))
      const port = yield* serve(
        yield* writeConfig(
          tlsSection("  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]")
        )
      )
      const reply = yield* get(`https://127.0.0.1:${port}/`, { ca })
      expect(reply.cipher).toBe("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
      const other = yield* get(`https://127.0.0.1:${port}/`, { ca, ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" }).pipe(
        Effect.exit
      )
      expect(Exit.isFailure(other)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("basic auth and a rate limit without TLS serve plain HTTP", () =>
    Effect.gen(function*() {
      const file = yield* writeConfig(`basic_auth_users:
  prometheus: $2y$08$pVA38559dnb1ZNNpf5ZdBeY53/PPPVxUE7mTyeYm/BlfR/W8xLX4q
rate_limit:
  interval: 1h
  burst: 3
`)
      const port = yield* serve(file)
      const url = `http://127.0.0.1:${port}/`
      expect((yield* get(url)).status).toBe(401)
      expect((yield* get(url, { headers: basic("prometheus", "s3cret") })).status).toBe(200)
      expect((yield* get(url, { headers: basic("prometheus", "s3cret") })).status).toBe(200)
      const limited = yield* get(url, { headers: basic("prometheus", "s3cret") })
      expect(limited.status).toBe(429)
    }).pipe(Effect.scoped))

  it.live(
    "a guessing flood from one address is throttled while a valid client elsewhere is let in",
    () =>
      Effect.gen(function*() {
        // Cost 12 (~250 ms a check), so the flood's requests all arrive while its first check runs.
        const hash = bcrypt.hashSync("s3cret", 12)
        const file = yield* writeConfig(`basic_auth_users:\n  prometheus: ${hash}\n`)
        const port = yield* serve(file)
        const url = `http://127.0.0.1:${port}/metrics`
        const flood = yield* Effect.forEach(
          Array.from({ length: 60 }, (_, i) => i),
          (i) => get(url, { headers: basic("prometheus", `guess-${i}`), localAddress: "127.0.0.1", timeout: 60_000 }),
          { concurrency: "unbounded" }
        ).pipe(Effect.fork)
        const valid = yield* get(url, {
          headers: basic("prometheus", "s3cret"),
          localAddress: "127.0.0.2",
          timeout: 60_000
        })
        expect(valid.status).toBe(200)
        const statuses = (yield* Fiber.join(flood)).map((r) => r.status)
        expect(statuses.every((s) => s === 401 || s === 429)).toBe(true)
        // One check at a time per address: most of the flood was turned away without bcrypt.
        expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(30)
        const afterwards = yield* get(url, { headers: basic("prometheus", "s3cret"), localAddress: "127.0.0.1" })
        // Once its checks are done, the flooding address is served like any other.
        expect(afterwards.status).toBe(200)
      }).pipe(Effect.scoped),
    120_000
  )

  it.live("the rate limit is per client: one address spending its burst leaves another untouched", () =>
    Effect.gen(function*() {
      const file = yield* writeConfig(`rate_limit:\n  interval: 1h\n  burst: 3\n`)
      const port = yield* serve(file)
      const url = `http://127.0.0.1:${port}/metrics`
      const flood = yield* Effect.forEach(
        Array.from({ length: 20 }),
        () => get(url, { localAddress: "127.0.0.1" }),
        { concurrency: 5 }
      )
      expect(flood.filter((r) => r.status === 200).length).toBe(3)
      const limited = flood.filter((r) => r.status === 429)
      expect(limited.length).toBe(17)
      expect(limited[0]?.headers["retry-after"]).toBe("1")
      expect((yield* get(url, { localAddress: "127.0.0.2" })).status).toBe(200)
    }).pipe(Effect.scoped))

  it.live("/healthz and /readyz answer without credentials and outside the rate limit", () =>
    Effect.gen(function*() {
      const file = yield* writeConfig(`basic_auth_users:
  prometheus: $2y$08$pVA38559dnb1ZNNpf5ZdBeY53/PPPVxUE7mTyeYm/BlfR/W8xLX4q
rate_limit:
  interval: 1h
  burst: 1
`)
      const port = yield* serve(file)
      const base = `http://127.0.0.1:${port}`
      expect((yield* get(`${base}/metrics`)).status).toBe(401)
      expect((yield* get(`${base}/metrics`)).status).toBe(429)
      for (let i = 0; i < 5; i++) {
        expect((yield* get(`${base}/healthz`)).status).toBe(200)
        expect((yield* get(`${base}/readyz?verbose`)).status).not.toBe(401)
      }
      expect((yield* get(`${base}/metrics`, { headers: basic("prometheus", "s3cret") })).status).toBe(429)
    }).pipe(Effect.scoped))

  it.live("no web config file: plain HTTP, no authentication", () =>
    Effect.gen(function*() {
      const port = yield* serve("")
      const reply = yield* get(`http://127.0.0.1:${port}/metrics`)
      expect(reply.status).toBe(200)
      expect(reply.body).toMatch(/^kepler_node_cpu_watts/m)
    }).pipe(Effect.scoped))

  it.live("a rotated certificate is served to new connections without a restart; a broken one is not", () =>
    Effect.gen(function*() {
      const ca = yield* Effect.promise(() => pem("ca.pem"))
      const file = yield* writeConfig("tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n")
      const dir = path.dirname(file)
      const install = (cert: string, key: string) =>
        Effect.promise(async () => {
          await fs.copyFile(fixture(key), path.join(dir, "server-key.pem"))
          await fs.copyFile(fixture(cert), path.join(dir, "server.pem"))
        })
      yield* install("server.pem", "server-key.pem")
      const port = yield* serve(file, makeWebConfigLayer(Duration.millis(50)))
      const url = `https://127.0.0.1:${port}/`
      expect((yield* get(url, { ca })).serverName).toBe("localhost")

      // A broken certificate file: the one in use keeps being served.
      yield* Effect.promise(() => fs.writeFile(path.join(dir, "server.pem"), "not a certificate"))
      yield* Effect.sleep(Duration.millis(300))
      expect((yield* get(url, { ca })).serverName).toBe("localhost")

      yield* install("server-next.pem", "server-next-key.pem")
      const rotated = yield* get(url, { ca }).pipe(
        Effect.filterOrFail((r) => r.serverName === "localhost (next)", () => new Error("still the old certificate")),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(100))))
      )
      expect(rotated.status).toBe(200)
    }).pipe(Effect.scoped))

  it.live("a bad web config stops the server before it listens", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const file = yield* writeConfig(tlsSection("").replace("server.pem", "missing.pem"))
      const config = testConfig({
        web: { configFile: file, listenAddresses: [`127.0.0.1:${port}`] },
        monitor: { interval: Duration.zero }
      })
      const exit = yield* Layer.launch(serverLayer(config)).pipe(Effect.timeout(Duration.seconds(10)), Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("tls_server_config.cert_file: cannot read")
      // Nothing was bound: the port is still free.
      const probe = yield* connectOnce(port).pipe(Effect.flip)
      expect(probe.message).toContain("ECONNREFUSED")
    }).pipe(Effect.scoped))
})
