/**
 * The monitor service (DESIGN.md §2, §4): the single writer of the latest snapshot.
 *
 * - `latest` is a lock-free `Ref.get`.
 * - `snapshot` returns a snapshot no older than `monitor.staleness`; stale callers share one
 *   refresh through a Deferred claimed with an atomic `Ref.modify` (singleflight). The winner
 *   forks the refresh into the monitor's scope, so an interrupted caller cannot cancel it, and a
 *   failure is handed to the callers waiting for it but never cached.
 * - A loop fiber in the monitor's scope refreshes every `monitor.interval` (delay-based like
 *   Kepler; 0 = on demand only).
 * - Each new snapshot is published on a sliding PubSub: a slow subscriber only ever misses
 *   stale notifications and never blocks the monitor.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { Collector, type CollectorShape, inProcessCollector } from "../collector/Collector.js"
import { AppConfig } from "../config/Config.js"
import { CpuPowerMeter, type CpuPowerMeterShape } from "../device/CpuPowerMeter.js"
import { GpuPowerMeter, type GpuPowerMeterShape, noGpuMeter } from "../device/gpu/GpuPowerMeter.js"
import type { ResourceInformerShape } from "../resource/ResourceInformer.js"
import { Checkpoint, type CheckpointShape, noCheckpoint } from "../state/Checkpoint.js"
import { type MonitorTelemetry, noTelemetry, SelfMetrics } from "../telemetry/SelfMetrics.js"
import { attributeInSlices, type AttributionConfig, type MonitorState, withParts } from "./attribute.js"
import { attributeGpu, type GpuAttributionConfig, type GpuState, initialGpuState } from "./gpuAttribution.js"
import { allocateIdle, type IdleAllocation, type IdlePolicy } from "./idleAllocation.js"
import type { ZoneMeta, ZoneSample } from "./nodeEnergy.js"
import { runSliced } from "./slices.js"
import type { Snapshot } from "./snapshot.js"

export type RefreshStage = "resources" | "attribution"

export class MonitorError extends Data.TaggedError("MonitorError")<{
  readonly stage: RefreshStage
  readonly reason: string
}> {
  override get message(): string {
    return `refresh failed at ${this.stage}: ${this.reason}`
  }
}

/** Counters the self-metrics export. Updated atomically (Ref.update), so none are lost. */
export interface MonitorStats {
  readonly refreshes: number
  readonly refreshErrors: Readonly<Record<RefreshStage, number>>
  /** Callers that waited for a refresh another caller had started. */
  readonly singleflightJoins: number
  /** Seconds spent in the last successful refresh, by stage. */
  readonly lastScanSeconds: number
  readonly lastAttributionSeconds: number
  readonly lastRefreshSeconds: number
  /** The last refresh's error, until a refresh succeeds again. */
  readonly lastError: Option.Option<string>
}

const initialStats: MonitorStats = {
  refreshes: 0,
  refreshErrors: { resources: 0, attribution: 0 },
  singleflightJoins: 0,
  lastScanSeconds: 0,
  lastAttributionSeconds: 0,
  lastRefreshSeconds: 0,
  lastError: Option.none()
}

export interface PowerMonitorShape {
  /** A snapshot no older than `monitor.staleness`, refreshing (shared) when stale. Marks it exported. */
  readonly snapshot: Effect.Effect<Snapshot, MonitorError>
  /** The latest snapshot, without refreshing. */
  readonly latest: Effect.Effect<Option.Option<Snapshot>>
  /** A refresh now, whatever the staleness (shared with concurrent callers). */
  readonly refresh: Effect.Effect<Snapshot, MonitorError>
  /** A subscription to new snapshots; only the newest unread one is kept. */
  readonly changes: Effect.Effect<Queue.Dequeue<Snapshot>, never, Scope.Scope>
  readonly zoneNames: ReadonlyArray<string>
  readonly stats: Effect.Effect<MonitorStats>
}

export class PowerMonitor extends Context.Tag("joulemon/PowerMonitor")<PowerMonitor, PowerMonitorShape>() {}

/** Optional: told each refresh's attribution inputs (`joulemon record`); absent in the daemon. */
export class RefreshObserver extends Context.Tag("joulemon/RefreshObserver")<
  RefreshObserver,
  (inputs: RefreshInputs) => Effect.Effect<void>
>() {}

