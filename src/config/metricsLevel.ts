/**
 * `exporter.prometheus.metricsLevel` and `--metrics` (kepler-behaviour.md §2.4): tokens are
 * case-insensitive and trimmed; the result is deduplicated in canonical order.
 */
import * as Either from "effect/Either"
import { METRICS_LEVELS, type MetricsLevel } from "./Config.js"

const isMetricsLevel = (token: string): token is MetricsLevel =>
  (METRICS_LEVELS as ReadonlyArray<string>).includes(token)

/** One token. A comma-joined string is not a token: `"node,pod"` fails, as in Kepler. */
export const parseMetricsLevel = (token: string): Either.Either<MetricsLevel, string> => {
  const normalized = token.trim().toLowerCase()
  return isMetricsLevel(normalized)
    ? Either.right(normalized)
    : Either.left(`unknown metrics level: ${token}`)
}

/** Deduplicated, in the order of `METRICS_LEVELS`. */
export const canonicalMetricsLevels = (
  levels: Iterable<MetricsLevel>
): ReadonlyArray<MetricsLevel> => {
  const wanted = new Set(levels)
  return METRICS_LEVELS.filter((level) => wanted.has(level))
}

/** A list of tokens; the empty list means every level (Kepler's YAML rule). */
export const parseMetricsLevels = (
  tokens: ReadonlyArray<string>
): Either.Either<ReadonlyArray<MetricsLevel>, string> => {
  if (tokens.length === 0) return Either.right(METRICS_LEVELS)
  return Either.map(Either.all(tokens.map(parseMetricsLevel)), canonicalMetricsLevels)
}
