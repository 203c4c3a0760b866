/**
 * `/healthz` (the process is alive and serving) and `/readyz` (a usable snapshot exists):
 * Kepler has neither, so its manifests probe /metrics, which triggers a refresh per probe.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AppConfig } from "../config/Config.js"
import { type MonitorStats, PowerMonitor } from "../monitor/PowerMonitor.js"
import type { Snapshot } from "../monitor/snapshot.js"
import { registerEndpoint } from "./Endpoints.js"

export interface Readiness {
  readonly ready: boolean
  readonly reason: string
}

/** How many intervals a snapshot may miss before the monitor counts as stuck. */
const MISSED_INTERVALS = 3

/** Pure: is the latest snapshot good enough to serve? */
export const readiness = (
  latest: Option.Option<Snapshot>,
  stats: Pick<MonitorStats, "lastError">,
  nowMillis: number,
  intervalMillis: number
): Readiness => {
  if (Option.isNone(latest)) {
    return {
      ready: false,
      reason: Option.getOrElse(stats.lastError, () => "no snapshot yet: the first refresh has not completed")
    }
  }
  const s = latest.value
  if (Option.isSome(stats.lastError)) return { ready: false, reason: `last refresh failed: ${stats.lastError.value}` }
  const age = nowMillis - s.timestamp
  if (intervalMillis > 0 && age > MISSED_INTERVALS * intervalMillis + 1000) {
    return {
      ready: false,
      reason: `the latest snapshot is ${(age / 1000).toFixed(1)}s old (monitor.interval is ${intervalMillis / 1000}s)`
    }
  }
  const failing = s.zones.filter((z) => z.status === "read-error")
  if (s.zones.length > 0 && failing.length === s.zones.length) {
    return {
      ready: false,
      reason: `no energy zone could be read: ${failing.map((z) => `${z.name}: ${z.error}`).join("; ")}`
    }
  }
  if (failing.length > 0) {
    return {
      ready: true,
      reason: `degraded: ${failing.map((z) => `${z.name}: ${z.error}`).join("; ")}`
    }
  }
  return { ready: true, reason: "ok" }
}

export const HealthLive = Layer.mergeAll(
  registerEndpoint(
    Effect.succeed({
      path: "/healthz",
      summary: "Health",
      description: "Liveness: the process is up and serving HTTP",
      handle: () => Effect.succeed(HttpServerResponse.text("ok\n"))
    })
  ),
  registerEndpoint(
    Effect.gen(function*() {
      const monitor = yield* PowerMonitor
      const config = yield* AppConfig
      const intervalMillis = Duration.toMillis(config.monitor.interval)
      return {
        path: "/readyz",
        summary: "Readiness",
        description: "Ready when a recent snapshot exists and the energy zones answer (503 with the reason otherwise)",
        handle: () =>
          Effect.gen(function*() {
            const r = readiness(
              yield* monitor.latest,
              yield* monitor.stats,
              yield* Clock.currentTimeMillis,
              intervalMillis
            )
            return HttpServerResponse.text(`${r.reason}\n`, { status: r.ready ? 200 : 503 })
          })
      }
    })
  )
)
