/**
 * joulemon's own metrics (`joulemon_*`): how its refreshes, scrapes and sensors behave, and,
 * with Kubernetes on, whether the pod informer is connected.
 *
 * Counters and the refresh histogram are prom-client objects owned by this service (built per
 * Layer, so tests get independent instances). prom-client updates are synchronous, so
 * concurrent fibers cannot lose an increment. Each metric exists once per exposition format (see
 * makeSelfMetrics for why), each set in its own registry.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { monitorEventLoopDelay } from "node:perf_hooks"
import client from "prom-client"
import { AppConfig, type PodInformerMode } from "../config/Config.js"
import type { ExpositionFormat } from "../exporter/prometheus/render.js"
import { INFORMER_ERROR_REASONS, type InformerTelemetry } from "../k8s/informerHealth.js"
import type { Snapshot } from "../monitor/snapshot.js"
import { EVENT_LOOP_LAG_NAMES, registerEventLoopLag } from "./eventLoopLag.js"

/** What the monitor reports after each refresh attempt. */
export interface MonitorTelemetry {
  readonly refreshed: (snapshot: Snapshot, seconds: number) => Effect.Effect<void>
  readonly failed: (stage: string) => Effect.Effect<void>
  readonly joined: Effect.Effect<void>
}

export const noTelemetry: MonitorTelemetry = {
  refreshed: () => Effect.void,
  failed: () => Effect.void,
  joined: Effect.void
}

export interface SelfMetricsShape extends MonitorTelemetry {
  readonly scraped: (format: ExpositionFormat) => Effect.Effect<void>
  /** What the pod informer reports; does nothing when Kubernetes is off (no informer runs then). */
  readonly podInformer: InformerTelemetry
  /** The registry holding these metrics in the given format. */
  readonly registry: (format: ExpositionFormat) => client.Registry<client.RegistryContentType>
}

export class SelfMetrics extends Context.Tag("joulemon/SelfMetrics")<SelfMetrics, SelfMetricsShape>() {}

/** Refresh durations span ~1 ms (idle laptop) to seconds (50k processes on a slow disk). */
const REFRESH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

export interface SelfMetricsOptions {
  /** `exporter.prometheus.debugCollectors`: "go" and "process" enable prom-client's runtime metrics. */
  readonly debugCollectors: ReadonlyArray<string>
  /**
   * `kube.podInformer.mode` when `kube.enabled`: the `joulemon_kube_informer_*` families exist
   * only then, so that a machine without Kubernetes exports no informer to alert on.
   */
  readonly podInformerMode?: PodInformerMode | undefined
}

/**
 * Kepler's debug collectors mapped onto prom-client's default metrics, which are the Node
 * counterpart of Go's: `go` → the runtime's `nodejs_*`, `process` → `process_*`. prom-client
 * also exports `nodejs_active_{handles,requests,resources}_total` as gauges, which break the
 * naming rules promtool checks (a `_total` suffix means a counter); the same values remain
 * without the suffix, so those three are dropped.
 */
/** Event-loop delay sampling interval (see addDebugCollectors for why it is not 10 ms). */
const EVENT_LOOP_SAMPLE_MS = 1000

const addDebugCollectors = (
  register: client.Registry<client.RegistryContentType>,
  collectors: ReadonlyArray<string>
): void => {
  if (collectors.length === 0) return
  const keep = (name: string): boolean =>
    (collectors.includes("go") && name.startsWith("nodejs_") && !name.endsWith("_total")) ||
    (collectors.includes("process") && name.startsWith("process_"))
  // prom-client samples event-loop delay every 10 ms by default: that timer alone cost ~0.9 %
  // of a core on an idle node, more than joulemon's own work; once a second is within the noise
  // of not collecting at all (0.25 % of a core either way, scripts/bench.ts "idle").
  client.collectDefaultMetrics({ register, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  for (const metric of register.getMetricsAsArray()) {
    const name = metric.name
    if ((name.startsWith("nodejs_") || name.startsWith("process_")) && !keep(name)) register.removeSingleMetric(name)
  }
  if (collectors.includes("go")) {
    // prom-client's lag gauges read NaN and a sentinel when scrapes come < 1 s apart
    // (eventLoopLag.ts). Its own histogram stays enabled — nothing outside prom-client can turn
    // it off — which costs one more timer tick a second.
    for (const name of EVENT_LOOP_LAG_NAMES) register.removeSingleMetric(name)
    const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS })
    histogram.enable()
    registerEventLoopLag(register, histogram, EVENT_LOOP_SAMPLE_MS * 1e6)
  }
}

/**
 * The pod informer's connection. `up` starts at 0: until the first answer from Kubernetes the
 * informer knows no pod. Every reason starts at 0, so that `increase()` sees the first error.
 */
const makeInformerMetrics = (registers: Array<client.Registry<client.RegistryContentType>>, mode: PodInformerMode) => {
  const up = new client.Gauge({
    name: "joulemon_kube_informer_up",
    help:
      "1 when the pod informer's last request to Kubernetes (the kubelet's /pods, or the API server's pod list and watch) succeeded, 0 when it failed or none has succeeded yet; while 0, new containers get no pod labels. mode is kube.podInformer.mode",
    labelNames: ["mode"],
    registers
  })
  up.set({ mode }, 0)
  const errors = new client.Counter({
    name: "joulemon_kube_informer_errors_total",
    help:
      "Failed requests of the pod informer to Kubernetes, by reason: unauthorized (401 or unreadable token), forbidden (403, RBAC), unreachable (no answer, TLS, timeout), decode (unreadable answer), other (404, 5xx); the log has the URL and the fix",
    labelNames: ["reason"],
    registers
  })
  for (const reason of INFORMER_ERROR_REASONS) errors.inc({ reason }, 0)
  const lastSuccess = new client.Gauge({
    name: "joulemon_kube_informer_last_success_timestamp_seconds",
    help:
      "When the pod informer last got an answer from Kubernetes (Unix time; 0 before the first): each poll in kubelet mode, each list and watch opened in apiserver mode",
    registers
  })
  return { up, errors, lastSuccess, mode }
}

