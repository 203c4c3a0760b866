/**
 * The web config (`web.configFile`, exporter-toolkit format, kepler-behaviour.md §2.7) as the two
 * seams of the HTTP server: the `ServerFactory` (plain HTTP, or HTTPS with the configured TLS
 * and client-certificate policy; configured response headers on every response) and the
 * `RequestGuard` (rate limit, then basic auth). Applied to every listen address.
 *
 * Unlike Kepler, which finds a missing certificate only when serving, everything is checked
 * while the layer is built — before any address is bound — and every problem is reported at
 * once, each naming the file and the key.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import * as http from "node:http"
import type * as https from "node:https"
import type * as net from "node:net"
import { AppConfig } from "../config/Config.js"
import { type BasicAuthOptions, bcryptCheck, makeBasicAuth, parseBasicAuthorization } from "./basicAuth.js"
import { type BcryptWorkerOptions, makeBcryptWorkerCheck } from "./bcryptWorkerCheck.js"
import { clientKey } from "./clientAddress.js"
import { OpenRequestGuard, pathOf, PlainHttpServerFactory, RequestGuard, ServerFactory } from "./HttpServer.js"
import { createTlsServer } from "./tls.js"
import { loadWebConfig, type WebConfigError, type WebSettings } from "./webConfigLoad.js"
import { takeClientToken, type TokenBucket } from "./webConfigRateLimit.js"
import { watchWebConfig, WEB_CONFIG_RELOAD_INTERVAL } from "./webConfigReload.js"

export { loadWebConfig, WebConfigError, type WebSettings } from "./webConfigLoad.js"

/** Sets the configured headers on every response, before the app writes its own. */
const withHeaders = (
  server: net.Server & http.Server,
  headers: Readonly<Record<string, string>>
): net.Server & http.Server => {
  const entries = Object.entries(headers)
  if (entries.length > 0) {
    // Registered at creation, so it runs before the listener NodeHttpServer adds; `writeHead`
    // merges these with the response's own headers.
    server.on("request", (_request: http.IncomingMessage, response: http.ServerResponse) => {
      for (const [name, value] of entries) response.setHeader(name, value)
    })
  }
  return server
}

const unauthorized = HttpServerResponse.text("Unauthorized\n", {
  status: 401,
  headers: { "www-authenticate": "Basic realm=\"joulemon\"" }
})
const tooManyRequests = HttpServerResponse.text("Too Many Requests\n", { status: 429, headers: { "retry-after": "1" } })

/**
 * The probes answer without credentials and outside the rate limit: they reveal only "ok" or
 * why joulemon is not ready, and a kubelet probe cannot carry a password — with auth on, the
 * shipped liveness probe would otherwise restart joulemon forever.
 */
export const PROBE_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"])

/**
 * The guard for the settings: rate limit first (as exporter-toolkit, but per client address),
 * then basic auth. The probes pass through.
 */
export const makeWebGuard = (
  settings: Pick<WebSettings, "rateLimit" | "users">,
  auth: Omit<BasicAuthOptions, "users"> = {}
) =>
  Effect.gen(function*() {
    const limit = settings.rateLimit
    const buckets = yield* Ref.make(HashMap.empty<string, TokenBucket>())
    const basic = Object.keys(settings.users).length === 0
      ? undefined
      : yield* makeBasicAuth({ ...auth, users: settings.users })
    const limited = (client: string) =>
      limit.intervalMillis > 0
        ? Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => Ref.modify(buckets, (b) => takeClientToken(limit, b, client, now)))
        )
        : Effect.succeed(true)
    return RequestGuard.of({
      check: (request) =>
        Effect.gen(function*() {
          if (PROBE_PATHS.has(pathOf(request.url))) return Option.none()
          const client = clientKey(Option.getOrUndefined(request.remoteAddress))
          if (!(yield* limited(client))) return Option.some(tooManyRequests)
          if (basic === undefined) return Option.none()
          const credentials = parseBasicAuthorization(request.headers["authorization"])
          if (Option.isNone(credentials)) return Option.some(unauthorized)
          const verdict = yield* basic.verify(credentials.value, client)
          if (verdict === "accepted") return Option.none()
          if (verdict === "throttled") return Option.some(tooManyRequests)
          yield* Effect.logDebug("basic auth refused").pipe(
            Effect.annotateLogs({ component: "web", user: credentials.value.user, client })
          )
          return Option.some(unauthorized)
        })
    })
  })

