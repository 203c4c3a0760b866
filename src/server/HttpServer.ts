/**
 * The HTTP server (DESIGN.md §1): one Node server per `web.listenAddresses` entry, each a
 * scoped resource closed when the program shuts down, all serving the registered endpoints.
 * The Node server is created by `ServerFactory`, so TLS (web config) swaps it without touching
 * routing.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as http from "node:http"
import type * as net from "node:net"
import { AppConfig } from "../config/Config.js"
import { type ListenTarget, toListenTarget } from "../config/listenAddress.js"
import { Endpoints } from "./Endpoints.js"
import { landingPage } from "./landingPage.js"

export class ListenError extends Data.TaggedError("ListenError")<{
  readonly address: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot listen on ${this.address}: ${this.reason}`
  }
}

/** Creates the Node server for one listen address (plain HTTP here; TLS in the web config). */
export class ServerFactory extends Context.Tag("joulemon/ServerFactory")<
  ServerFactory,
  { readonly create: (target: ListenTarget) => net.Server & http.Server; readonly scheme: "http" | "https" }
>() {}

export const PlainHttpServerFactory: Layer.Layer<ServerFactory> = Layer.succeed(ServerFactory, {
  create: () => http.createServer(),
  scheme: "http"
})

/**
 * Runs before routing: `Some(response)` answers the request instead (e.g. 401 from basic
 * auth in the web config); `None` lets it through.
 */
export class RequestGuard extends Context.Tag("joulemon/RequestGuard")<
  RequestGuard,
  {
    readonly check: (
      request: HttpServerRequest.HttpServerRequest
    ) => Effect.Effect<Option.Option<HttpServerResponse.HttpServerResponse>>
  }
>() {}

export const OpenRequestGuard: Layer.Layer<RequestGuard> = Layer.succeed(RequestGuard, {
  check: () => Effect.succeedNone
})

const describeListenFailure = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : ""
  switch (code) {
    case "EADDRINUSE":
      return "address already in use (is another joulemon or Kepler running? choose another with --web.listen-address)"
    case "EACCES":
      return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
    case "EADDRNOTAVAIL":
      return "address not available on this machine"
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host name does not resolve"
    default:
      return cause instanceof Error ? cause.message : String(cause)
  }
}

export const pathOf = (url: string): string => {
  try {
    return new URL(url, "http://localhost").pathname
  } catch {
    return url
  }
}

/** How long in-flight requests may take to finish at shutdown before their sockets are closed. */
export const SHUTDOWN_GRACE = Duration.seconds(3)

/** Routes a request to the registered endpoints; `/` is the landing page. */
export const makeApp = Effect.gen(function*() {
  const endpoints = yield* Endpoints
  const guard = yield* RequestGuard
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const rejected = yield* guard.check(request)
    if (Option.isSome(rejected)) return rejected.value
    if (request.method !== "GET" && request.method !== "HEAD") {
      return HttpServerResponse.text("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } })
    }
    const path = pathOf(request.url)
    const all = yield* endpoints.all
    if (path === "/") {
      return HttpServerResponse.text(landingPage(all), { contentType: "text/html; charset=utf-8" })
    }
    const endpoint = all.find((e) => e.path === path)
    if (endpoint === undefined) return HttpServerResponse.text("404 page not found\n", { status: 404 })
    return yield* endpoint.handle(request)
  })
})

/**
 * Stops accepting, lets in-flight requests finish (their keep-alive connections are closed after
 * the response, so a scraper cannot keep the server open by reusing one), and closes whatever
 * is still open after SHUTDOWN_GRACE.
 */
const drain = (server: http.Server): Effect.Effect<void> =>
  // A timer, not Effect.timeout: finalizers run uninterruptibly, so a timeout could never
  // interrupt the wait; forcing the sockets closed completes `close` instead.
  Effect.async<void>((resume) => {
    if (!server.listening) return resume(Effect.void)
    server.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => res.setHeader("connection", "close"))
    const force = setTimeout(() => server.closeAllConnections(), Duration.toMillis(SHUTDOWN_GRACE))
    server.close(() => {
      clearTimeout(force)
      resume(Effect.void)
    })
    server.closeIdleConnections()
  })

export const HttpServerLive: Layer.Layer<never, ListenError, AppConfig | Endpoints | ServerFactory | RequestGuard> =
  Layer.scopedDiscard(
    Effect.gen(function*() {
      const config = yield* AppConfig
      const factory = yield* ServerFactory
      const app = yield* makeApp
      for (const address of config.web.listenAddresses) {
        const parsed = toListenTarget(address)
        if (Either.isLeft(parsed)) return yield* Effect.fail(new ListenError({ address, reason: parsed.left }))
        const target = parsed.right
        const nodeServer = factory.create(target)
        const server = yield* NodeHttpServer.make(() => nodeServer, {
          port: target.port,
          ...(target.host === undefined ? {} : { host: target.host })
        }).pipe(Effect.mapError((e) => new ListenError({ address, reason: describeListenFailure(e.cause) })))
        // Runs before the platform's own close (finalizers run in reverse order).
        yield* Effect.addFinalizer(() => drain(nodeServer))
        yield* server.serve(app)
        const bound = server.address
        yield* Effect.logInfo("listening").pipe(
          Effect.annotateLogs({
            component: "server",
            address,
            url: bound._tag === "TcpAddress"
              ? `${factory.scheme}://${
                bound.hostname.includes(":") ? `[${bound.hostname}]` : bound.hostname
              }:${bound.port}/`
              : bound.path
          })
        )
      }
    })
  )
