/**
 * Content negotiation and the final body of /metrics: the snapshot's families (written by
 * exposition.ts) joined with prom-client's self-metrics registry.
 */
import client from "prom-client"
import { writeFamilies } from "./exposition.js"
import type { MetricFamily } from "./families.js"

export type ExpositionFormat = "prometheus" | "openmetrics"

export const contentTypeOf = (format: ExpositionFormat): string =>
  format === "openmetrics" ? client.Registry.OPENMETRICS_CONTENT_TYPE : client.Registry.PROMETHEUS_CONTENT_TYPE

/** OpenMetrics when the scraper lists it in Accept (as Prometheus does), text 0.0.4 otherwise. */
export const negotiateFormat = (accept: string | undefined): ExpositionFormat =>
  accept !== undefined && accept.includes("application/openmetrics-text") ? "openmetrics" : "prometheus"

/**
 * Writes `families` (snapshot, build and CPU information) followed by the metrics of `extra`
 * registries — joulemon's self-metrics, which prom-client owns — in `format`.
 */
export const renderFamilies = (
  families: ReadonlyArray<MetricFamily>,
  format: ExpositionFormat,
  extra: ReadonlyArray<client.Registry<client.RegistryContentType>> = []
): Promise<string> =>
  Promise.all(extra.map((r) => r.metrics())).then((texts) => joinExpositions([writeFamilies(families, format), ...texts], format))

const EOF_LINE = "# EOF\n"

/** Concatenates expositions; OpenMetrics allows one `# EOF`, at the very end. */
export const joinExpositions = (texts: ReadonlyArray<string>, format: ExpositionFormat): string => {
  if (format === "prometheus") return texts.filter((t) => t.length > 0).map((t) => (t.endsWith("\n") ? t : `${t}\n`)).join("")
  const bodies = texts.map((t) => (t.endsWith(EOF_LINE) ? t.slice(0, -EOF_LINE.length) : t)).filter((t) => t.length > 0)
  return `${bodies.map((t) => (t.endsWith("\n") ? t : `${t}\n`)).join("")}${EOF_LINE}`
}