export interface MonitorOptions {
  readonly interval: Duration.Duration
  readonly staleness: Duration.Duration
  readonly parallelism: number
  readonly maxPlausibleWatts: number
  readonly maxTerminated: number
  /** joules */
  readonly minTerminatedEnergyThreshold: number
  /** `experimental.gpu.idlePower`, W; 0 or absent = auto-detect. */
  readonly gpuIdlePowerWatts?: number
  /** `monitor.idlePolicy`; absent = `none` (Kepler: idle stays at node level). */
  readonly idlePolicy?: IdlePolicy
  /** Told every refresh's attribution inputs beside the collection (`joulemon record`). */
  readonly onRefresh?: (inputs: RefreshInputs) => Effect.Effect<void>
}

/** What a refresh feeds the attribution besides the collection's reading. */
export interface RefreshInputs {
  readonly nowNanos: bigint
  readonly timestamp: number
  readonly samples: ReadonlyArray<ZoneSample>
  readonly selfPids: ReadonlyArray<number>
  readonly clearTerminated: boolean
}

/**
 * A GPU delta implying more than this is a glitch. Per NVML device: the largest boards draw
 * ~1.2 kW (B200) and a Grace-Blackwell superchip ~2.7 kW, so 10 kW only catches nonsense.
 */
const GPU_MAX_PLAUSIBLE_WATTS = 10_000

interface Computation {
  readonly state: MonitorState
  readonly gpuState: GpuState
  readonly idle: IdleAllocation
  readonly snapshot: Option.Option<Snapshot>
}

/** The monitor over a meter and an informer read on this thread (tests, benchmarks). */
export const makePowerMonitor = (
  meter: CpuPowerMeterShape,
  resources: ResourceInformerShape,
  options: MonitorOptions,
  telemetry: MonitorTelemetry = noTelemetry,
  checkpoint: CheckpointShape = noCheckpoint,
  gpu: GpuPowerMeterShape = noGpuMeter
): Effect.Effect<PowerMonitorShape, never, Scope.Scope> =>
  makePowerMonitorWith(
    meter,
    inProcessCollector(meter, resources, options.parallelism),
    options,
    telemetry,
    checkpoint,
    gpu
  )

/**
 * The monitor over `collector`; `meter` gives the zones' metadata (the collector reads the
 * same zones, wherever it runs).
 */
