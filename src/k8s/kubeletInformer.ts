/**
 * The pod informer's `kubelet` mode (the default, kepler-behaviour.md §4.7): the Node is read
 * from the API server once to find the kubelet (InternalIP, daemonEndpoints port), then the
 * kubelet's `/pods` is polled every `kube.podInformer.pollInterval`. An id that is in neither the
 * index nor the confirmed misses (podCache.ts) triggers one immediate re-fetch, shared by every
 * caller that wants one (singleflight, as the monitor's refresh: DESIGN.md §4).
 *
 * Failures never reach a caller: the cache keeps what it knew, the health reporter logs the
 * problem with its fix, and only the poll loop retries (with backoff) while it lasts.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { type Fatal, forkCritical } from "../Fatal.js"
import { joinHostPort } from "./connection.js"
import { type HealthReporter, type RequestTarget, retrySchedule } from "./informerHealth.js"
import { type KubeHttp, KubeRequestError, kubeUrl } from "./KubeHttp.js"
import { Node, PodList } from "./kubeObjects.js"
import { fetched, fetchFailed, initialPodCache, lookIn, type PodCache, polled, settle } from "./podCache.js"
import { indexPods } from "./podIndex.js"
import { type PodInformerOptions, type PodInformerShape, singleLookup } from "./PodInformerShape.js"

/** The kubelet's default port when the Node does not say (daemonEndpoints.kubeletEndpoint). */
export const DEFAULT_KUBELET_PORT = 10250
/** Kepler reads a zero poll interval as its default. */
const DEFAULT_POLL_INTERVAL = Duration.seconds(15)

interface Failure {
  readonly error: KubeRequestError
  readonly target: RequestTarget
}
const failAs = (target: RequestTarget) => (error: KubeRequestError): Failure => ({ error, target })

export const makeKubeletInformer = (
  options: PodInformerOptions,
  api: KubeHttp,
  kubelet: KubeHttp,
  health: HealthReporter
): Effect.Effect<PodInformerShape, never, Scope.Scope | Fatal> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const cache = yield* Ref.make<PodCache>(initialPodCache)
    /** The kubelet's base URL, found once from the Node and forgotten when the kubelet fails. */
    const kubeletBase = yield* Ref.make<Option.Option<string>>(Option.none())
    const inFlight = yield* Ref.make<Option.Option<Deferred.Deferred<boolean>>>(Option.none())
    const nodeUrl = kubeUrl(options.connection.server, `/api/v1/nodes/${encodeURIComponent(options.nodeName)}`)

    const resolveKubelet: Effect.Effect<string, Failure> = Effect.gen(function*() {
      const known = yield* Ref.get(kubeletBase)
      if (Option.isSome(known)) return known.value
      const node = yield* api.getJson(nodeUrl, Node).pipe(Effect.mapError(failAs("node")))
      const ip = node.status.addresses.find((a) => a.type === "InternalIP")?.address
      if (ip === undefined || ip === "") {
        return yield* Effect.fail(
          failAs("node")(
            new KubeRequestError({
              url: nodeUrl,
              status: 200,
              reason: `no InternalIP found for node ${JSON.stringify(options.nodeName)}`
            })
          )
        )
      }
      const port = node.status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0
      const base = `https://${joinHostPort(ip, port > 0 ? port : DEFAULT_KUBELET_PORT)}`
      yield* Ref.set(kubeletBase, Option.some(base))
      return base
    })

    /** One fetch of /pods into the cache; true when it succeeded. Never fails. */
    const fetchOnce: Effect.Effect<boolean> = Effect.gen(function*() {
      const base = yield* resolveKubelet
      const pods = yield* kubelet.getJson(kubeUrl(base, "/pods"), PodList).pipe(
        // The node's address may have changed: find it again next time.
        Effect.tapError(() => Ref.set(kubeletBase, Option.none())),
        Effect.mapError(failAs("kubelet"))
      )
      const index = indexPods(pods.items)
      yield* Ref.update(cache, (c) => fetched(c, index))
      yield* health.succeeded
      return true
    }).pipe(
      Effect.catchAll((failure) =>
        Ref.update(cache, fetchFailed).pipe(
          Effect.zipRight(health.failed(failure.error, failure.target)),
          Effect.as(false)
        )
      ),
      Effect.withSpan("PodInformer.fetchKubeletPods")
    )

    /** Joins the fetch in flight or starts one in the informer's scope (a caller's interruption cannot cancel it). */
    const fetchShared: Effect.Effect<boolean> = Effect.uninterruptible(
      Effect.gen(function*() {
        const mine = yield* Deferred.make<boolean>()
        const joined = yield* Ref.modify(inFlight, (current) =>
          Option.isSome(current)
            ? ([current, current] as const)
            : ([Option.none<Deferred.Deferred<boolean>>(), Option.some(mine)] as const))
        if (Option.isSome(joined)) {
          return joined.value
        }
        yield* fetchOnce.pipe(
          Effect.onExit((exit) => Ref.set(inFlight, Option.none()).pipe(Effect.zipRight(Deferred.done(mine, exit)))),
          Effect.forkIn(scope)
        )
        return mine
      })
    ).pipe(Effect.flatMap(Deferred.await))

    const lookupAll = Effect.fn("PodInformer.lookupAll")(function*(containerIds: ReadonlyArray<string>) {
      const first = yield* Ref.modify(cache, (c) => {
        const result = lookIn(c, containerIds)
        return [result, result.cache] as const
      })
      // While Kubernetes is failing, the retry loop is the only one to ask it.
      if (first.unknown.length === 0 || first.cache.phase === "failing") return first.found
      const ok = yield* fetchShared
      if (!ok) return first.found
      const second = yield* Ref.modify(cache, (c) => {
        const result = settle(c, first.unknown)
        return [result.found, result.cache] as const
      })
      return second.size === 0 ? first.found : new Map([...first.found, ...second])
    })

    const pollLoop = Effect.gen(function*() {
      const backoff = yield* Schedule.driver(retrySchedule(options.retry))
      const interval = Duration.isZero(options.pollInterval) ? DEFAULT_POLL_INTERVAL : options.pollInterval
      while (true) {
        if (yield* fetchShared) {
          yield* Ref.update(cache, polled)
          yield* backoff.reset
          yield* Effect.sleep(interval)
        } else {
          yield* Effect.ignore(backoff.next(undefined))
        }
      }
    })
    yield* forkCritical("pod informer (kubelet)", pollLoop)

    return { lookupAll, lookup: singleLookup(lookupAll) } satisfies PodInformerShape
  })
