import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { syntheticSnapshot } from "../../scripts/lib/syntheticSnapshot.js"
import { METRICS_LEVELS } from "../../src/config/Config.js"
import { writeFamilies } from "../../src/exporter/prometheus/exposition.js"
import { type MetricFamily, snapshotFamilies } from "../../src/exporter/prometheus/families.js"
import type { ExpositionFormat } from "../../src/exporter/prometheus/render.js"
import { parseSamples } from "../support/exposition.js"
import { renderWithPromClient } from "../support/promClientReference.js"

/** Family headers (HELP text unescaped) and samples keyed by name and sorted labels. */
const parse = (text: string) => {
  const headers = new Map<string, string>()
  for (const line of text.split("\n")) {
    if (!line.startsWith("# ") || line === "# EOF") continue
    const [, kind, name, ...rest] = line.split(" ")
    // Compare what the HELP text means: OpenMetrics escapes `"`, prom-client does not.
    headers.set(`${kind} ${name}`, rest.join(" ").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c)))
  }
  const samples = new Map<string, number>()
  for (const s of parseSamples(text)) {
    const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    samples.set(`${s.name}{${labels.sort().join(",")}}`, s.value)
  }
  return { headers, samples }
}

const identifier = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/)

const familyArbitrary: fc.Arbitrary<ReadonlyArray<MetricFamily>> = fc
  .uniqueArray(identifier, { minLength: 1, maxLength: 5 })
  .chain((names) =>
    fc.tuple(
      ...names.map((base, f) =>
        fc.record({
          type: fc.constantFrom("gauge" as const, "counter" as const),
          help: fc.string({ maxLength: 30 }).map((h) => `help ${h.replace(/\n/g, " ")}`),
          labelNames: fc.uniqueArray(identifier, { maxLength: 4 }).map((ls) => ls.map((l) => `l_${l}`))
        }).chain(({ type, help, labelNames }) =>
          fc
            .uniqueArray(
              fc.tuple(
                fc.array(fc.fullUnicodeString({ maxLength: 12 }), {
                  minLength: labelNames.length,
                  maxLength: labelNames.length
                }),
                type === "counter" ? fc.double({ min: 0, max: 1e12, noNaN: true }) : fc.double()
              ),
              {
                selector: ([labels]) => labels.join("\u0000"),
                // A label-less family always has its one sample (prom-client would invent a 0).
                minLength: labelNames.length === 0 ? 1 : 0,
                maxLength: labelNames.length === 0 ? 1 : 6
              }
            )
            .map((samples): MetricFamily => ({
              name: type === "counter" ? `f${f}_${base}_total` : `f${f}_${base}`,
              help,
              type,
              labelNames,
              samples: samples.map(([labels, value]) => ({ labels, value }))
            }))
        )
      )
    )
  )

describe("writeFamilies", () => {
  for (const format of ["prometheus", "openmetrics"] as ReadonlyArray<ExpositionFormat>) {
    it(`says the same as prom-client in the ${format} format (property)`, async () => {
      await fc.assert(
        fc.asyncProperty(familyArbitrary, async (families) => {
          const mine = parse(writeFamilies(families, format))
          const reference = parse(await renderWithPromClient(families, format))
          expect(mine.samples).toEqual(reference.samples)
          expect(mine.headers).toEqual(reference.headers)
        }),
        { seed: 42, numRuns: 300 }
      )
    })
  }

  it("escapes label values and HELP as each format requires, and ends OpenMetrics with # EOF", () => {
    const family: MetricFamily = {
      name: "x_total",
      help: "a \"quoted\" \\ help\nline",
      type: "counter",
      labelNames: ["v"],
      samples: [{ labels: ["a\"b\\c\nd"], value: 1.5 }]
    }
    expect(writeFamilies([family], "prometheus")).toBe(
      "# HELP x_total a \"quoted\" \\\\ help\\nline\n# TYPE x_total counter\nx_total{v=\"a\\\"b\\\\c\\nd\"} 1.5\n"
    )
    expect(writeFamilies([family], "openmetrics")).toBe(
      "# HELP x a \\\"quoted\\\" \\\\ help\\nline\n# TYPE x counter\nx_total{v=\"a\\\"b\\\\c\\nd\"} 1.5\n# EOF\n"
    )
  })

  it("writes NaN and infinities as the formats spell them", () => {
    const family: MetricFamily = {
      name: "g",
      help: "h",
      type: "gauge",
      labelNames: [],
      samples: [{ labels: [], value: Number.NaN }]
    }
    expect(writeFamilies([family], "openmetrics")).toContain("\ng NaN\n")
    expect(writeFamilies([{ ...family, samples: [{ labels: [], value: -Infinity }] }], "prometheus")).toContain(
      "\ng -Inf\n"
    )
    expect(writeFamilies([{ ...family, samples: [{ labels: [], value: -0 }] }], "prometheus")).toContain("\ng 0\n")
  })
})

describe("writeFamilies on a snapshot's families (shared identity labels)", () => {
  it("says the same as prom-client, in both formats", async () => {
    const snapshot = syntheticSnapshot(300)
    const families = snapshotFamilies(snapshot, { levels: new Set(METRICS_LEVELS), nodeName: "node \"a\"" })
    expect(families.some((f) => Array.from(f.samples).some((s) => s.identity !== undefined))).toBe(true)
    for (const format of ["prometheus", "openmetrics"] as ReadonlyArray<ExpositionFormat>) {
      const mine = parse(writeFamilies(families, format))
      const reference = parse(await renderWithPromClient(families, format))
      expect(mine.samples.size).toBe(families.reduce((a, f) => a + Array.from(f.samples).length, 0))
      expect(mine.samples).toEqual(reference.samples)
      expect(mine.headers).toEqual(reference.headers)
    }
  })
})
