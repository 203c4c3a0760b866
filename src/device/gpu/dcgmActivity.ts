/**
 * MIG instance activity from NVIDIA's dcgm-exporter (Kepler's dcgm_exporter.go): NVML has no
 * per-GPU-instance power, so a MIG device's active energy splits over its instances by their
 * graphics-engine activity, `DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu, GPU_I_ID}`.
 *
 * Only that one family is read, from the text exposition; a full Prometheus parser is not
 * needed for it, so the lines are matched directly. Any failure (unreachable, non-200, nothing
 * parsable) gives `undefined`, and the meter falls back to Kepler's even split per process.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { migKey } from "./nvmlMeter.js"

/** Kepler's fallback when no endpoint is configured (dcgm-exporter's default port, on this node). */
const DEFAULT_ENDPOINT = "http://localhost:9400/metrics"
const TIMEOUT = Duration.seconds(1)
const FAMILY = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"

/** Kepler's SetEndpoint: trimmed, trailing slashes dropped, `/metrics` appended when missing. */
export const dcgmMetricsUrl = (endpoint: string): string => {
  const trimmed = endpoint.trim().replace(/\/+$/, "")
  if (trimmed === "") return DEFAULT_ENDPOINT
  return trimmed.endsWith("/metrics") ? trimmed : `${trimmed}/metrics`
}

const labelPattern = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Activity (0..1) per `migKey(gpu, GPU_I_ID)` from an exposition body. */
export const parseMigActivity = (body: string): ReadonlyMap<string, number> => {
  const out = new Map<string, number>()
  for (const line of body.split("\n")) {
    if (!line.startsWith(`${FAMILY}{`)) continue
    const close = line.lastIndexOf("}")
    if (close < 0) continue
    const labels = new Map<string, string>()
    for (const m of line.slice(FAMILY.length + 1, close).matchAll(labelPattern)) labels.set(m[1] ?? "", m[2] ?? "")
    const value = Number(line.slice(close + 1).trim().split(/\s+/)[0])
    const gpu = Number(labels.get("gpu"))
    const instance = Number(labels.get("GPU_I_ID"))
    if (!Number.isInteger(gpu) || !Number.isInteger(instance) || !Number.isFinite(value) || value < 0) continue
    out.set(migKey(gpu, instance), value)
  }
  return out
}

/** An effect that fetches the activity map once per call (one scrape of dcgm-exporter per refresh). */
export const makeMigActivity = (
  endpoint: string
): Effect.Effect<Effect.Effect<ReadonlyMap<string, number> | undefined>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const url = dcgmMetricsUrl(endpoint)
    const agent = yield* NodeHttpClient.makeAgent({ keepAlive: true })
    const http = (yield* NodeHttpClient.make.pipe(Effect.provideService(NodeHttpClient.HttpAgent, agent))).pipe(
      HttpClient.withTracerPropagation(false),
      HttpClient.filterStatusOk
    )
    return http.get(url).pipe(
      Effect.flatMap((response) => response.text),
      Effect.timeout(TIMEOUT),
      Effect.map((body): ReadonlyMap<string, number> | undefined => {
        const activity = parseMigActivity(body)
        return activity.size > 0 ? activity : undefined
      }),
      Effect.tapError((e) =>
        Effect.logDebug("dcgm-exporter unavailable; MIG energy splits evenly per process").pipe(
          Effect.annotateLogs({ url, error: String(e) })
        )
      ),
      Effect.orElseSucceed(() => undefined)
    )
  })