export const makePowerMonitorWith = (
  meter: CpuPowerMeterShape,
  collector: CollectorShape,
  options: MonitorOptions,
  telemetry: MonitorTelemetry = noTelemetry,
  checkpoint: CheckpointShape = noCheckpoint,
  gpu: GpuPowerMeterShape = noGpuMeter
): Effect.Effect<PowerMonitorShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const zones: ReadonlyArray<ZoneMeta> = meter.zones.map((z) => ({
      name: z.name,
      index: z.index,
      path: z.path,
      estimated: z.estimated,
      maxEnergy: z.maxEnergy
    }))
    const attribution: AttributionConfig = {
      maxPlausibleWatts: options.maxPlausibleWatts,
      maxTerminated: options.maxTerminated,
      minTerminatedEnergy: BigInt(Math.round(options.minTerminatedEnergyThreshold * 1_000_000)),
      primaryZone: Math.max(0, meter.zones.indexOf(meter.primaryZone))
    }
    const stalenessMillis = Duration.toMillis(options.staleness)
    const idlePolicy = options.idlePolicy ?? "none"
    const gpuAttribution: GpuAttributionConfig = {
      idlePowerWatts: Math.max(0, options.gpuIdlePowerWatts ?? 0),
      maxPlausibleWatts: GPU_MAX_PLAUSIBLE_WATTS
    }

    // Only the refresh (serialised by the singleflight) writes `computation`.
    const computation = yield* Ref.make<Computation>({
      state: yield* checkpoint.initialState(zones),
      gpuState: initialGpuState,
      idle: yield* checkpoint.initialIdle(idlePolicy, zones),
      snapshot: Option.none()
    })
    const latest = yield* Ref.make<Option.Option<Snapshot>>(Option.none())
    const exportedSequence = yield* Ref.make(0)
    const inFlight = yield* Ref.make<Option.Option<Deferred.Deferred<Snapshot, MonitorError>>>(Option.none())
    const stats = yield* Ref.make(initialStats)
    const pubsub = yield* Effect.acquireRelease(PubSub.sliding<Snapshot>(1), PubSub.shutdown)

    const countError = (e: MonitorError) =>
      Ref.update(stats, (s) => ({
        ...s,
        refreshErrors: { ...s.refreshErrors, [e.stage]: s.refreshErrors[e.stage] + 1 },
        lastError: Option.some(e.message)
      })).pipe(Effect.zipRight(telemetry.failed(e.stage)))

    const compute = Effect.fn("Monitor.refresh")(function*() {
      const [refreshDuration, snapshot] = yield* Effect.timed(
        Effect.gen(function*() {
          const nowNanos = yield* Clock.currentTimeNanos
          // The GPU reading never fails (a failed device says why), so it cannot fail the refresh.
          const [{ samples, reading, scanSeconds, selfPids }, gpuSamples] = yield* Effect.all(
            [
              collector.collect.pipe(
                Effect.mapError((e) => new MonitorError({ stage: "resources", reason: e.message }))
              ),
              gpu.read
            ],
            { concurrency: 2 }
          )
          const current = yield* Ref.get(computation)
          const previousSequence = current.state.sequence
          const clearTerminated = previousSequence > 0 && (yield* Ref.get(exportedSequence)) >= previousSequence
          const timestamp = yield* Clock.currentTimeMillis
          if (options.onRefresh !== undefined) {
            yield* options.onRefresh({ nowNanos, timestamp, samples, selfPids, clearTerminated })
          }
          const attributionError = (e: unknown) =>
            new MonitorError({ stage: "attribution", reason: e instanceof Error ? e.message : String(e) })
          // In slices, so /healthz and scrapes are served while a large node's attribution runs;
          // its duration therefore includes the turns given to them.
          const [attributionDuration, result] = yield* Effect.timed(Effect.gen(function*() {
            const cpu = yield* runSliced(
              attributeInSlices(
                current.state,
                { nowNanos, timestamp, zones, samples, resources: reading, clearTerminated, selfPids },
                attribution
              ),
              attributionError
            )
            return yield* Effect.try({
              try: () => {
                const g = gpu.devices.length === 0
                  ? undefined
                  : attributeGpu(current.gpuState, gpu.devices, gpuSamples, cpu.snapshot, gpuAttribution)
                const idle = idlePolicy === "none"
                  ? undefined
                  : allocateIdle(current.idle, cpu.snapshot, reading)
                return {
                  state: cpu.state,
                  gpuState: g?.state ?? current.gpuState,
                  idle: idle ?? current.idle,
                  snapshot: g === undefined && idle === undefined
                    ? cpu.snapshot
                    : withParts(cpu.snapshot, { gpu: g?.snapshot, idle })
                }
              },
              catch: attributionError
            })
          }))
          yield* Ref.set(computation, {
            state: result.state,
            gpuState: result.gpuState,
            idle: result.idle,
            snapshot: Option.some(result.snapshot)
          })
          yield* logGpuTransitions(current.snapshot, result.snapshot)
          yield* checkpoint.save(result.state, zones, result.idle)
          yield* Ref.update(stats, (s) => ({
            ...s,
            lastScanSeconds: scanSeconds,
            lastAttributionSeconds: Duration.toSeconds(attributionDuration)
          }))
          return result.snapshot
        })
      )
      yield* Ref.update(stats, (s) => ({
        ...s,
        refreshes: s.refreshes + 1,
        lastRefreshSeconds: Duration.toSeconds(refreshDuration),
        lastError: Option.none()
      }))
      yield* telemetry.refreshed(snapshot, Duration.toSeconds(refreshDuration))
      yield* Ref.set(latest, Option.some(snapshot))
      yield* PubSub.publish(pubsub, snapshot)
      for (const zone of snapshot.zones) {
        if (zone.status === "read-error") {
          yield* Effect.logWarning("zone read failed; its energy is booked at the next good read").pipe(
            Effect.annotateLogs({ zone: zone.name, path: zone.path, error: zone.error })
          )
        } else if (zone.status === "glitch" || zone.status === "reset") {
          yield* Effect.logWarning(`zone counter ${zone.status}: interval dropped`).pipe(
            Effect.annotateLogs({ zone: zone.name, path: zone.path })
          )
        }
      }
      return snapshot
    }, Effect.tapError(countError))

    /** A GPU going bad or coming back is logged once, not every interval. */
    const logGpuTransitions = (previous: Option.Option<Snapshot>, next: Snapshot) =>
      Effect.forEach(next.gpu?.devices ?? [], (device, d) => {
        const before = Option.isSome(previous) ? previous.value.gpu?.devices[d]?.status : undefined
        const bad = (s: string | undefined) => s === "lost" || s === "read-error"
        const annotations = { gpu: device.index, uuid: device.uuid }
        if (bad(device.status) && !bad(before)) {
          return Effect.logWarning(
            device.status === "lost" ? "GPU lost; its energy is not booked until it answers again" : "GPU read failed"
          ).pipe(Effect.annotateLogs({ ...annotations, error: device.error }))
        }
        if (!bad(device.status) && bad(before)) {
          return Effect.logInfo("GPU answers again").pipe(Effect.annotateLogs(annotations))
        }
        if (device.status === "reset" || device.status === "glitch") {
          return Effect.logWarning(`GPU energy counter ${device.status}: interval dropped`).pipe(
            Effect.annotateLogs(annotations)
          )
        }
        return Effect.void
      })

    const isFresh = (s: Snapshot, now: number): boolean => now - s.timestamp <= stalenessMillis

    /** Joins the refresh in flight or starts one (forked into the monitor's scope). */
    const shared = (force: boolean): Effect.Effect<Snapshot, MonitorError> =>
      Effect.gen(function*() {
        const mine = yield* Deferred.make<Snapshot, MonitorError>()
        const work = Effect.gen(function*() {
          // A caller that waited on the previous refresh may find the data fresh now.
          if (!force) {
            const now = yield* Clock.currentTimeMillis
            const current = yield* Ref.get(latest)
            if (Option.isSome(current) && isFresh(current.value, now)) return current.value
          }
          return yield* compute()
        })
        // Claiming and forking must not be split by an interruption, or the claim would
        // never complete and every later caller would wait forever. The refresh itself is
        // interruptible whoever started it — not `restore`, which gives back the caller's
        // status: a scrape handler may run uninterruptibly, and then the collector's deadline
        // could never stop a stuck read, nor shutdown the refresh.
        const awaited = yield* Effect.uninterruptible(
          Effect.gen(function*() {
            const joined = yield* Ref.modify(inFlight, (current) =>
              Option.isSome(current)
                ? ([Option.some(current.value), current] as const)
                : ([Option.none<Deferred.Deferred<Snapshot, MonitorError>>(), Option.some(mine)] as const))
            if (Option.isSome(joined)) {
              yield* Ref.update(stats, (s) => ({ ...s, singleflightJoins: s.singleflightJoins + 1 }))
              yield* telemetry.joined
              return joined.value
            }
            yield* Effect.interruptible(work).pipe(
              Effect.onExit((exit) =>
                Ref.set(inFlight, Option.none()).pipe(Effect.zipRight(Deferred.done(mine, exit)))
              ),
              Effect.forkIn(scope)
            )
            return mine
          })
        )
        return yield* Deferred.await(awaited)
      })

    const freshOrRefresh = Effect.gen(function*() {
      const current = yield* Ref.get(latest)
      const now = yield* Clock.currentTimeMillis
      return Option.isSome(current) && isFresh(current.value, now) ? current.value : yield* shared(false)
    })

    const snapshot = freshOrRefresh.pipe(
      Effect.tap((s) => Ref.update(exportedSequence, (seq) => Math.max(seq, s.sequence)))
    )

    const logged = <A>(self: Effect.Effect<A, MonitorError>) =>
      self.pipe(
        Effect.asVoid,
        Effect.catchAll((e) => Effect.logWarning("refresh failed; keeping the previous snapshot", e.message))
      )

    const loop = Effect.gen(function*() {
      yield* logged(freshOrRefresh)
      if (Duration.toMillis(options.interval) <= 0) return
      yield* Effect.forever(Effect.sleep(options.interval).pipe(Effect.zipRight(logged(freshOrRefresh))))
    }).pipe(Effect.annotateLogs({ component: "monitor" }))
    yield* Effect.forkScoped(loop)

    return {
      snapshot,
      latest: Ref.get(latest),
      refresh: shared(true),
      changes: PubSub.subscribe(pubsub),
      zoneNames: zones.map((z) => z.name),
      stats: Ref.get(stats)
    } satisfies PowerMonitorShape
  })

