import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { METRICS_LEVELS } from "../../src/config/Config.js"
import { canonicalMetricsLevels, parseMetricsLevel, parseMetricsLevels } from "../../src/config/metricsLevel.js"

describe("metrics levels", () => {
  it("reads a token case-insensitively and trimmed", () => {
    expect(parseMetricsLevel("node")).toEqual(Either.right("node"))
    expect(parseMetricsLevel("  POD ")).toEqual(Either.right("pod"))
    expect(parseMetricsLevel("Container")).toEqual(Either.right("container"))
  })

  it("rejects a comma-joined string with Kepler's message", () => {
    expect(parseMetricsLevel("node,pod")).toEqual(Either.left("unknown metrics level: node,pod"))
  })

  it("rejects an empty or unknown token", () => {
    expect(parseMetricsLevel("")).toEqual(Either.left("unknown metrics level: "))
    expect(parseMetricsLevel("cluster")).toEqual(Either.left("unknown metrics level: cluster"))
  })

  it("treats the empty list as every level", () => {
    expect(parseMetricsLevels([])).toEqual(Either.right(METRICS_LEVELS))
  })

  it("deduplicates into canonical order", () => {
    expect(parseMetricsLevels(["pod", "NODE", "pod", "vm"])).toEqual(Either.right(["node", "vm", "pod"]))
    expect(canonicalMetricsLevels(["pod", "process", "node", "process"])).toEqual(["node", "process", "pod"])
  })

  it("fails the whole list on one bad token", () => {
    expect(parseMetricsLevels(["node", "bogus"])).toEqual(Either.left("unknown metrics level: bogus"))
  })
})
