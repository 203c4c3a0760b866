/**
 * Writes metric families in the Prometheus text format (0.0.4) or OpenMetrics 1.0.
 *
 * Hand-written rather than prom-client: with 10,000 processes × 3 zones (~77,000 series),
 * filling a fresh prom-client registry and calling `metrics()` took ~500 ms and ~400 MB RSS per
 * scrape (scripts/bench-metrics.ts), because every sample goes through a label object, a hash
 * and a second formatting pass. This writes each line once. test/exporter/exposition.test.ts
 * checks it against prom-client's output for random families, so the library stays the
 * reference for the format.
 */
import type { MetricFamily } from "./families.js"
import type { LabelCache } from "./labelCache.js"
import type { ExpositionFormat } from "./render.js"

const NEEDS_LABEL_ESCAPE = /[\\"\n]/
const NEEDS_HELP_ESCAPE = /[\\\n"]/

export const escapeLabelValue = (value: string): string =>
  NEEDS_LABEL_ESCAPE.test(value) ? value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"") : value

/** Prometheus text escapes `\` and newline in HELP; OpenMetrics also `"`. */
const escapeHelp = (help: string, openMetrics: boolean): string => {
  if (!NEEDS_HELP_ESCAPE.test(help)) return help
  const escaped = help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
  return openMetrics ? escaped.replace(/"/g, "\\\"") : escaped
}

export const formatValue = (value: number): string => {
  if (Number.isFinite(value)) return Object.is(value, -0) ? "0" : String(value)
  if (Number.isNaN(value)) return "NaN"
  return value > 0 ? "+Inf" : "-Inf"
}

/** OpenMetrics names a counter family without `_total`; its samples keep the suffix. */
const familyName = (family: MetricFamily, openMetrics: boolean): string =>
  openMetrics && family.type === "counter" && family.name.endsWith("_total") ? family.name.slice(0, -6) : family.name

/** How many distinct trailing label sets (state × zone × node name) a family remembers. */
const TAILS_KEPT = 16

/** About how many characters each chunk of a streamed exposition holds. */
export const CHUNK_CHARS = 64 * 1024

/**
 * The exposition of `families` as chunks of about CHUNK_CHARS, produced as they are pulled: a
 * streamed /metrics body never holds more than one chunk of text (a 10k-process body is ~16 MB).
 * No `# EOF`: the caller ends the exposition (see render.ts). With `cache`, workloads' identity
 * labels come from the previous scrapes' text when unchanged (labelCache.ts); the bytes are the
 * same either way.
 */
export function* familyChunks(
  families: ReadonlyArray<MetricFamily>,
  format: ExpositionFormat,
  cache?: LabelCache
): Generator<string> {
  const openMetrics = format === "openmetrics"
  const scrape = cache?.begin() ?? 0
  let out: Array<string> = []
  let size = 0
  const emit = (text: string) => {
    out.push(text)
    size += text.length
  }
  // A workload's identity labels are rendered once and reused by its samples in every family
  // with the same label names (its zones; joules and watts share the names array).
  const identities = new Map<ReadonlyArray<string>, { readonly names: ReadonlyArray<string>; readonly head: string }>()
  for (const family of families) {
    const name = familyName(family, openMetrics)
    emit(`# HELP ${name} ${escapeHelp(family.help, openMetrics)}\n# TYPE ${name} ${family.type}\n`)
    const sampleName = openMetrics && family.type === "counter" && !family.name.endsWith("_total")
      ? `${family.name}_total`
      : family.name
    const names = family.labelNames
    // `{a="` then `",b="` …: each label costs one concatenation of a cached prefix.
    const prefixes = names.map((label, i) => (i === 0 ? `{${label}="` : `",${label}="`))
    const render = (values: ReadonlyArray<string>, from: number, to: number): string => {
      let text = ""
      for (let i = from; i < to; i++) text += prefixes[i] + escapeLabelValue(values[i] ?? "")
      return text
    }
    // The labels after a workload's identity (state, zone, node name) take a handful of values
    // per family: the last few renderings are reused when their values are the same strings.
    const tails: Array<{ readonly values: ReadonlyArray<string>; readonly from: number; readonly text: string }> = []
    const tailOf = (values: ReadonlyArray<string>, from: number): string => {
      for (const tail of tails) {
        if (tail.from !== from || tail.values.length !== values.length) continue
        let same = true
        for (let i = from; i < values.length && same; i++) same = tail.values[i] === values[i]
        if (same) return tail.text
      }
      const text = render(values, from, names.length) + "\"}"
      if (tails.length < TAILS_KEPT) tails.push({ values, from, text })
      return text
    }
    for (const sample of family.samples) {
      let labels = ""
      if (names.length > 0) {
        const shared = sample.identity
        if (shared === undefined) {
          labels = render(sample.labels, 0, names.length) + "\"}"
        } else {
          const cached = identities.get(shared)
          let head: string
          if (cached !== undefined && cached.names === names) {
            head = cached.head
          } else {
            const key = sample.identityKey
            head = cache === undefined || key === undefined
              ? render(shared, 0, shared.length)
              : cache.head(scrape, key, names, shared, () => render(shared, 0, shared.length))
            identities.set(shared, { names, head })
          }
          labels = head + tailOf(sample.labels, shared.length)
        }
      }
      emit(`${sampleName}${labels} ${formatValue(sample.value)}\n`)
      if (size >= CHUNK_CHARS) {
        yield out.join("")
        out = []
        size = 0
      }
    }
  }
  if (out.length > 0) yield out.join("")
  // Only a scrape that got this far has used every entry it needs; an abandoned one drops nothing.
  cache?.finish(scrape)
}

/** The whole exposition of `families` as one string (tests, benchmarks, small bodies). */
export const writeFamilies = (families: ReadonlyArray<MetricFamily>, format: ExpositionFormat): string =>
  [...familyChunks(families, format)].join("") + (format === "openmetrics" ? "# EOF\n" : "")
