/**
 * A small typed client for the three requests joulemon makes (GET a Node, GET/watch Pods, GET the
 * kubelet's /pods), on @effect/platform's HttpClient over a Node https.Agent that carries the
 * TLS material. Responses are Schema-decoded; every failure becomes one `KubeRequestError` with
 * the URL, the HTTP status (0 when no answer came) and the reason, which the informer turns into
 * a log line with the fix.
 *
 * docs/kubernetes.md says why this and not @kubernetes/client-node.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as fs from "node:fs/promises"
import type { KubeAuth, KubeConnection } from "./connection.js"
import { Status } from "./kubeObjects.js"

export class KubeRequestError extends Data.TaggedError("KubeRequestError")<{
  readonly url: string
  /** The HTTP status, or 0 when no answer came (connection, TLS, timeout, unreadable token). */
  readonly status: number
  readonly reason: string
}> {
  override get message(): string {
    return this.status === 0
      ? `GET ${this.url} failed: ${this.reason}`
      : `GET ${this.url} answered HTTP ${this.status}: ${this.reason}`
  }
}

export interface KubeTls {
  readonly ca: Buffer | undefined
  readonly clientCert: Buffer | undefined
  readonly clientKey: Buffer | undefined
  /** false skips verification of the server certificate. */
  readonly verifyServer: boolean
  readonly serverName: string | undefined
}

export interface KubeHttpOptions {
  readonly tls: KubeTls
  readonly auth: KubeAuth
  /** Bound on a GET (connect, answer and body) and on opening a watch. */
  readonly requestTimeout: Duration.Duration
}

export interface KubeHttp {
  readonly getJson: <A, I>(url: string, schema: Schema.Schema<A, I>) => Effect.Effect<A, KubeRequestError>
  /**
   * Opens a watch (fails when it cannot be opened or answers other than 200) and returns its
   * events, one per line; the stream fails when a line does not decode, when the connection
   * drops, or when nothing arrives for `idleTimeout`.
   */
  readonly watch: <A>(
    url: string,
    decodeLine: (json: unknown) => Either.Either<A, string>,
    idleTimeout: Duration.Duration
  ) => Effect.Effect<Stream.Stream<A, KubeRequestError>, KubeRequestError>
}

/** `base` + `path` with query parameters; `base` may carry a path prefix (API proxies do). */
export const kubeUrl = (base: string, path: string, params: Readonly<Record<string, string>> = {}): string => {
  const url = new URL(base.replace(/\/+$/, "") + path)
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value)
  return url.toString()
}

const describe = (error: unknown): string => {
  if (error instanceof Error) {
    const code = "code" in error && typeof error.code === "string" ? error.code : undefined
    return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
  }
  return String(error)
}

const transportReason = (error: HttpClientError.HttpClientError): string =>
  error.cause === undefined ? error.message : describe(error.cause)

/** The most useful line of an error body: the Status message when it is one, else the text. */
const bodyReason = (text: string): string => {
  const status = Either.try(() => JSON.parse(text) as unknown).pipe(
    Either.flatMap((json) => Schema.decodeUnknownEither(Status)(json))
  )
  if (Either.isRight(status) && status.right.message !== "") return status.right.message
  const trimmed = text.trim()
  return trimmed === "" ? "no body" : trimmed.length > 300 ? `${trimmed.slice(0, 300)}…` : trimmed
}

