/**
 * The HTTP endpoints features register (Kepler's api-server `Register`): the Prometheus
 * exporter adds /metrics, health adds /healthz and /readyz, and the landing page lists them
 * in registration order.
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"

export interface Endpoint {
  readonly path: string
  readonly summary: string
  readonly description: string
  readonly handle: (
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
}

export interface EndpointsShape {
  readonly register: (endpoint: Endpoint) => Effect.Effect<void>
  readonly all: Effect.Effect<ReadonlyArray<Endpoint>>
}

export class Endpoints extends Context.Tag("joulemon/Endpoints")<Endpoints, EndpointsShape>() {}

export const EndpointsLive: Layer.Layer<Endpoints> = Layer.effect(
  Endpoints,
  Effect.gen(function*() {
    const ref = yield* Ref.make<ReadonlyArray<Endpoint>>([])
    return {
      register: (endpoint) => Ref.update(ref, (list) => [...list.filter((e) => e.path !== endpoint.path), endpoint]),
      all: Ref.get(ref)
    }
  })
)

/** A layer that registers one endpoint when built (so the server, built after it, serves it). */
export const registerEndpoint = <R>(
  make: Effect.Effect<Endpoint, never, R>
): Layer.Layer<never, never, Endpoints | R> =>
  Layer.effectDiscard(
    Effect.gen(function*() {
      const endpoints = yield* Endpoints
      yield* endpoints.register(yield* make)
    })
  )
