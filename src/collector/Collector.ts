/**
 * The collector service: everything a refresh reads from files — every zone of the CPU meter
 * and one procfs scan — as one `collect`. The monitor turns its result into a snapshot with the
 * pure attribution, so where the reading happens (this thread or a worker process, see
 * workerCollector.ts) never changes a number.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { CpuPowerMeterShape } from "../device/CpuPowerMeter.js"
import type { ZoneSample } from "../monitor/nodeEnergy.js"
import type { ResourceInformerShape } from "../resource/ResourceInformer.js"
import type { CpuInfoEntry, ResourceReading } from "../resource/types.js"

/** A file that did not answer within the refresh deadline. */
export interface StuckFile {
  /** The process whose file it was, when it is a `/proc/<pid>/…` file. */
  readonly pid?: number
  readonly path: string
}

export class CollectorError extends Data.TaggedError("CollectorError")<{
  readonly reason: string
  /** Set when the collection missed its deadline and the file it hung on is known. */
  readonly stuck?: StuckFile
}> {
  override get message(): string {
    return this.reason
  }
}

export interface Collected {
  /** One per meter zone, in the meter's zone order. */
  readonly samples: ReadonlyArray<ZoneSample>
  readonly reading: ResourceReading
  readonly scanSeconds: number
  /** joulemon's own pids during this collection: itself and the worker that read the files, if any. */
  readonly selfPids: ReadonlyArray<number>
}

export interface CollectorShape {
  readonly collect: Effect.Effect<Collected, CollectorError>
  /** /proc/cpuinfo as read at startup; empty when unreadable. */
  readonly cpuInfo: ReadonlyArray<CpuInfoEntry>
}

export class Collector extends Context.Tag("joulemon/Collector")<Collector, CollectorShape>() {}

/**
 * Each reading is timestamped right after it is taken: a delay between a shared timestamp and
 * the read (scheduling, the other zones) would show up as power error. `at` gives the
 * timestamp of zone `i`'s reading: the clock when live, the recorded time in a replay.
 */
export const readZoneSamples = (
  meter: CpuPowerMeterShape,
  parallelism: number,
  at: (zoneIndex: number) => Effect.Effect<bigint> = () => Clock.currentTimeNanos
): Effect.Effect<ReadonlyArray<ZoneSample>> =>
  Effect.forEach(
    meter.zones,
    (zone, i) =>
      zone.read.pipe(
        Effect.zip(at(i)),
        Effect.match({
          onFailure: (e): ZoneSample => ({ _tag: "Failed", error: e.message }),
          onSuccess: ([reading, atNanos]): ZoneSample => ({ _tag: "Read", reading, atNanos })
        })
      ),
    { concurrency: Math.max(1, parallelism) }
  )

/** Reads on the calling thread: the meter's zones and the informer's scan, concurrently. */
export const inProcessCollector = (
  meter: CpuPowerMeterShape,
  resources: ResourceInformerShape,
  parallelism: number
): CollectorShape => ({
  cpuInfo: resources.cpuInfo,
  collect: Effect.all(
    [
      readZoneSamples(meter, parallelism),
      Effect.timed(resources.refresh).pipe(Effect.mapError((e) => new CollectorError({ reason: e.message })))
    ],
    { concurrency: 2 }
  ).pipe(
    Effect.map(([samples, [scanDuration, reading]]) => ({
      samples,
      reading,
      scanSeconds: Duration.toSeconds(scanDuration),
      selfPids: [process.pid]
    }))
  )
})
