/**
 * Platform (wall) power from the BMC over Redfish (`experimental.platform.redfish`,
 * kepler-behaviour.md §1.10, §2.8): the whole server's draw, which RAPL's CPU and DRAM zones
 * underestimate by 10–100 W. Reported beside the CPU numbers, never used for attribution.
 *
 * `readings` never fails and never waits for the BMC: a fiber in the layer's scope polls every
 * `max(monitor.staleness, 1s)` and integrates the energy; `readings` only reads the cache. A
 * slow, hung or unreachable BMC therefore cannot slow `/metrics` or the CPU attribution — it
 * logs why, retries with exponential backoff, and its series disappear once the last good poll
 * is older than `3 × (poll interval + httpTimeout)`.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { AppConfig, type JoulemonConfig } from "../config/Config.js"
import { type BmcDetail, bmcForNode, displayEndpoint, loadBmcFile, PlatformConfigError } from "./bmcConfig.js"
import { initialPlatformEnergyState, integratePoll, type PlatformReading, visibleReadings } from "./platformEnergy.js"
import type { RedfishError } from "./redfishClient.js"
import type { ChassisPlan, SourceReading } from "./redfishPower.js"

export { PlatformConfigError } from "./bmcConfig.js"
export type { PlatformReading } from "./platformEnergy.js"

export interface PlatformPowerShape {
  /** The latest readings (empty when disabled, before the first poll, or while the BMC is away). */
  readonly readings: Effect.Effect<ReadonlyArray<PlatformReading>>
}

export class PlatformPower extends Context.Tag("joulemon/PlatformPower")<PlatformPower, PlatformPowerShape>() {}

export const PlatformPowerDisabled: Layer.Layer<PlatformPower> = Layer.succeed(PlatformPower, {
  readings: Effect.succeed([])
})

export interface RedfishPlatformOptions {
  readonly nodeName: string
  readonly bmcId: string
  readonly bmc: BmcDetail
  /** Per HTTP request. */
  readonly httpTimeout: Duration.Duration
  readonly pollEvery: Duration.Duration
  /** Series are hidden (and a later reading books no energy for the gap) past this age. */
  readonly expireAfter: Duration.Duration
  /** Retry delays after a failed poll: `initial`, doubling, capped at `max`. */
  readonly backoff: { readonly initial: Duration.Duration; readonly max: Duration.Duration }
}

export const MIN_POLL_INTERVAL = Duration.seconds(1)
export const DEFAULT_HTTP_TIMEOUT = Duration.seconds(5)
const MAX_BACKOFF = Duration.seconds(30)

/** Poll, expiry and backoff timings from the config (pure). */
export const redfishTimings = (staleness: Duration.Duration, httpTimeout: Duration.Duration) => {
  const pollEvery = Duration.max(staleness, MIN_POLL_INTERVAL)
  // Kepler's 0 means "no timeout", which would let one hung request stall polling forever.
  const timeout = Duration.greaterThan(httpTimeout, Duration.zero) ? httpTimeout : DEFAULT_HTTP_TIMEOUT
  return {
    pollEvery,
    httpTimeout: timeout,
    expireAfter: Duration.times(Duration.sum(pollEvery, timeout), 3),
    backoff: { initial: MIN_POLL_INTERVAL, max: Duration.max(MAX_BACKOFF, pollEvery) }
  }
}

/** `experimental.platform.redfish.nodeName`, else `kube.nodeName` (the loader already fell back to the hostname). */
export const redfishNodeName = (config: JoulemonConfig): string => {
  const own = config.experimental.platform.redfish.nodeName.trim()
  return own !== "" ? own : config.kube.nodeName.trim()
}

/** Everything the service needs from the config and the BMC file; config problems fail here, at startup. */
export const resolveRedfishOptions = (
  config: JoulemonConfig
): Effect.Effect<RedfishPlatformOptions, PlatformConfigError> =>
  Effect.gen(function*() {
    const redfish = config.experimental.platform.redfish
    const nodeName = redfishNodeName(config)
    if (nodeName === "") {
      return yield* new PlatformConfigError({
        file: "",
        reason: "Redfish platform power needs a node name: set experimental.platform.redfish.nodeName or kube.nodeName"
      })
    }
    const file = yield* loadBmcFile(redfish.configFile)
    const { bmc, bmcId } = yield* bmcForNode(file, nodeName, redfish.configFile)
    if (!Duration.greaterThan(redfish.httpTimeout, Duration.zero)) {
      yield* Effect.logWarning(
        "experimental.platform.redfish.httpTimeout is 0 (no timeout); using 5s so a hung BMC cannot stall polling"
      )
    }
    return { nodeName, bmcId, bmc, ...redfishTimings(config.monitor.staleness, redfish.httpTimeout) }
  })

interface PollState {
  readonly plans: Option.Option<ReadonlyArray<ChassisPlan>>
  /** The message of the failure being retried, so a repeated failure is logged once. */
  readonly failing: Option.Option<string>
}

