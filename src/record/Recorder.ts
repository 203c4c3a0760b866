/**
 * `joulemon record`'s recorder: the collector it puts in place of the daemon's (files read on
 * joulemon's own thread through a recording reader) and the writer of the recording. Each
 * refresh's line joins what the collector read (the scan's files and, with a sysfs meter, the
 * text of every sysfs file the meter read) and, with Kubernetes on, what the pod informer
 * answered for the reading's containers, with what the monitor gave the attribution
 * (PowerMonitor's `onRefresh`). Written to `<out>.partial` and renamed to `<out>` when closed,
 * so a recording that was cut short is never mistaken for a whole one.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as fs from "node:fs"
import * as zlib from "node:zlib"
import { Collector, type CollectorShape, inProcessCollector } from "../collector/Collector.js"
import { AppConfig, type JoulemonConfig } from "../config/Config.js"
import { CpuPowerMeter, type CpuPowerMeterShape } from "../device/CpuPowerMeter.js"
import { buildMeterFrom, meterSettingsFrom } from "../device/meterSelection.js"
import { liveSysfsReader, SysfsReader } from "../device/sysfsReader.js"
import type { Fatal } from "../Fatal.js"
import type { KubeConfigError } from "../k8s/connection.js"
import { makePodEnricher } from "../k8s/podAttribution.js"
import type { PodContainer } from "../k8s/podIndex.js"
import { PodInformer } from "../k8s/PodInformer.js"
import { type PodInformerShape, singleLookup } from "../k8s/PodInformerShape.js"
import { type RefreshInputs, RefreshObserver } from "../monitor/PowerMonitor.js"
import { readCpuInfo } from "../resource/cpuinfo.js"
import { cgroupfsOption, logUnreadableFiles, makeProcfsScanner } from "../resource/procfsInformer.js"
import { nodeProcReader } from "../resource/procReader.js"
import { type CpuTimes, cpuTimesOf, procStatFile, readProcStatText } from "../resource/procStat.js"
import type { SelfMetrics } from "../telemetry/SelfMetrics.js"
import {
  type FileOp,
  headerLine,
  type RecordedPod,
  type RecordedSysfsMeter,
  RECORDING_FORMAT,
  RECORDING_VERSION,
  refreshLine
} from "./recordingFile.js"
import { makeRecordingReader } from "./recordingReader.js"
import { makeRecordingSysfsReader, type RecordingSysfsReader } from "./sysfsRecording.js"

export class RecordError extends Data.TaggedError("RecordError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

export interface RecorderShape {
  /** Called by the monitor after each collection, with the attribution's other inputs. */
  readonly refreshed: (inputs: RefreshInputs) => Effect.Effect<void>
  /** Completes when `count` refreshes are recorded. */
  readonly full: Deferred.Deferred<void>
  readonly recorded: Effect.Effect<number>
}

export class Recorder extends Context.Tag("joulemon/Recorder")<Recorder, RecorderShape>() {}

export interface RecordOptions {
  readonly out: string
  /** Stop after this many refreshes; undefined: until stopped. */
  readonly count: number | undefined
}

/** What the recording collector hands the recorder between a collection and the monitor's call. */
interface Pending {
  readonly files: ReadonlyArray<FileOp>
  readonly cpu: CpuTimes
  /** `/proc/stat` as read for `cpu`. */
  readonly procStat: string
  /** With Kubernetes on, the pod informer's answers for this reading's containers. */
  readonly pods: ReadonlyArray<RecordedPod> | undefined
}

const recordedPods = (found: ReadonlyMap<string, PodContainer>): ReadonlyArray<RecordedPod> =>
  [...found].map(([containerId, p]) => ({ containerId, ...p }))

/**
 * The pod informer, with what its `lookupAll` answered kept in `last`: the recorder takes it
 * after each reading's enrichment, so the replay applies exactly the pods the live run did.
 */
const capturing = (
  informer: PodInformerShape,
  last: Ref.Ref<ReadonlyMap<string, PodContainer>>
): PodInformerShape => {
  const lookupAll = (ids: ReadonlyArray<string>) => Effect.tap(informer.lookupAll(ids), (found) => Ref.set(last, found))
  return { lookupAll, lookup: singleLookup(lookupAll) }
}

