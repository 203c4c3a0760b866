/**
 * Renders metric families in the Prometheus text format or OpenMetrics, through prom-client.
 * A fresh registry per scrape keeps concurrent scrapes independent (prom-client metrics are
 * mutable objects; sharing them would interleave two scrapes' values).
 */
import client from "prom-client"
import type { MetricFamily } from "./families.js"

export type ExpositionFormat = "prometheus" | "openmetrics"

export const contentTypeOf = (format: ExpositionFormat): string =>
  format === "openmetrics" ? client.Registry.OPENMETRICS_CONTENT_TYPE : client.Registry.PROMETHEUS_CONTENT_TYPE

/** OpenMetrics when the scraper lists it in Accept (as Prometheus does), text 0.0.4 otherwise. */
export const negotiateFormat = (accept: string | undefined): ExpositionFormat =>
  accept !== undefined && accept.includes("application/openmetrics-text") ? "openmetrics" : "prometheus"

/** prom-client's typings omit the constructor's content-type argument; `setContentType` is typed. */
const newRegistry = (format: ExpositionFormat): client.Registry<client.RegistryContentType> => {
  if (format === "openmetrics") {
    const registry = new client.Registry<client.OpenMetricsContentType>()
    registry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE)
    return registry
  }
  return new client.Registry()
}

/** Renders `families`, followed by the metrics of `extra` registries (which must be in `format`). */
export const renderFamilies = (
  families: ReadonlyArray<MetricFamily>,
  format: ExpositionFormat,
  extra: ReadonlyArray<client.Registry<client.RegistryContentType>> = []
): Promise<string> => {
  const registry = newRegistry(format)
  for (const family of families) {
    const config = { name: family.name, help: family.help, labelNames: [...family.labelNames], registers: [registry] }
    const labelsOf = (values: ReadonlyArray<string>) => {
      const labels: Record<string, string> = {}
      family.labelNames.forEach((name, i) => {
        labels[name] = values[i] ?? ""
      })
      return labels
    }
    if (family.type === "counter") {
      const counter = new client.Counter(config)
      for (const s of family.samples) counter.inc(labelsOf(s.labels), s.value)
    } else {
      const gauge = new client.Gauge(config)
      for (const s of family.samples) gauge.set(labelsOf(s.labels), s.value)
    }
  }
  return Promise.all([registry, ...extra].map((r) => r.metrics())).then((texts) => joinExpositions(texts, format))
}

const EOF_LINE = "# EOF\n"

/** Concatenates expositions; OpenMetrics allows one `# EOF`, at the very end. */
export const joinExpositions = (texts: ReadonlyArray<string>, format: ExpositionFormat): string => {
  if (format === "prometheus") return texts.filter((t) => t.length > 0).map((t) => (t.endsWith("\n") ? t : `${t}\n`)).join("")
  const bodies = texts.map((t) => (t.endsWith(EOF_LINE) ? t.slice(0, -EOF_LINE.length) : t)).filter((t) => t.length > 0)
  return `${bodies.map((t) => (t.endsWith("\n") ? t : `${t}\n`)).join("")}${EOF_LINE}`
}
