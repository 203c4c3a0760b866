/**
 * The Prometheus exporter: registers `/metrics`, which turns the monitor's snapshot (fresh
 * within `monitor.staleness`) into Kepler's families, negotiated between the Prometheus text
 * format and OpenMetrics, gzip-compressed when the scraper accepts it.
 */
import { promisify } from "node:util"
import { gzip } from "node:zlib"
import { HttpServerResponse, type HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { BuildInfo } from "../../buildInfo.js"
import { AppConfig } from "../../config/Config.js"
import { CpuPowerMeter } from "../../device/CpuPowerMeter.js"
import { PowerMonitor } from "../../monitor/PowerMonitor.js"
import { SelfMetrics } from "../../telemetry/SelfMetrics.js"
import { ResourceInformer } from "../../resource/ResourceInformer.js"
import { registerEndpoint } from "../../server/Endpoints.js"
import { snapshotFamilies, type MetricFamily } from "./families.js"
import { contentTypeOf, negotiateFormat, renderFamilies } from "./render.js"
import { PlatformPower } from "../../platform/PlatformPower.js"
import { platformFamilies } from "./platformFamilies.js"
import { snapshotSelfFamilies } from "./selfFamilies.js"
import { buildInfoFamily, cpuInfoFamily, meterInfoFamily } from "./staticFamilies.js"

const gzipAsync = promisify(gzip)

export const acceptsGzip = (acceptEncoding: string | undefined): boolean =>
  acceptEncoding !== undefined &&
  acceptEncoding
    .split(",")
    .map((part) => part.trim().split(";"))
    .some(([coding, ...params]) => coding?.trim() === "gzip" && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p)))

export const makeMetricsHandler = Effect.gen(function* () {
  const config = yield* AppConfig
  const monitor = yield* PowerMonitor
  const resources = yield* ResourceInformer
  const build = yield* BuildInfo
  const meter = yield* CpuPowerMeter
  const self = yield* SelfMetrics
  const platform = yield* PlatformPower
  const levels = new Set(config.exporter.prometheus.metricsLevel)
  const staticFamilies: ReadonlyArray<MetricFamily> = [
    buildInfoFamily(build),
    cpuInfoFamily(resources.cpuInfo),
    meterInfoFamily(meter)
  ]

  return (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      const format = negotiateFormat(request.headers["accept"])
      yield* self.scraped(format)
      const snapshot = yield* monitor.snapshot.pipe(
        Effect.tapError((e) => Effect.logWarning("serving /metrics without power families", e.message)),
        Effect.option
      )
      const families: Array<MetricFamily> =
        snapshot._tag === "Some"
          ? [
              ...staticFamilies,
              ...snapshotFamilies(snapshot.value, { levels, nodeName: config.kube.nodeName }),
              ...snapshotSelfFamilies(snapshot.value)
            ]
          : [...staticFamilies]
      // Platform (BMC) power is not gated by metricsLevel, as in Kepler; `readings` returns the
      // poller's cache, so a hung BMC cannot slow the scrape.
      families.push(...platformFamilies(yield* platform.readings))
      const body = yield* Effect.promise(() => renderFamilies(families, format, [self.registry(format)]))
      const contentType = contentTypeOf(format)
      if (!acceptsGzip(request.headers["accept-encoding"])) return HttpServerResponse.text(body, { contentType })
      const compressed = yield* Effect.promise(() => gzipAsync(body))
      return HttpServerResponse.uint8Array(compressed, { contentType, headers: { "content-encoding": "gzip" } })
    }).pipe(Effect.annotateLogs({ component: "prometheus" }))
})

export const PrometheusExporterLive = registerEndpoint(
  Effect.map(makeMetricsHandler, (handle) => ({
    path: "/metrics",
    summary: "Metrics",
    description: "Prometheus metrics",
    handle
  }))
)