/**
 * With a sysfs meter (rapl, hwmon): the same meter built over the recording reader, and what
 * the header says of it. The model and fake meters read no sysfs and are used as they are.
 */
const recordedSysfsMeter = (
  config: JoulemonConfig,
  live: CpuPowerMeterShape,
  ops: RecordingSysfsReader
): Effect.Effect<Option.Option<{ meter: CpuPowerMeterShape; recorded: RecordedSysfsMeter }>, RecordError> => {
  const name = live.name
  if (name !== "rapl" && name !== "hwmon") return Effect.succeed(Option.none())
  const settings = meterSettingsFrom(config)
  return buildMeterFrom(name, settings).pipe(
    Effect.provideService(SysfsReader, ops.reader),
    Effect.mapError((e) =>
      new RecordError({ reason: `cannot build the ${name} meter again to record it: ${e.message}` })
    ),
    Effect.map((meter) => Option.some({ meter, recorded: { name, settings, discovery: ops.take() } }))
  )
}

type RecordingServices = Recorder | Collector | RefreshObserver

/**
 * The Recorder and the Collector it feeds, as one layer over the daemon's config and meter —
 * with `kube.enabled`, and the pod informer of `kube.*`, whose answers are recorded too.
 * The header is written when the collector is built (the zones and CPUs are known then).
 */
export const recordingLayer = (
  options: RecordOptions
): Layer.Layer<
  RecordingServices,
  RecordError | KubeConfigError,
  AppConfig | CpuPowerMeter | Fatal | SelfMetrics
> =>
  Layer.unwrapEffect(Effect.map(AppConfig, (config) =>
    config.kube.enabled
      ? recordingWith(options, Effect.map(PodInformer, Option.some)).pipe(Layer.provide(PodInformer.layer))
      : recordingWith(options, Effect.succeed(Option.none()))))

