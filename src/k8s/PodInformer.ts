/**
 * The pod informer (kepler-behaviour.md §4.7): container id → {pod uid, pod name, namespace,
 * container name} for the containers on this node, in `kubelet` mode (kubeletInformer.ts, the
 * default) or `apiserver` mode (apiserverInformer.ts).
 *
 * Kubernetes being unreachable or refusing (401/403) never fails a lookup or the program: the
 * informer logs the problem with its fix (once per change), retries with backoff, and lookups
 * answer from what it last knew — nothing, before the first success. Its connection is exported as
 * `joulemon_kube_informer_*` (SelfMetrics.ts), for alerts.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { AppConfig } from "../config/Config.js"
import type { Fatal } from "../Fatal.js"
import { SelfMetrics } from "../telemetry/SelfMetrics.js"
import { makeApiserverInformer } from "./apiserverInformer.js"
import { type KubeConfigError, resolveConnection } from "./connection.js"
import { defaultRetryPolicy, type InformerTelemetry, makeHealthReporter } from "./informerHealth.js"
import { makeKubeHttp, makeKubeletHttp } from "./KubeHttp.js"
import { makeKubeletInformer } from "./kubeletInformer.js"
import { initialPodCache, lookIn } from "./podCache.js"
import type { PodIndex } from "./podIndex.js"
import { type PodInformerOptions, type PodInformerShape, singleLookup } from "./PodInformerShape.js"

export type { PodInformerOptions, PodInformerShape } from "./PodInformerShape.js"

/**
 * Both HTTP clients and the informer of the configured mode, in the caller's scope; every
 * success and failure also goes to `telemetry`.
 */
export const makePodInformer = (
  options: PodInformerOptions,
  telemetry: InformerTelemetry
): Effect.Effect<PodInformerShape, never, Scope.Scope | Fatal> =>
  Effect.gen(function*() {
    const c = options.connection
    const api = yield* makeKubeHttp({
      tls: {
        ca: c.ca,
        clientCert: c.clientCert,
        clientKey: c.clientKey,
        verifyServer: !c.insecureSkipTlsVerify,
        serverName: c.tlsServerName
      },
      auth: c.auth,
      requestTimeout: options.requestTimeout
    })
    const health = yield* makeHealthReporter({ mode: options.mode, nodeName: options.nodeName }, telemetry)
    yield* Effect.logInfo("pod informer: starting").pipe(
      Effect.annotateLogs({ mode: options.mode, node: options.nodeName, server: c.server, credentials: c.source })
    )
    if (options.mode === "apiserver") return yield* makeApiserverInformer(options, api, health)
    // The kubelet's address comes from the API server's Node object.
    const kubelet = yield* makeKubeletHttp(c, options.requestTimeout)
    return yield* makeKubeletInformer(options, api, kubelet, health)
  })

/** Settings Kepler hard-codes; the config file has no keys for them. */
export const informerDefaults = {
  requestTimeout: Duration.seconds(10),
  retry: defaultRetryPolicy,
  watchTimeout: Duration.minutes(5)
} as const

export class PodInformer extends Context.Tag("joulemon/PodInformer")<PodInformer, PodInformerShape>() {
  /**
   * From `kube.*` of the configuration: in-cluster service account or `kube.config`; reports to
   * SelfMetrics' `podInformer`.
   */
  static readonly layer: Layer.Layer<PodInformer, KubeConfigError, AppConfig | Fatal | SelfMetrics> = Layer.scoped(
    PodInformer,
    Effect.gen(function*() {
      const config = yield* AppConfig
      const self = yield* SelfMetrics
      const connection = yield* resolveConnection(config.kube.config)
      return yield* makePodInformer({
        ...informerDefaults,
        mode: config.kube.podInformer.mode,
        nodeName: config.kube.nodeName,
        connection,
        pollInterval: config.kube.podInformer.pollInterval
      }, self.podInformer)
    })
  )

  /** A fixed index, for tests and for running without a cluster. */
  static readonly fromIndex = (index: PodIndex): Layer.Layer<PodInformer> => {
    const lookupAll = (ids: ReadonlyArray<string>) =>
      Effect.sync(() => lookIn({ ...initialPodCache, index }, ids).found)
    return Layer.succeed(PodInformer, { lookupAll, lookup: singleLookup(lookupAll) })
  }
}
