/**
 * /metrics cost: family building and rendering for 1k/10k/50k processes × 3 zones, in both
 * text formats, without and with the exporter's label cache kept across the runs (as /metrics
 * keeps it across scrapes). Prints median and spread; `--json` adds one machine-readable line.
 */
import { METRICS_LEVELS } from "../src/config/Config.js"
import { snapshotFamilies } from "../src/exporter/prometheus/families.js"
import { makeLabelCache } from "../src/exporter/prometheus/labelCache.js"
import { type ExpositionFormat, renderFamilies } from "../src/exporter/prometheus/render.js"
import { syntheticSnapshot } from "./lib/syntheticSnapshot.js"

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const spread = (xs: ReadonlyArray<number>) => Math.max(...xs) - Math.min(...xs)

const sizes = process.argv.includes("--quick") ? [1000, 10_000] : [1000, 10_000, 50_000]
const runs = process.argv.includes("--quick") ? 5 : 9
const results: Array<Record<string, number | string>> = []

for (const n of sizes) {
  const snapshot = syntheticSnapshot(n)
  for (
    const [format, cached] of [["prometheus", false], ["prometheus", true], ["openmetrics", false], [
      "openmetrics",
      true
    ]] as ReadonlyArray<readonly [ExpositionFormat, boolean]>
  ) {
    const cache = cached ? makeLabelCache() : undefined
    const times: Array<number> = []
    let bytes = 0
    let series = 0
    for (let i = 0; i < runs + 2; i++) {
      const t0 = performance.now()
      const families = snapshotFamilies(snapshot, { levels: new Set(METRICS_LEVELS), nodeName: "bench-node" })
      const body = await renderFamilies(families, format, [], cache)
      const t = performance.now() - t0
      if (i >= 2) times.push(t)
      bytes = Buffer.byteLength(body)
      series = families.reduce((a, f) => a + Array.from(f.samples).length, 0)
    }
    const row = {
      processes: n,
      format,
      cached: String(cached),
      series,
      bytes,
      medianMs: +median(times).toFixed(1),
      spreadMs: +spread(times).toFixed(1)
    }
    results.push(row)
    console.log(
      `${String(n).padStart(6)} processes  ${format.padEnd(11)} ${cached ? "cached  " : "uncached"}  ${
        String(series).padStart(7)
      } series  ${(bytes / 1e6).toFixed(1).padStart(5)} MB  ` +
        `median ${row.medianMs} ms  spread ${row.spreadMs} ms  rss ${
          (process.memoryUsage.rss() / 2 ** 20).toFixed(0)
        } MiB`
    )
  }
}
if (process.argv.includes("--json")) console.log(JSON.stringify({ bench: "metrics", results }))
