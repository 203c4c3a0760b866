/**
 * The Prometheus exporter: registers `/metrics`, which turns the monitor's snapshot (fresh
 * within `monitor.staleness`) into Kepler's families, negotiated between the Prometheus text
 * format and OpenMetrics, gzip-compressed when the scraper accepts it.
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { constants as zlibConstants, createGzip } from "node:zlib"
import { BuildInfo } from "../../buildInfo.js"
import { Collector } from "../../collector/Collector.js"
import { AppConfig } from "../../config/Config.js"
import { CpuPowerMeter } from "../../device/CpuPowerMeter.js"
import { PowerMonitor } from "../../monitor/PowerMonitor.js"
import { PlatformPower } from "../../platform/PlatformPower.js"
import { registerEndpoint } from "../../server/Endpoints.js"
import { SelfMetrics } from "../../telemetry/SelfMetrics.js"
import { type MetricFamily, snapshotFamilies } from "./families.js"
import { gpuFamilies, gpuInfoFamilies } from "./gpuFamilies.js"
import { idleFamilies } from "./idleFamilies.js"
import { makeLabelCache } from "./labelCache.js"
import { platformFamilies } from "./platformFamilies.js"
import { pulledOneByOne } from "./pulledStream.js"
import { contentTypeOf, exposition, negotiateFormat } from "./render.js"
import { snapshotSelfFamilies } from "./selfFamilies.js"
import { shortLivedFamilies } from "./shortLivedFamilies.js"
import { buildInfoFamily, cpuInfoFamily, meterInfoFamily } from "./staticFamilies.js"

export const acceptsGzip = (acceptEncoding: string | undefined): boolean =>
  acceptEncoding !== undefined &&
  acceptEncoding
    .split(",")
    .map((part) => part.trim().split(";"))
    .some(([coding, ...params]) => coding?.trim() === "gzip" && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p)))

export const makeMetricsHandler = Effect.gen(function*() {
  const config = yield* AppConfig
  const monitor = yield* PowerMonitor
  const collector = yield* Collector
  const build = yield* BuildInfo
  const meter = yield* CpuPowerMeter
  const self = yield* SelfMetrics
  const platform = yield* PlatformPower
  const levels = new Set(config.exporter.prometheus.metricsLevel)
  const staticFamilies: ReadonlyArray<MetricFamily> = [
    buildInfoFamily(build),
    cpuInfoFamily(collector.cpuInfo),
    meterInfoFamily(meter)
  ]
  // Workloads' rendered identity labels, across scrapes (labelCache.ts): this handler's, so it
  // lives and dies with the exporter's layer.
  const labels = makeLabelCache()

  return (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const format = negotiateFormat(request.headers["accept"])
      yield* self.scraped(format)
      // A failed refresh (a stuck file, a dead worker) serves the last snapshot: its age shows in
      // joulemon_snapshot_timestamp_seconds, and /readyz says why it is old.
      const snapshot = yield* monitor.snapshot.pipe(
        Effect.map(Option.some),
        Effect.catchAll((e) =>
          Effect.logWarning("refresh failed; serving the last snapshot", e.message).pipe(
            Effect.zipRight(monitor.latest)
          )
        )
      )
      const families: Array<MetricFamily> = snapshot._tag === "Some"
        ? [
          ...staticFamilies,
          ...snapshotFamilies(snapshot.value, {
            levels,
            nodeName: config.kube.nodeName,
            maxProcesses: config.exporter.prometheus.maxProcesses
          }),
          ...gpuInfoFamilies(snapshot.value, config.kube.nodeName),
          ...gpuFamilies(snapshot.value, levels, config.kube.nodeName),
          ...idleFamilies(snapshot.value, levels, config.kube.nodeName),
          ...shortLivedFamilies(snapshot.value, levels, config.kube.nodeName),
          ...snapshotSelfFamilies(snapshot.value)
        ]
        : [...staticFamilies]
      // Platform (BMC) power is not gated by metricsLevel, as in Kepler; `readings` returns the
      // poller's cache, so a hung BMC cannot slow the scrape.
      families.push(...platformFamilies(yield* platform.readings))
      const selfText = yield* Effect.promise(() => self.registry(format).metrics())
      // Streamed in chunks as the socket drains: a 10k-process body is ~16 MB, and building it
      // whole (then a Buffer, then its gzip) added ~200 MB to the peak RSS of a scrape.
      const text = pulledOneByOne(exposition(families, format, [selfText], labels))
      const gzipped = acceptsGzip(request.headers["accept-encoding"])
      // Fastest level: a 10k-process body (15 MB) compresses in ~26 ms to 0.9 MB, against ~106 ms
      // and 0.64 MB at the default level 6 — CPU matters more than bytes on every node.
      const body = gzipped
        ? NodeStream.fromReadable(
          () => NodeStream.toReadableNever(text).pipe(createGzip({ level: zlibConstants.Z_BEST_SPEED })),
          (cause) => new Error(`compressing /metrics failed: ${String(cause)}`)
        )
        : text
      return HttpServerResponse.stream(body, {
        contentType: contentTypeOf(format),
        headers: gzipped ? { "content-encoding": "gzip" } : {}
      })
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
