/**
 * The composition root (DESIGN.md §1): device and resources → monitor → exporters → HTTP,
 * one Layer graph launched in a scope. Shutdown (SIGINT/SIGTERM) closes it in reverse order of
 * acquisition: servers stop accepting, the loop fiber is interrupted, files are released.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { BuildInfo, BuildInfoLive } from "./buildInfo.js"
import type { Collector } from "./collector/Collector.js"
import { CollectorLive } from "./collector/CollectorLive.js"
import { AppConfig, type JoulemonConfig } from "./config/Config.js"
import { formatDuration } from "./config/duration.js"
import { CpuPowerMeter } from "./device/CpuPowerMeter.js"
import { GpuPowerMeterLive } from "./device/gpu/GpuPowerMeterLive.js"
import { CpuPowerMeterLive } from "./device/meterSelection.js"
import { PrometheusExporterLive } from "./exporter/prometheus/PrometheusExporter.js"
import { StdoutExporterLive } from "./exporter/stdout/StdoutExporter.js"
import { PowerMonitorLive } from "./monitor/PowerMonitor.js"
import { PlatformPowerLive } from "./platform/PlatformPower.js"
import { EndpointsLive } from "./server/Endpoints.js"
import { HealthLive } from "./server/health.js"
import { HttpServerLive, OpenRequestGuard, PlainHttpServerFactory } from "./server/HttpServer.js"
import { CheckpointLive } from "./state/Checkpoint.js"
import { SelfMetricsLive } from "./telemetry/SelfMetrics.js"

/**
 * Device, resources and the monitor on top of them, with `collector` reading the files (and
 * whatever else it provides, e.g. `joulemon record`'s recorder, passed on).
 */
export const coreWith = <A, E, R>(collector: Layer.Layer<A | Collector, E, R>) =>
  PowerMonitorLive.pipe(
    Layer.annotateLogs("component", "monitor"),
    Layer.provideMerge(
      Layer.mergeAll(
        collector.pipe(Layer.annotateLogs("component", "collector")),
        BuildInfoLive,
        CheckpointLive.pipe(Layer.annotateLogs("component", "checkpoint")),
        PlatformPowerLive.pipe(Layer.annotateLogs("component", "platform"))
      ).pipe(
        Layer.provideMerge(
          Layer.mergeAll(
            CpuPowerMeterLive.pipe(Layer.annotateLogs("component", "device")),
            GpuPowerMeterLive.pipe(Layer.annotateLogs("component", "gpu")),
            // Below the collector: its pod informer reports its connection there.
            SelfMetricsLive
          )
        )
      )
    )
  )

/**
 * The daemon's core: the files are read in a worker process (or inline); with Kubernetes on,
 * containers gain pod ids and Kubernetes names on this side.
 */
export const CoreLive = coreWith(CollectorLive)

/**
 * The profiler endpoints, loaded only when enabled: the plain daemon never needs the inspector
 * modules behind them.
 */
const pprofLayer = Layer.unwrapEffect(
  Effect.promise(() => import("./server/pprof.js")).pipe(Effect.map((m) => m.PprofLive))
)

/**
 * With no `web.configFile`, plain HTTP and an open guard, as WebConfigLive gives then; the web
 * config code (TLS, basic auth and the bcrypt worker, whose @effect/platform index import costs
 * ~25 MiB of resident memory) is loaded only when a file is set.
 */
const webConfigLayer = (config: JoulemonConfig) =>
  config.web.configFile === ""
    ? Layer.merge(PlainHttpServerFactory, OpenRequestGuard)
    : Layer.unwrapEffect(Effect.promise(() => import("./server/webConfig.js")).pipe(Effect.map((m) => m.WebConfigLive)))

/** Endpoints the enabled features register, then the servers that serve them. */
export const webLayer = (config: JoulemonConfig) => {
  const features = Layer.mergeAll(
    HealthLive,
    config.exporter.prometheus.enabled ? PrometheusExporterLive : Layer.empty,
    config.debug.pprof.enabled ? pprofLayer : Layer.empty
  )
  return HttpServerLive.pipe(
    Layer.annotateLogs("component", "server"),
    Layer.provide(features.pipe(Layer.provideMerge(EndpointsLive))),
    Layer.provide(webConfigLayer(config))
  )
}

const startupLog = Effect.gen(function*() {
  const config = yield* AppConfig
  const build = yield* BuildInfo
  const meter = yield* CpuPowerMeter
  yield* Effect.logInfo("starting joulemon").pipe(
    Effect.annotateLogs({
      version: build.version,
      revision: build.revision,
      node: build.runtimeVersion,
      nodeName: config.kube.nodeName,
      interval: formatDuration(config.monitor.interval),
      meter: meter.name,
      zones: meter.zones.map((z) => z.name).join(","),
      metrics: config.exporter.prometheus.metricsLevel.join(",")
    })
  )
})

export const appLayer = (config: JoulemonConfig) =>
  Layer.mergeAll(
    webLayer(config),
    config.exporter.stdout.enabled ? StdoutExporterLive.pipe(Layer.annotateLogs("component", "stdout")) : Layer.empty,
    Layer.effectDiscard(startupLog).pipe(Layer.annotateLogs("component", "main"))
  ).pipe(
    Layer.provide(CoreLive),
    Layer.provide(Layer.succeed(AppConfig, config))
  )
