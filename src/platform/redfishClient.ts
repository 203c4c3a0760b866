/**
 * A small Redfish client: GET a resource by its `@odata.id` and get its JSON object back, with
 * the BMC's authentication, TLS setting and a timeout on every request.
 *
 * Built on @effect/platform's HttpClient over Node's http/https (`NodeHttpClient`): a timeout
 * interrupts the request fiber, which aborts the socket — so a hung BMC costs one timeout, not a
 * leaked connection — and the agent (with `rejectUnauthorized: false` when `insecure`) lives in
 * the caller's scope, so it is destroyed with the service.
 *
 * Authentication, as gofish (Kepler's client) does it: a Redfish session by default —
 * `POST /redfish/v1/SessionService/Sessions`, then `X-Auth-Token` on every request, re-login
 * once on a 401 (sessions expire), `DELETE` of the session when the scope closes — or HTTP basic
 * auth (`auth: basic`, or when the BMC has no SessionService). Credentials and the token never
 * appear in errors or logs; errors name the resource path and the HTTP status only.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { BmcDetail } from "./bmcConfig.js"

export class RedfishError extends Data.TaggedError("RedfishError")<{
  /** The resource path (`/redfish/v1/Chassis/1U/Power`). */
  readonly resource: string
  readonly reason: string
}> {
  override get message(): string {
    return `Redfish ${this.resource}: ${this.reason}`
  }
}

export type JsonObject = Readonly<Record<string, unknown>>

export interface RedfishClient {
  /** The resource's JSON object. */
  readonly get: (resource: string) => Effect.Effect<JsonObject, RedfishError>
}

export interface RedfishClientOptions {
  readonly bmcId: string
  readonly bmc: BmcDetail
  readonly timeout: Duration.Duration
}

export const SESSIONS_PATH = "/redfish/v1/SessionService/Sessions"

/** Certificate problems, for which `insecure: true` is the usual (test-lab) answer. */
const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID"
])

const describeCause = (cause: unknown): string => {
  if (!(cause instanceof Error)) return String(cause)
  const code = "code" in cause && typeof cause.code === "string" ? cause.code : undefined
  const hint = code !== undefined && TLS_CODES.has(code)
    ? " (set insecure: true for this BMC to skip certificate verification)"
    : ""
  return `${cause.message}${hint}`
}

const transportFailure = (resource: string) => (error: HttpClientError.HttpClientError) =>
  new RedfishError({
    resource,
    reason: error._tag === "RequestError"
      ? `cannot reach the BMC: ${describeCause(error.cause)}`
      : `cannot read the answer: ${describeCause(error.cause)}`
  })

interface Answer {
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: string
}

type Auth =
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "Basic" }
  | { readonly _tag: "SessionPending" }
  | { readonly _tag: "Session"; readonly token: Redacted.Redacted<string>; readonly location: Option.Option<string> }

const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

const parseJson = (resource: string, body: string): Effect.Effect<JsonObject, RedfishError> =>
  Effect.try({
    try: () => JSON.parse(body) as unknown,
    catch: () => new RedfishError({ resource, reason: "the answer is not valid JSON" })
  }).pipe(
    Effect.filterOrFail(isObject, () => new RedfishError({ resource, reason: "the answer is not a JSON object" }))
  )

