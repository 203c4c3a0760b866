/**
 * Content negotiation and the body of /metrics: the snapshot's families (written by
 * exposition.ts) followed by prom-client's self-metrics registry.
 */
import client from "prom-client"
import { familyChunks } from "./exposition.js"
import type { MetricFamily } from "./families.js"
import type { LabelCache } from "./labelCache.js"

export type ExpositionFormat = "prometheus" | "openmetrics"

export const contentTypeOf = (format: ExpositionFormat): string =>
  format === "openmetrics" ? client.Registry.OPENMETRICS_CONTENT_TYPE : client.Registry.PROMETHEUS_CONTENT_TYPE

/** OpenMetrics when the scraper lists it in Accept (as Prometheus does), text 0.0.4 otherwise. */
export const negotiateFormat = (accept: string | undefined): ExpositionFormat =>
  accept !== undefined && accept.includes("application/openmetrics-text") ? "openmetrics" : "prometheus"

const EOF_LINE = "# EOF\n"

/**
 * The body of /metrics, lazily: `families` (snapshot, build and CPU information), then the
 * already-rendered `extras` (joulemon's self-metrics, which prom-client owns), then — in
 * OpenMetrics — the one `# EOF` the format allows, at the very end. `cache` (the exporter's)
 * reuses identity labels rendered by earlier scrapes; the text is the same without it.
 */
export function* exposition(
  families: ReadonlyArray<MetricFamily>,
  format: ExpositionFormat,
  extras: ReadonlyArray<string> = [],
  cache?: LabelCache
): Generator<string> {
  yield* familyChunks(families, format, cache)
  for (const text of extras) {
    const body = format === "openmetrics" && text.endsWith(EOF_LINE) ? text.slice(0, -EOF_LINE.length) : text
    if (body.length > 0) yield body.endsWith("\n") ? body : `${body}\n`
  }
  if (format === "openmetrics") yield EOF_LINE
}

/** The whole body as one string (tests and benchmarks; /metrics streams `exposition`). */
export const renderFamilies = (
  families: ReadonlyArray<MetricFamily>,
  format: ExpositionFormat,
  extra: ReadonlyArray<client.Registry<client.RegistryContentType>> = [],
  cache?: LabelCache
): Promise<string> =>
  Promise.all(extra.map((r) => r.metrics())).then((texts) => [...exposition(families, format, texts, cache)].join(""))
