/**
 * The pod informer's `apiserver` mode: list + watch of the pods with `spec.nodeName=<node>`
 * (paginated list; a chunked watch with bookmarks). A dropped watch resumes from the last
 * resourceVersion seen; 410 Gone, on opening a watch or as an ERROR event, relists. Lookups never
 * fetch: the watch keeps the index current. Failures are logged with their fix and retried with
 * backoff; drops and expiries are routine and only logged at debug level.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type Fatal, forkCritical } from "../Fatal.js"
import { type HealthReporter, retrySchedule } from "./informerHealth.js"
import { type KubeHttp, KubeRequestError, kubeUrl } from "./KubeHttp.js"
import { decodeWatchEvent, type Pod, PodList, type WatchEvent } from "./kubeObjects.js"
import { fetched, fetchFailed, initialPodCache, lookIn, type PodCache } from "./podCache.js"
import { indexPods } from "./podIndex.js"
import { type PodInformerOptions, type PodInformerShape, singleLookup } from "./PodInformerShape.js"

/** The watch reported 410 Gone: its resourceVersion is too old, only a relist helps. */
interface Expired {
  readonly _tag: "Expired"
}
const expired: Expired = { _tag: "Expired" }

export const makeApiserverInformer = (
  options: PodInformerOptions,
  api: KubeHttp,
  health: HealthReporter
): Effect.Effect<PodInformerShape, never, Scope.Scope | Fatal> =>
  Effect.gen(function*() {
    const cache = yield* Ref.make<PodCache>(initialPodCache)
    const firstAttempt = yield* Deferred.make<void>()
    const selector = { fieldSelector: `spec.nodeName=${options.nodeName}` }
    const podsUrl = (params: Readonly<Record<string, string>>) =>
      kubeUrl(options.connection.server, "/api/v1/pods", { ...selector, ...params })
    const watchSeconds = Math.max(1, Math.round(Duration.toSeconds(options.watchTimeout)))
    // The server ends a quiet watch at timeoutSeconds; silence well beyond it is a dead connection.
    const idleTimeout = Duration.sum(options.watchTimeout, Duration.seconds(30))

    const publish = (pods: ReadonlyMap<string, Pod>) => Ref.update(cache, (c) => fetched(c, indexPods(pods.values())))

    /** Every page of the list; the resourceVersion to watch from is the last page's. */
    const list = Effect.gen(function*() {
      const pods = new Map<string, Pod>()
      let resourceVersion = ""
      let next = ""
      do {
        const page = yield* api.getJson(podsUrl({ limit: "500", ...(next === "" ? {} : { continue: next }) }), PodList)
        for (const pod of page.items) pods.set(pod.metadata.uid, pod)
        resourceVersion = page.metadata.resourceVersion
        next = page.metadata.continue
      } while (next !== "")
      return { pods, resourceVersion }
    }).pipe(Effect.withSpan("PodInformer.listPods"))

    const loop = Effect.gen(function*() {
      const backoff = yield* Schedule.driver(retrySchedule(options.retry))
      let pods: ReadonlyMap<string, Pod> = new Map()
      /** None: (re)list before watching. */
      let resourceVersion = Option.none<string>()
      const apply = (event: WatchEvent) =>
        Effect.gen(function*() {
          switch (event._tag) {
            case "Upsert":
            case "Delete": {
              const next = new Map(pods)
              if (event._tag === "Upsert") next.set(event.pod.metadata.uid, event.pod)
              else next.delete(event.pod.metadata.uid)
              pods = next
              if (event.pod.metadata.resourceVersion !== "") {
                resourceVersion = Option.some(event.pod.metadata.resourceVersion)
              }
              yield* publish(pods)
              return
            }
            case "Bookmark":
              if (event.resourceVersion !== "") resourceVersion = Option.some(event.resourceVersion)
              return
            case "Error":
              if (event.status.code === 410) return yield* Effect.fail<Expired | KubeRequestError>(expired)
              return yield* Effect.fail(
                new KubeRequestError({
                  url: podsUrl({ watch: "true" }),
                  status: event.status.code,
                  reason: event.status.message || event.status.reason
                })
              )
          }
        })

      while (true) {
        if (Option.isNone(resourceVersion)) {
          const listed = yield* Effect.either(list)
          yield* Deferred.succeed(firstAttempt, undefined)
          if (Either.isLeft(listed)) {
            yield* Ref.update(cache, fetchFailed)
            yield* health.failed(listed.left, "pods")
            yield* Effect.ignore(backoff.next(undefined))
            continue
          }
          pods = listed.right.pods
          resourceVersion = Option.some(listed.right.resourceVersion)
          yield* publish(pods)
          yield* health.succeeded
          yield* backoff.reset
        }
        const from = resourceVersion.pipe(Option.getOrElse(() => ""))
        const opened = yield* Effect.either(
          api.watch(
            podsUrl({
              watch: "true",
              resourceVersion: from,
              allowWatchBookmarks: "true",
              timeoutSeconds: String(watchSeconds)
            }),
            decodeWatchEvent,
            idleTimeout
          )
        )
        if (Either.isLeft(opened)) {
          if (opened.left.status === 410) {
            resourceVersion = Option.none()
            continue
          }
          yield* health.failed(opened.left, "pods")
          yield* Effect.ignore(backoff.next(undefined))
          continue
        }
        yield* health.succeeded
        yield* backoff.reset
        const started = yield* Clock.currentTimeMillis
        const ended = yield* Effect.either(Stream.runForEach(opened.right, apply))
        if (Either.isLeft(ended)) {
          const stop = ended.left
          if (stop._tag === "Expired") {
            yield* Effect.logDebug("pod informer: watch expired (410 Gone), relisting")
            resourceVersion = Option.none()
            continue
          }
          if (stop.status === 0) {
            // Connections drop (API server restarts, load balancer idle timeouts): routine.
            yield* Effect.logDebug(`pod informer: watch dropped (${stop.reason}), resuming`).pipe(
              Effect.annotateLogs({ resourceVersion: Option.getOrElse(resourceVersion, () => "") })
            )
          } else {
            // The server reported an error in the stream, or sent what we cannot read.
            yield* health.failed(stop, "pods")
          }
        }
        // A watch the server closes at once, again and again, must not become a busy loop.
        const lasted = (yield* Clock.currentTimeMillis) - started
        if (Either.isLeft(ended) || lasted < 1000) yield* Effect.ignore(backoff.next(undefined))
      }
    })
    yield* forkCritical("pod informer (apiserver)", loop)

    const lookupAll = Effect.fn("PodInformer.lookupAll")(function*(containerIds: ReadonlyArray<string>) {
      yield* Deferred.await(firstAttempt)
      const c = yield* Ref.get(cache)
      return lookIn(c, containerIds).found
    })
    return { lookupAll, lookup: singleLookup(lookupAll) } satisfies PodInformerShape
  })