/**
 * The server factory for the settings: HTTPS when TLS is configured, else plain HTTP. `servers`
 * lists the HTTPS servers it made, for the certificate reload.
 */
export const makeWebServerFactory = (settings: Pick<WebSettings, "tls" | "headers">) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const log = (effect: Effect.Effect<void>) =>
      Runtime.runFork(runtime)(effect.pipe(Effect.annotateLogs({ component: "web" })))
    const made = yield* Ref.make<ReadonlyArray<https.Server>>([])
    const plan = settings.tls
    const factory: ServerFactory["Type"] = plan === undefined
      ? { create: () => withHeaders(http.createServer(), settings.headers), scheme: "http" }
      : {
        scheme: "https",
        create: () => {
          const server = createTlsServer(plan, {
            onRefused: (reason, remote) =>
              log(Effect.logDebug("TLS client refused").pipe(Effect.annotateLogs({ remote, reason }))),
            onHandshakeError: (error, remote) =>
              log(Effect.logDebug("TLS handshake failed").pipe(Effect.annotateLogs({ remote, reason: error.message })))
          })
          Runtime.runSync(runtime)(Ref.update(made, (list) => [...list, server]))
          return withHeaders(server, settings.headers)
        }
      }
    return { factory, servers: Ref.get(made) }
  })

const describeSettings = (settings: WebSettings) => ({
  file: settings.file,
  tls: settings.tls === undefined ? "off" : `${settings.tls.minVersion}-${settings.tls.maxVersion}`,
  clientAuth: settings.tls?.clientAuth ?? "none",
  basicAuthUsers: Object.keys(settings.users).length,
  rateLimit: settings.rateLimit.intervalMillis > 0
    ? `${settings.rateLimit.burst} per ${settings.rateLimit.intervalMillis}ms`
    : "off",
  headers: Object.keys(settings.headers).join(",")
})

/**
 * The server factory and request guard `web.configFile` asks for: plain HTTP and an open guard
 * when it is "", otherwise what the file configures (checked here, before anything listens).
 * With TLS, the file is re-read every `reloadEvery` to pick up rotated certificates. `bcryptWorker`
 * overrides the password-check worker thread (tests).
 */
export const makeWebConfigLayer = (
  reloadEvery: Duration.Duration = WEB_CONFIG_RELOAD_INTERVAL,
  bcryptWorker: BcryptWorkerOptions = {}
): Layer.Layer<ServerFactory | RequestGuard, WebConfigError, AppConfig> =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const config = yield* AppConfig
      if (config.web.configFile === "") return Layer.merge(PlainHttpServerFactory, OpenRequestGuard)
      const settings = yield* loadWebConfig(config.web.configFile)
      for (const warning of settings.warnings) {
        yield* Effect.logWarning(warning).pipe(Effect.annotateLogs({ component: "web", file: settings.file }))
      }
      yield* Effect.logInfo("web config loaded").pipe(
        Effect.annotateLogs({ component: "web", ...describeSettings(settings) })
      )
      const { factory, servers } = yield* makeWebServerFactory(settings)
      const check = Object.keys(settings.users).length === 0
        ? bcryptCheck
        : yield* makeBcryptWorkerCheck(bcryptWorker).pipe(
          // Passwords are still checked, correctly, but each one holds the event loop for up to
          // 100 ms at a time (bcryptCheck): said at WARN, with why, so a flood's stalls are explained.
          Effect.catchAll((error) =>
            Effect.logWarning(
              "cannot start the bcrypt worker thread; checking passwords on the main thread, where a flood of password guesses delays scrapes and probes"
            ).pipe(
              Effect.annotateLogs({ component: "web", error: error.message }),
              Effect.as(bcryptCheck)
            )
          )
        )
      const guard = yield* makeWebGuard(settings, { check })
      if (settings.tls !== undefined) yield* watchWebConfig(settings, servers, reloadEvery)
      return Layer.merge(Layer.succeed(ServerFactory, factory), Layer.succeed(RequestGuard, guard))
    })
  )

export const WebConfigLive: Layer.Layer<ServerFactory | RequestGuard, WebConfigError, AppConfig> = makeWebConfigLayer()