export const makeRedfishClient = (options: RedfishClientOptions): Effect.Effect<RedfishClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { bmc, bmcId, timeout } = options
    const base = new URL(bmc.endpoint)
    const agent = yield* NodeHttpClient.makeAgent({ keepAlive: true, rejectUnauthorized: !bmc.insecure })
    // No trace headers to the BMC: some reject unknown headers, and they are not ours to trace.
    const http = (yield* NodeHttpClient.make.pipe(Effect.provideService(NodeHttpClient.HttpAgent, agent))).pipe(
      HttpClient.withTracerPropagation(false)
    )
    const hasCredentials = bmc.username !== "" || bmc.password !== ""
    const auth = yield* Ref.make<Auth>(
      !hasCredentials ? { _tag: "Anonymous" } : bmc.auth === "basic" ? { _tag: "Basic" } : { _tag: "SessionPending" }
    )
    const loginLock = yield* Effect.makeSemaphore(1)

    /** One exchange, bounded by the timeout; spans (if traced) never record the token. */
    const send = (
      request: HttpClientRequest.HttpClientRequest,
      resource: string
    ): Effect.Effect<Answer, RedfishError> =>
      http.execute(request).pipe(
        Effect.flatMap((response) =>
          Effect.map(response.text, (body): Answer => ({ status: response.status, headers: response.headers, body }))
        ),
        Effect.mapError(transportFailure(resource)),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new RedfishError({
              resource,
              reason: `no answer within ${Duration.format(timeout)} (experimental.platform.redfish.httpTimeout)`
            })
        }),
        Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, "x-auth-token"])
      )

    const unauthorized = (resource: string, status: number) =>
      new RedfishError({
        resource,
        reason: `authentication failed (HTTP ${status}): check the username and password of BMC ${bmcId}`
      })

    /** A new session, or basic auth when the BMC has no session service (404/405/501). */
    const login: Effect.Effect<Auth, RedfishError> = Effect.gen(function*() {
      const request = HttpClientRequest.post(new URL(SESSIONS_PATH, base)).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUnsafeJson({ UserName: bmc.username, Password: bmc.password })
      )
      const answer = yield* send(request, SESSIONS_PATH)
      if (answer.status === 404 || answer.status === 405 || answer.status === 501) {
        yield* Effect.logInfo("BMC has no Redfish session service; using HTTP basic auth").pipe(
          Effect.annotateLogs({ bmc_id: bmcId, status: answer.status })
        )
        return { _tag: "Basic" } as const
      }
      if (answer.status === 401 || answer.status === 403) return yield* unauthorized(SESSIONS_PATH, answer.status)
      if (answer.status < 200 || answer.status > 299) {
        return yield* new RedfishError({
          resource: SESSIONS_PATH,
          reason: `cannot create a session: HTTP ${answer.status}`
        })
      }
      const token = answer.headers["x-auth-token"]
      if (token === undefined || token === "") {
        return yield* new RedfishError({
          resource: SESSIONS_PATH,
          reason: "the BMC created a session without an X-Auth-Token"
        })
      }
      const location = Option.fromNullable(answer.headers["location"]).pipe(Option.map((l) => new URL(l, base).href))
      return { _tag: "Session", token: Redacted.make(token), location } as const
    })

    /** The current authentication, logging in first when a session is needed (once, under a lock). */
    const current: Effect.Effect<Auth, RedfishError> = Effect.flatMap(Ref.get(auth), (a) =>
      a._tag !== "SessionPending"
        ? Effect.succeed(a)
        : loginLock.withPermits(1)(
          Effect.flatMap(Ref.get(auth), (again) =>
            again._tag !== "SessionPending" ? Effect.succeed(again) : Effect.tap(login, (next) =>
              Ref.set(auth, next)))
        ))

    const authorize = (request: HttpClientRequest.HttpClientRequest, a: Auth) => {
      switch (a._tag) {
        case "Basic":
          return HttpClientRequest.basicAuth(request, Redacted.make(bmc.username), Redacted.make(bmc.password))
        case "Session":
          return HttpClientRequest.setHeader(request, "X-Auth-Token", Redacted.value(a.token))
        default:
          return request
      }
    }

    const attempt = (resource: string) =>
      Effect.gen(function*() {
        const a = yield* current
        const request = HttpClientRequest.get(new URL(resource, base)).pipe(
          HttpClientRequest.acceptJson,
          HttpClientRequest.setHeader("OData-Version", "4.0")
        )
        return [a, yield* send(authorize(request, a), resource)] as const
      })

    const get = (resource: string): Effect.Effect<JsonObject, RedfishError> =>
      Effect.gen(function*() {
        let [used, answer] = yield* attempt(resource)
        if (answer.status === 401 && used._tag === "Session") {
          // The session expired or was dropped by the BMC: log in again, once. Only the fiber
          // that still sees the stale token resets it, so concurrent requests log in once.
          yield* Ref.update(auth, (a): Auth => (a === used ? { _tag: "SessionPending" } : a))
          ;[used, answer] = yield* attempt(resource)
        }
        if (answer.status === 401 || answer.status === 403) return yield* unauthorized(resource, answer.status)
        if (answer.status < 200 || answer.status > 299) {
          return yield* new RedfishError({ resource, reason: `HTTP ${answer.status}` })
        }
        return yield* parseJson(resource, answer.body)
      })

    // Log out when the service stops, so sessions do not pile up on the BMC (they are limited).
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Ref.get(auth), (a) =>
        a._tag === "Session" && Option.isSome(a.location)
          ? send(authorize(HttpClientRequest.del(a.location.value), a), SESSIONS_PATH).pipe(
            Effect.tap((answer) =>
              Effect.logDebug("closed the Redfish session").pipe(Effect.annotateLogs({ status: answer.status }))
            ),
            Effect.catchAll((e) => Effect.logDebug("could not close the Redfish session", e.message)),
            Effect.asVoid
          )
          : Effect.void)
    )

    return { get } satisfies RedfishClient
  })
