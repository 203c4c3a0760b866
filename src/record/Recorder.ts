/**
 * `joulemon record`'s recorder: the collector it puts in place of the daemon's (files read on
 * joulemon's own thread through a recording reader) and the writer of the recording. Each
 * refresh's line joins what the collector read with what the monitor gave the attribution
 * (PowerMonitor's `onRefresh`). Written to `<out>.partial` and renamed to `<out>` when closed,
 * so a recording that was cut short is never mistaken for a whole one.
 */
import { Context, Data, Deferred, Effect, Layer, Ref } from "effect"
import * as fs from "node:fs"
import * as zlib from "node:zlib"
import { Collector, inProcessCollector } from "../collector/Collector.js"
import { AppConfig } from "../config/Config.js"
import { CpuPowerMeter } from "../device/CpuPowerMeter.js"
import { type RefreshInputs, RefreshObserver } from "../monitor/PowerMonitor.js"
import { cgroupfsOption, logUnreadableFiles, makeProcfsScanner } from "../resource/procfsInformer.js"
import { nodeProcReader } from "../resource/procReader.js"
import type { CpuTimes } from "../resource/procStat.js"
import { type FileOp, headerLine, RECORDING_FORMAT, RECORDING_VERSION, refreshLine } from "./recordingFile.js"
import { makeRecordingReader } from "./recordingReader.js"

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
}

/**
 * The Recorder and the Collector it feeds, as one layer over the daemon's config and meter.
 * The header is written when the collector is built (the zones and CPUs are known then).
 */
export const recordingLayer = (
  options: RecordOptions
): Layer.Layer<Recorder | Collector | RefreshObserver, RecordError, AppConfig | CpuPowerMeter> =>
  Layer.scopedContext(Effect.gen(function*() {
    const config = yield* AppConfig
    const meter = yield* CpuPowerMeter
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

    const reader = makeRecordingReader(nodeProcReader)
    const cgroupfs = cgroupfsOption(config)
    const scanner = yield* makeProcfsScanner({
      procfs: config.host.procfs,
      parallelism: config.monitor.parallelism,
      reader,
      ...cgroupfs
    }).pipe(Effect.mapError((e) => new RecordError({ reason: e.message })))

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

    const pending = yield* Ref.make<Pending | undefined>(undefined)
    const count = yield* Ref.make(0)
    const full = yield* Deferred.make<void>()
    const informer = {
      cpuInfo: scanner.cpuInfo,
      refresh: scanner.scan(new Set()).pipe(
        Effect.tap((r) => logUnreadableFiles(r.toLog)),
        Effect.tap((r) => Ref.set(pending, { files: reader.take(), cpu: r.cpu })),
        Effect.map((r) => r.reading)
      )
    }
    const collector = inProcessCollector(meter, informer, config.monitor.parallelism)

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
          files: collected.files
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
