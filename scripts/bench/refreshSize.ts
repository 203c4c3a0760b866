/**
 * One size of the refresh and /metrics benchmark, in its own process (so sizes do not share a
 * heap): a synthetic /proc tree, the real informer, meter, monitor and exporter code.
 *
 *   node .bench-build/scripts/bench/refreshSize.js --size 10000 [--runs 15] [--memory-refreshes 100]
 *     [--formats prometheus,openmetrics]
 *
 * Prints one JSON line. Steady state: before each timed refresh every process's ticks move
 * (worst case: every process gets a share). Run with --expose-gc for the heap figures.
 */
import { Duration, Effect, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { constants as zlibConstants, gzip } from "node:zlib"
import { METRICS_LEVELS } from "../../src/config/Config.js"
import { makeFakeMeter } from "../../src/device/fakeMeter.js"
import { snapshotFamilies } from "../../src/exporter/prometheus/families.js"
import { makeLabelCache } from "../../src/exporter/prometheus/labelCache.js"
import { type ExpositionFormat, renderFamilies } from "../../src/exporter/prometheus/render.js"
import { makePowerMonitor } from "../../src/monitor/PowerMonitor.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import { makeSelfMetrics } from "../../src/telemetry/SelfMetrics.js"
import { advanceProcfsTree, generateProcfsTree } from "../lib/procfsTree.js"
import { runBenchChild } from "./child.js"
import { argValue, mib, summarize } from "./stats.js"

const size = Number(argValue("--size") ?? 10_000)
const runs = Number(argValue("--runs") ?? 15)
const memoryRefreshes = Number(argValue("--memory-refreshes") ?? 100)
// The floor section renders only the text format: at 50k each render takes seconds, per repetition.
const formats = (argValue("--formats") ?? "prometheus,openmetrics").split(",").filter((f): f is ExpositionFormat =>
  f === "prometheus" || f === "openmetrics"
)
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined)
// The level /metrics uses (see PrometheusExporter.ts).
const gzipAsync = (body: string) => promisify(gzip)(body, { level: zlibConstants.Z_BEST_SPEED })

const root = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
const dir = fs.mkdtempSync(path.join(root, "joulemon-bench-"))

const program = Effect.gen(function*() {
  let tree = generateProcfsTree(path.join(dir, "proc"), { processes: size, seed: 42 })
  const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 8 })
  const meter = yield* makeFakeMeter(["package", "core", "dram"])
  const self = makeSelfMetrics({ debugCollectors: [] })
  const monitor = yield* makePowerMonitor(
    meter,
    informer,
    {
      interval: Duration.zero,
      staleness: Duration.zero,
      parallelism: 8,
      maxPlausibleWatts: 5000,
      maxTerminated: 500,
      minTerminatedEnergyThreshold: 10
    },
    self
  )
  const refresh = Effect.gen(function*() {
    yield* monitor.refresh
    return yield* monitor.stats
  })

  // Warm-up: the first scan reads every process's cgroup, cmdline and environ.
  const first = yield* refresh
  const firstScanMs = first.lastScanSeconds * 1000
  for (let i = 0; i < 2; i++) {
    tree = advanceProcfsTree(tree)
    yield* refresh
  }

  const scan: Array<number> = []
  const attribution: Array<number> = []
  const whole: Array<number> = []
  for (let i = 0; i < runs; i++) {
    tree = advanceProcfsTree(tree)
    gc() // the tree writer's garbage is not joulemon's cost
    const s = yield* refresh
    scan.push(s.lastScanSeconds * 1000)
    attribution.push(s.lastAttributionSeconds * 1000)
    whole.push(s.lastRefreshSeconds * 1000)
  }

  gc()
  const rssAfterRefreshes = process.memoryUsage().rss
  const snapshot = Option.getOrThrow(yield* monitor.latest)
  const metrics: Record<string, unknown> = {}
  for (const format of formats) {
    const times: Array<number> = []
    const gzipTimes: Array<number> = []
    let bytes = 0
    let gzipBytes = 0
    // As /metrics does: one label cache across scrapes (labelCache.ts).
    const cache = makeLabelCache()
    for (let i = 0; i < runs + 2; i++) {
      gc()
      const t0 = performance.now()
      const families = snapshotFamilies(snapshot, { levels: new Set(METRICS_LEVELS), nodeName: "bench-node" })
      const body = yield* Effect.promise(() => renderFamilies(families, format, [self.registry(format)], cache))
      const t1 = performance.now()
      const compressed = yield* Effect.promise(() => gzipAsync(body))
      const t2 = performance.now()
      if (i >= 2) {
        times.push(t1 - t0)
        gzipTimes.push(t2 - t1)
      }
      bytes = Buffer.byteLength(body)
      gzipBytes = compressed.length
    }
    metrics[format] = { ms: summarize(times), gzipMs: summarize(gzipTimes), bytes, gzipBytes }
  }
  gc()
  const rssAfterMetrics = process.memoryUsage().rss
  const series = snapshotFamilies(snapshot, { levels: new Set(METRICS_LEVELS), nodeName: "bench-node" }).reduce(
    (a, f) => a + Array.from(f.samples).length,
    0
  )

  // Memory after many refreshes: ticks move every 10th refresh (rewriting 50k files each time
  // would make this phase take minutes without changing what is held in memory).
  for (let i = 0; i < memoryRefreshes; i++) {
    if (i % 10 === 0) tree = advanceProcfsTree(tree)
    yield* monitor.refresh
  }
  gc()
  const memory = process.memoryUsage()
  return {
    processes: size,
    containers: snapshot.containers.running.length,
    vms: snapshot.vms.running.length,
    series,
    firstScanMs: Math.round(firstScanMs),
    refresh: { scanMs: summarize(scan), attributionMs: summarize(attribution), wholeMs: summarize(whole) },
    metrics,
    afterRefreshes: memoryRefreshes,
    heapUsedMiB: mib(memory.heapUsed),
    rssMiB: mib(memory.rss),
    rssAfterTimedRefreshesMiB: mib(rssAfterRefreshes),
    rssAfterMetricsMiB: mib(rssAfterMetrics)
  }
})

runBenchChild(program, dir)