/** The service for one BMC: a polling fiber in the caller's scope and a cache it fills. */
export const makeRedfishPlatformPower = (
  options: RedfishPlatformOptions
): Effect.Effect<PlatformPowerShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    // Loaded only when Redfish is on: the client brings the HTTP client modules (undici among
    // them), which the daemon without Redfish, Kubernetes or DCGM never needs.
    const [{ makeRedfishClient }, { discoverPlatformPower, readPlan }] = yield* Effect.promise(() =>
      Promise.all([import("./redfishClient.js"), import("./redfishPower.js")])
    )
    const client = yield* makeRedfishClient({ bmcId: options.bmcId, bmc: options.bmc, timeout: options.httpTimeout })
    const energy = yield* Ref.make(initialPlatformEnergyState)
    const poll = yield* Ref.make<PollState>({ plans: Option.none(), failing: Option.none() })
    const expireNanos = BigInt(Duration.toMillis(options.expireAfter)) * 1_000_000n
    const identity = { nodeName: options.nodeName, bmcId: options.bmcId }

    /** The planned resources, or a fresh discovery when there is no plan (first poll, or after a failure). */
    const read: Effect.Effect<ReadonlyArray<SourceReading>, RedfishError> = Effect.gen(function*() {
      const { plans } = yield* Ref.get(poll)
      if (Option.isSome(plans)) {
        return yield* Effect.forEach(plans.value, (plan) => readPlan(client, plan), { concurrency: 4 }).pipe(
          Effect.map((perChassis) => perChassis.flat()),
          Effect.tapError(() => Ref.update(poll, (s) => ({ ...s, plans: Option.none() })))
        )
      }
      const found = yield* discoverPlatformPower(client)
      yield* Ref.update(poll, (s) => ({ ...s, plans: Option.some(found.plans) }))
      yield* Effect.logInfo("Redfish platform power sources").pipe(
        Effect.annotateLogs({
          chassis: found.plans.map((p) => `${p.chassisId}:${p._tag === "PowerSupplies" ? "PowerSubsystem" : "Power"}`)
            .join(","),
          readings: found.readings.length
        })
      )
      return found.readings
    })

    const pollOnce = Effect.gen(function*() {
      const readings = yield* read
      const now = yield* Clock.currentTimeNanos
      const duplicates = yield* Ref.modify(energy, (s) => {
        const outcome = integratePoll(s, readings, now, expireNanos)
        return [outcome.duplicates, outcome.state] as const
      })
      for (const d of duplicates) {
        yield* Effect.logWarning("BMC lists a power source twice; keeping the first").pipe(
          Effect.annotateLogs({ chassis_id: d.chassisId, source_type: d.sourceType, source_id: d.sourceId })
        )
      }
      const before = yield* Ref.getAndUpdate(poll, (s) => ({ ...s, failing: Option.none() }))
      if (Option.isSome(before.failing)) yield* Effect.logInfo("Redfish platform power readings restored")
    }).pipe(Effect.withSpan("PlatformPower.poll"))

    const onFailure = (error: RedfishError) =>
      Effect.gen(function*() {
        const before = yield* Ref.getAndUpdate(poll, (s) => ({ ...s, failing: Option.some(error.message) }))
        const repeated = Option.contains(before.failing, error.message)
        const log = repeated ? Effect.logDebug : Effect.logWarning
        yield* log("Redfish platform power unavailable; retrying with backoff", error.message)
      })

    const backoff = Schedule.exponential(options.backoff.initial, 2).pipe(
      Schedule.union(Schedule.spaced(options.backoff.max))
    )
    const loop = pollOnce.pipe(
      Effect.tapError(onFailure),
      Effect.retry(backoff),
      Effect.repeat(Schedule.spaced(options.pollEvery)),
      Effect.annotateLogs({ component: "platform.redfish", bmc_id: options.bmcId, node_name: options.nodeName })
    )
    yield* Effect.forkScoped(loop)

    return {
      readings: Effect.gen(function*() {
        const now = yield* Clock.currentTimeNanos
        return visibleReadings(yield* Ref.get(energy), now, expireNanos, identity)
      })
    } satisfies PlatformPowerShape
  })

/**
 * The service, from the config: a no-op when Redfish is disabled; otherwise the BMC file is
 * read and validated now (a problem stops startup with its message), and polling starts in the
 * layer's scope. An unreachable BMC is not an error: it is logged and retried.
 */
export const PlatformPowerLive: Layer.Layer<PlatformPower, PlatformConfigError, AppConfig> = Layer.scoped(
  PlatformPower,
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (!config.experimental.platform.redfish.enabled) {
      return { readings: Effect.succeed([]) } satisfies PlatformPowerShape
    }
    const options = yield* resolveRedfishOptions(config)
    yield* Effect.logWarning("using EXPERIMENTAL Redfish platform power").pipe(
      Effect.annotateLogs({
        node_name: options.nodeName,
        bmc_id: options.bmcId,
        endpoint: displayEndpoint(options.bmc.endpoint),
        auth: options.bmc.username === "" ? "none" : options.bmc.auth,
        insecure: options.bmc.insecure,
        poll_every: Duration.format(options.pollEvery),
        http_timeout: Duration.format(options.httpTimeout)
      })
    )
    return yield* makeRedfishPlatformPower(options)
  })
)