export const makeKubeHttp = (options: KubeHttpOptions): Effect.Effect<KubeHttp, never, Scope.Scope> =>
  Effect.gen(function*() {
    const agent = yield* NodeHttpClient.makeAgent({
      // One request per poll (15 s) or one long watch: a pooled socket would save nothing, and
      // reusing one the server has closed meanwhile fails the request ("socket hang up").
      keepAlive: false,
      ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }),
      ...(options.tls.clientCert === undefined ? {} : { cert: options.tls.clientCert }),
      ...(options.tls.clientKey === undefined ? {} : { key: options.tls.clientKey }),
      ...(options.tls.serverName === undefined ? {} : { servername: options.tls.serverName }),
      rejectUnauthorized: options.tls.verifyServer
    })
    const client = yield* NodeHttpClient.make.pipe(Effect.provideService(NodeHttpClient.HttpAgent, agent))
    const timeout = options.requestTimeout

    const bearer = (url: string): Effect.Effect<Option.Option<string>, KubeRequestError> => {
      const auth = options.auth
      switch (auth._tag) {
        case "None":
          return Effect.succeed(Option.none())
        case "Token":
          return Effect.succeed(Option.some(auth.token))
        case "TokenFile":
          return Effect.tryPromise(() => fs.readFile(auth.path, "utf8")).pipe(
            Effect.map((token) => Option.some(token.trim())),
            Effect.mapError(
              (e) =>
                new KubeRequestError({
                  url,
                  status: 0,
                  reason: `cannot read the bearer token ${auth.path}: ${describe(e.error)}`
                })
            )
          )
      }
    }

    const send = (url: string): Effect.Effect<HttpClientResponse.HttpClientResponse, KubeRequestError> =>
      Effect.gen(function*() {
        const token = yield* bearer(url)
        const request = HttpClientRequest.get(url).pipe(
          HttpClientRequest.acceptJson,
          (r) => (Option.isSome(token) ? HttpClientRequest.bearerToken(r, token.value) : r)
        )
        return yield* client
          .execute(request)
          .pipe(Effect.mapError((e) => new KubeRequestError({ url, status: 0, reason: transportReason(e) })))
      })

    const failOnStatus = (url: string, response: HttpClientResponse.HttpClientResponse) =>
      response.status >= 200 && response.status < 300
        ? Effect.void
        : response.text.pipe(
          Effect.orElseSucceed(() => ""),
          Effect.flatMap((text) =>
            Effect.fail(new KubeRequestError({ url, status: response.status, reason: bodyReason(text) }))
          )
        )

    const timedOut = (url: string) => () =>
      new KubeRequestError({ url, status: 0, reason: `no answer within ${Duration.format(timeout)}` })

    const getJson = <A, I>(url: string, schema: Schema.Schema<A, I>): Effect.Effect<A, KubeRequestError> =>
      Effect.gen(function*() {
        const response = yield* send(url)
        yield* failOnStatus(url, response)
        const json = yield* response.json.pipe(
          Effect.mapError((e) =>
            new KubeRequestError({ url, status: response.status, reason: `unreadable body: ${transportReason(e)}` })
          )
        )
        return yield* Schema.decodeUnknown(schema)(json).pipe(
          Effect.mapError(
            (e) =>
              new KubeRequestError({
                url,
                status: response.status,
                reason: `unexpected body: ${ParseResult.TreeFormatter.formatErrorSync(e)}`
              })
          )
        )
      }).pipe(Effect.timeoutFail({ duration: timeout, onTimeout: timedOut(url) }))

    const watch = <A>(
      url: string,
      decodeLine: (json: unknown) => Either.Either<A, string>,
      idleTimeout: Duration.Duration
    ): Effect.Effect<Stream.Stream<A, KubeRequestError>, KubeRequestError> =>
      Effect.gen(function*() {
        const response = yield* send(url)
        yield* failOnStatus(url, response)
        return response.stream.pipe(
          Stream.mapError((e) =>
            new KubeRequestError({ url, status: 0, reason: `watch connection lost: ${transportReason(e)}` })
          ),
          Stream.decodeText(),
          Stream.splitLines,
          Stream.filter((line) => line.trim() !== ""),
          Stream.mapEffect((line) =>
            Either.try(() => JSON.parse(line) as unknown).pipe(
              Either.mapLeft(describe),
              Either.flatMap(decodeLine),
              Either.mapLeft((reason) =>
                new KubeRequestError({ url, status: response.status, reason: `undecodable watch event: ${reason}` })
              )
            )
          ),
          Stream.timeoutFail(
            () =>
              new KubeRequestError({ url, status: 0, reason: `no watch event for ${Duration.format(idleTimeout)}` }),
            idleTimeout
          )
        )
      }).pipe(Effect.timeoutFail({ duration: timeout, onTimeout: timedOut(url) }))

    return { getJson, watch } satisfies KubeHttp
  })

/**
 * The client for the kubelet, shared by the informer and `doctor` so both trust the same thing.
 * The kubelet's serving certificate is self-signed on most clusters (signed by the cluster CA only
 * with serverTLSBootstrap), so, like Kepler, metrics-server's common setting and Prometheus's
 * kubelet jobs, it is not verified. The credentials are the same ones the API server gets.
 */
export const makeKubeletHttp = (
  connection: KubeConnection,
  requestTimeout: Duration.Duration
): Effect.Effect<KubeHttp, never, Scope.Scope> =>
  makeKubeHttp({
    tls: {
      ca: undefined,
      clientCert: connection.clientCert,
      clientKey: connection.clientKey,
      verifyServer: false,
      serverName: undefined
    },
    auth: connection.auth,
    requestTimeout
  })