const recordingWith = <R>(
  options: RecordOptions,
  podInformer: Effect.Effect<Option.Option<PodInformerShape>, never, R>
): Layer.Layer<RecordingServices, RecordError, AppConfig | CpuPowerMeter | R> =>
  Layer.scopedContext(Effect.gen(function*() {
    const config = yield* AppConfig
    const live = yield* CpuPowerMeter
    const partial = `${options.out}.partial`
    const gzip = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          // Opened here, so a directory that is not there fails now, with the path named.
          const out = fs.createWriteStream(partial, { fd: fs.openSync(partial, "w", 0o600) })
          const stream = zlib.createGzip()
          stream.pipe(out)
          return { stream, out }
        },
        catch: (e) =>
          new RecordError({ reason: `cannot write ${partial}: ${e instanceof Error ? e.message : String(e)}` })
      }),
      ({ out, stream }) =>
        Effect.async<void>((resume) => {
          out.once("close", () => resume(Effect.void))
          out.once("error", () => resume(Effect.void))
          stream.end()
        }).pipe(Effect.zipRight(Effect.sync(() => {
          try {
            fs.renameSync(partial, options.out)
          } catch {
            // The partial file stays, named as such.
          }
        })))
    )
    const write = (line: string) => Effect.sync(() => void gzip.stream.write(line))

    // A sysfs meter is built again here, over the recording SysfsReader, so its discovery and
    // every zone read are in the recording; it is the daemon's meter, found the same way.
    const sysfsOps = makeRecordingSysfsReader(liveSysfsReader)
    const sysfsMeter = yield* recordedSysfsMeter(config, live, sysfsOps)
    const meter = Option.match(sysfsMeter, { onNone: () => live, onSome: ({ meter }) => meter })

    const reader = makeRecordingReader(nodeProcReader)
    const cgroupfs = cgroupfsOption(config)
    // /proc/stat read here so its text is recorded; the scan parses it as it would have.
    const statText = yield* Ref.make("")
    const procfs = config.host.procfs
    const times = readProcStatText(procfs).pipe(
      Effect.tap((text) => Ref.set(statText, text)),
      Effect.flatMap((text) => cpuTimesOf(procStatFile(procfs), text))
    )
    const scanner = yield* times.pipe(
      Effect.zipRight(Effect.flatMap(readCpuInfo(procfs), (info) =>
        makeProcfsScanner({
          procfs,
          parallelism: config.monitor.parallelism,
          reader,
          cpu: { times, info },
          ...cgroupfs
        })))
    ).pipe(Effect.mapError((e) => new RecordError({ reason: e.message })))

    yield* write(headerLine({
      format: RECORDING_FORMAT,
      version: RECORDING_VERSION,
      recordedAt: Date.now(),
      procfs: config.host.procfs,
      cgroupfs: cgroupfs.cgroupfs ?? null,
      zones: meter.zones.map((z) => ({
        name: z.name,
        index: z.index,
        path: z.path,
        estimated: z.estimated,
        maxEnergy: z.maxEnergy
      })),
      primaryZone: Math.max(0, meter.zones.indexOf(meter.primaryZone)),
      cpuInfo: scanner.cpuInfo,
      ...Option.match(sysfsMeter, { onNone: () => ({}), onSome: ({ recorded }) => ({ sysfsMeter: recorded }) }),
      settings: {
        maxPlausibleWatts: config.monitor.maxPlausibleWatts,
        maxTerminated: config.monitor.maxTerminated,
        minTerminatedEnergyThreshold: config.monitor.minTerminatedEnergyThreshold,
        idlePolicy: config.monitor.idlePolicy,
        shortLived: config.monitor.shortLived,
        nodeName: config.kube.nodeName,
        metricsLevel: config.exporter.prometheus.metricsLevel,
        maxProcesses: config.exporter.prometheus.maxProcesses
      }
    }))

    const lastPods = yield* Ref.make<ReadonlyMap<string, PodContainer>>(new Map())
    const enrich = yield* Option.match(yield* podInformer, {
      onNone: () => Effect.succeed(Option.none()),
      onSome: (informer) => Effect.map(makePodEnricher(capturing(informer, lastPods)), Option.some)
    })
    const pending = yield* Ref.make<Pending | undefined>(undefined)
    const count = yield* Ref.make(0)
    const full = yield* Deferred.make<void>()
    const informer = {
      cpuInfo: scanner.cpuInfo,
      refresh: Effect.gen(function*() {
        const r = yield* scanner.scan(new Set())
        yield* logUnreadableFiles(r.toLog)
        const files = reader.take()
        const procStat = yield* Ref.get(statText)
        if (Option.isNone(enrich)) {
          yield* Ref.set(pending, { files, cpu: r.cpu, procStat, pods: undefined })
          return r.reading
        }
        const reading = yield* enrich.value(r.reading)
        yield* Ref.set(pending, { files, cpu: r.cpu, procStat, pods: recordedPods(yield* Ref.get(lastPods)) })
        return reading
      })
    }
    const reading = inProcessCollector(meter, informer, config.monitor.parallelism)
    const collector: CollectorShape = {
      cpuInfo: reading.cpuInfo,
      // What a collection that failed had read is dropped with it, not booked to the next.
      collect: Effect.zipRight(
        Effect.sync(() => void sysfsOps.take()),
        Effect.provideService(reading.collect, SysfsReader, sysfsOps.reader)
      )
    }

    const refreshed = (inputs: RefreshInputs) =>
      Effect.gen(function*() {
        const collected = yield* Ref.getAndSet(pending, undefined)
        if (collected === undefined) return
        yield* write(refreshLine({
          nowNanos: inputs.nowNanos,
          timestamp: inputs.timestamp,
          clearTerminated: inputs.clearTerminated,
          selfPids: inputs.selfPids,
          samples: inputs.samples,
          cpu: collected.cpu,
          procStat: collected.procStat,
          files: collected.files,
          ...(Option.isSome(sysfsMeter) ? { sysfs: sysfsOps.take() } : {}),
          ...(collected.pods === undefined ? {} : { pods: collected.pods })
        }))
        const n = yield* Ref.updateAndGet(count, (c) => c + 1)
        if (options.count !== undefined && n >= options.count) yield* Deferred.succeed(full, undefined)
      })

    const recorder: RecorderShape = { refreshed, full, recorded: Ref.get(count) }
    return Context.make(Recorder, recorder).pipe(
      Context.add(Collector, collector),
      Context.add(RefreshObserver, refreshed)
    )
  }))