/** One format's registry and metric objects. */
const makeMetricSet = (
  registry: client.Registry<client.RegistryContentType>,
  debugCollectors: ReadonlyArray<string>,
  podInformerMode: PodInformerMode | undefined
) => {
  const registers = [registry]
  const refreshDuration = new client.Histogram({
    name: "joulemon_refresh_duration_seconds",
    help: "Time one refresh took: device and /proc reads, attribution and snapshot",
    buckets: REFRESH_BUCKETS,
    registers
  })
  const refreshes = new client.Counter({
    name: "joulemon_refreshes_total",
    help: "Refreshes that produced a snapshot",
    registers
  })
  const refreshErrors = new client.Counter({
    name: "joulemon_refresh_errors_total",
    help: "Refreshes that failed, by stage; the previous snapshot stays in place",
    labelNames: ["stage"],
    registers
  })
  for (const stage of ["resources", "attribution"]) refreshErrors.inc({ stage }, 0)
  const joins = new client.Counter({
    name: "joulemon_singleflight_joins_total",
    help: "Callers that found the snapshot stale and shared a refresh another caller had started",
    registers
  })
  const scrapes = new client.Counter({
    name: "joulemon_scrapes_total",
    help: "Requests to /metrics served, by exposition format",
    labelNames: ["format"],
    registers
  })
  for (const format of ["prometheus", "openmetrics"]) scrapes.inc({ format }, 0)
  const vanished = new client.Counter({
    name: "joulemon_processes_vanished_total",
    help: "Processes that exited while /proc was being scanned (not errors)",
    registers
  })
  const unreadable = new client.Counter({
    name: "joulemon_unreadable_files_total",
    help: "Files of live processes that could not be read (permissions); see the log for which",
    registers
  })
  const scanned = new client.Gauge({
    name: "joulemon_processes_scanned",
    help: "Processes read from /proc in the last refresh",
    registers
  })
  new client.Counter({
    name: "joulemon_process_cpu_seconds_total",
    help: "CPU time (user + system) joulemon itself has used, in seconds",
    registers,
    collect() {
      const usage = process.cpuUsage()
      this.reset()
      this.inc((usage.user + usage.system) / 1e6)
    }
  })
  new client.Gauge({
    name: "joulemon_process_resident_memory_bytes",
    help: "Resident memory of the joulemon process, in bytes",
    registers,
    collect() {
      this.set(process.memoryUsage.rss())
    }
  })
  const informer = podInformerMode === undefined ? undefined : makeInformerMetrics(registers, podInformerMode)
  addDebugCollectors(registry, debugCollectors)
  return { refreshDuration, refreshes, refreshErrors, joins, scrapes, vanished, unreadable, scanned, informer }
}

export const makeSelfMetrics = (options: SelfMetricsOptions): SelfMetricsShape => {
  const prometheus = new client.Registry()
  const openmetrics = new client.Registry<client.OpenMetricsContentType>()
  openmetrics.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE)
  // Separate metric objects per format: in OpenMetrics mode prom-client renames a counter
  // object in place (drops `_total` from `metric.name`), which would corrupt the Prometheus
  // text of a metric shared by both registries after the first OpenMetrics scrape.
  const sets = [prometheus, openmetrics].map((registry) =>
    makeMetricSet(registry, options.debugCollectors, options.podInformerMode)
  )
  const each = (f: (set: ReturnType<typeof makeMetricSet>) => void) => Effect.sync(() => sets.forEach(f))

  return {
    refreshed: (snapshot, seconds) =>
      each((m) => {
        m.refreshDuration.observe(seconds)
        m.refreshes.inc()
        m.vanished.inc(snapshot.scan.processesVanished)
        m.unreadable.inc(snapshot.scan.unreadableFiles)
        m.scanned.set(snapshot.scan.processesScanned)
      }),
    failed: (stage) => each((m) => m.refreshErrors.inc({ stage })),
    joined: each((m) => m.joins.inc()),
    scraped: (format) => each((m) => m.scrapes.inc({ format })),
    podInformer: {
      connected: (atMillis) =>
        each(({ informer }) => {
          if (informer === undefined) return
          informer.up.set({ mode: informer.mode }, 1)
          informer.lastSuccess.set(atMillis / 1000)
        }),
      failed: (reason) =>
        each(({ informer }) => {
          if (informer === undefined) return
          informer.up.set({ mode: informer.mode }, 0)
          informer.errors.inc({ reason })
        })
    },
    registry: (format) => (format === "openmetrics" ? openmetrics : prometheus)
  }
}

export const SelfMetricsLive: Layer.Layer<SelfMetrics, never, AppConfig> = Layer.effect(
  SelfMetrics,
  Effect.map(AppConfig, (config) =>
    makeSelfMetrics({
      debugCollectors: config.exporter.prometheus.debugCollectors,
      podInformerMode: config.kube.enabled ? config.kube.podInformer.mode : undefined
    }))
)
