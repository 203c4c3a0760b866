/**
 * What the pod informer offers, and what it is built from; both modes implement it.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { PodInformerMode } from "../config/Config.js"
import type { KubeConnection } from "./connection.js"
import type { RetryPolicy } from "./informerHealth.js"
import type { PodContainer } from "./podIndex.js"

export interface PodInformerShape {
  /** The pod of one container; None when Kubernetes does not know it (or cannot be asked). */
  readonly lookup: (containerId: string) => Effect.Effect<Option.Option<PodContainer>>
  /**
   * The pods of many containers at once, with at most one re-fetch for all the unknown ones —
   * what one resource reading needs. The result holds only the ids that were found.
   */
  readonly lookupAll: (containerIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, PodContainer>>
}

export interface PodInformerOptions {
  readonly mode: PodInformerMode
  readonly nodeName: string
  readonly connection: KubeConnection
  /** kubelet mode: time between two polls of /pods. */
  readonly pollInterval: Duration.Duration
  /** Bound on one GET, and on opening a watch (Kepler: 10 s). */
  readonly requestTimeout: Duration.Duration
  readonly retry: RetryPolicy
  /** apiserver mode: the server ends each watch after this long (`timeoutSeconds`). */
  readonly watchTimeout: Duration.Duration
}

/** `lookup` in terms of `lookupAll`, so both share one path (and one re-fetch rule). */
export const singleLookup =
  (lookupAll: PodInformerShape["lookupAll"]) => (containerId: string): Effect.Effect<Option.Option<PodContainer>> =>
    Effect.map(lookupAll([containerId]), (found) => Option.fromNullable(found.get(containerId)))
