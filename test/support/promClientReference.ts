/**
 * The reference rendering of metric families through prom-client (a fresh registry filled
 * sample by sample). joulemon used this until it proved too slow for 10k processes; tests use
 * it to check the hand-written writer says the same thing.
 */
import client from "prom-client"
import type { MetricFamily } from "../../src/exporter/prometheus/families.js"
import type { ExpositionFormat } from "../../src/exporter/prometheus/render.js"

const newRegistry = (format: ExpositionFormat): client.Registry<client.RegistryContentType> => {
  if (format === "openmetrics") {
    const registry = new client.Registry<client.OpenMetricsContentType>()
    registry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE)
    return registry
  }
  return new client.Registry()
}

export const renderWithPromClient = (
  families: ReadonlyArray<MetricFamily>,
  format: ExpositionFormat
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
  return registry.metrics()
}