export const monitorOptionsFrom = (config: AppConfig["Type"]): MonitorOptions => ({
  interval: config.monitor.interval,
  staleness: config.monitor.staleness,
  parallelism: config.monitor.parallelism,
  maxPlausibleWatts: config.monitor.maxPlausibleWatts,
  maxTerminated: config.monitor.maxTerminated,
  minTerminatedEnergyThreshold: config.monitor.minTerminatedEnergyThreshold,
  gpuIdlePowerWatts: config.experimental.gpu.idlePower,
  idlePolicy: config.monitor.idlePolicy
})

export const PowerMonitorLive: Layer.Layer<
  PowerMonitor,
  never,
  AppConfig | CpuPowerMeter | GpuPowerMeter | Collector | SelfMetrics | Checkpoint
> = Layer.scoped(
  PowerMonitor,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const meter = yield* CpuPowerMeter
    const collector = yield* Collector
    const telemetry = yield* SelfMetrics
    const checkpoint = yield* Checkpoint
    const gpu = yield* GpuPowerMeter
    const observer = yield* Effect.serviceOption(RefreshObserver)
    const options = monitorOptionsFrom(config)
    return yield* makePowerMonitorWith(
      meter,
      collector,
      Option.isSome(observer) ? { ...options, onRefresh: observer.value } : options,
      telemetry,
      checkpoint,
      gpu
    )
  })
)
