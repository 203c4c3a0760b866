/**
 * The collector the composition root uses, by `monitor.collector`:
 * - `worker` (default): files are read in a worker process (workerCollector.ts); pods are
 *   attributed here, from the pod informer's cache.
 * - `inline`: files are read on joulemon's own thread, as before the worker existed — for
 *   hosts that forbid a second process; a stuck read then freezes joulemon.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AppConfig, type JoulemonConfig } from "../config/Config.js"
import { CpuPowerMeter } from "../device/CpuPowerMeter.js"
import { meterSettingsFrom } from "../device/meterSelection.js"
import type { Fatal } from "../Fatal.js"
import type { KubeConfigError } from "../k8s/connection.js"
import { cgroupfsOption, ResourceInformerLive } from "../resource/procfsInformer.js"
import { type ResourceError, ResourceInformer } from "../resource/ResourceInformer.js"
import type { ResourceReading } from "../resource/types.js"
import type { SelfMetrics } from "../telemetry/SelfMetrics.js"
import { Collector, type CollectorError, inProcessCollector } from "./Collector.js"
import { collectDeadlineFor, makeWorkerCollector } from "./workerCollector.js"

/** Process start and a first full scan (every process's identity files) get this much more. */
const START_ALLOWANCE = Duration.seconds(5)

/**
 * The Kubernetes modules (the pod informer, its HTTP client), loaded only for a collector that
 * may need them: the default worker collector without `kube.enabled` never does.
 */
const loadPods = Effect.promise(() =>
  Promise.all([import("../k8s/podAttribution.js"), import("../k8s/PodInformer.js")]).then((
    [attribution, informer]
  ) => ({ ...attribution, PodInformer: informer.PodInformer }))
)

const inlineLayer: Layer.Layer<
  Collector,
  KubeConfigError | ResourceError,
  AppConfig | CpuPowerMeter | Fatal | SelfMetrics
> = Layer.unwrapEffect(Effect.map(loadPods, ({ PodAttributionLive }) =>
  Layer
    .effect(
      Collector,
      Effect.gen(function*() {
        const config = yield* AppConfig
        return inProcessCollector(yield* CpuPowerMeter, yield* ResourceInformer, config.monitor.parallelism)
      })
    ).pipe(Layer.provide(PodAttributionLive.pipe(Layer.provide(ResourceInformerLive))))))

const workerLayer = <R>(
  config: JoulemonConfig,
  enrich: Effect.Effect<(reading: ResourceReading) => Effect.Effect<ResourceReading>, never, R>
) => {
  const deadline = collectDeadlineFor(config.monitor.interval)
  return Layer.scoped(
    Collector,
    Effect.gen(function*() {
      const meter = yield* CpuPowerMeter
      return yield* makeWorkerCollector({
        meter,
        meterName: meter.name,
        settings: meterSettingsFrom(config),
        parallelism: config.monitor.parallelism,
        ...cgroupfsOption(config),
        deadline,
        startDeadline: Duration.sum(deadline, START_ALLOWANCE),
        enrich: yield* enrich
      })
    })
  )
}

const noPods = Effect.succeed((reading: ResourceReading) => Effect.succeed(reading))

export const CollectorLive: Layer.Layer<
  Collector,
  CollectorError | KubeConfigError | ResourceError,
  AppConfig | CpuPowerMeter | Fatal | SelfMetrics
> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config): Layer.Layer<
    Collector,
    CollectorError | KubeConfigError | ResourceError,
    AppConfig | CpuPowerMeter | Fatal | SelfMetrics
  > => {
    if (config.monitor.collector === "inline") return inlineLayer
    return config.kube.enabled
      ? Layer.unwrapEffect(
        Effect.map(
          loadPods,
          ({ makePodEnricher, PodInformer }) =>
            workerLayer(config, Effect.flatMap(PodInformer, makePodEnricher)).pipe(Layer.provide(PodInformer.layer))
        )
      )
      : workerLayer(config, noPods)
  })
)
