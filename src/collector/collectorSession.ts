/**
 * What the collector worker holds between requests: the meter it built from the monitor's
 * settings and the procfs scanner, resumed from the seed a predecessor left. `collect` is one
 * refresh's reading in wire form, in the parts the worker sends one by one. Runs in the worker process (worker.ts), and in tests directly.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { EnergyZone } from "../device/EnergyZone.js"
import { buildMeterFrom } from "../device/meterSelection.js"
import type { ZoneSample } from "../monitor/nodeEnergy.js"
import { makeProcfsScanner } from "../resource/procfsInformer.js"
import { readZoneSamples } from "./Collector.js"
import { type CollectPart, type Init, type InitResult, WorkerScanError, WorkerSetupError } from "./protocol.js"
import { collectionParts, informerStateFromSeed, readingToWire } from "./wire.js"

export interface CollectorSession {
  readonly init: InitResult
  readonly collect: (
    skip: ReadonlyArray<number>,
    skipZones: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<CollectPart>, WorkerScanError>
}

const skippedZone = (zone: EnergyZone): ZoneSample => ({
  _tag: "Failed",
  error: `not read: a read of ${zone.path} hung an earlier refresh`
})

export const openSession = (init: Init): Effect.Effect<CollectorSession, WorkerSetupError> =>
  Effect.gen(function*() {
    const meter = yield* buildMeterFrom(init.meter, init.settings).pipe(
      Effect.mapError((e) => new WorkerSetupError({ reason: e.message }))
    )
    const seed = Option.fromNullable(init.seed).pipe(
      Option.map((s) => informerStateFromSeed(s, init.settings.procfs)),
      Option.getOrUndefined
    )
    const scanner = yield* makeProcfsScanner({
      procfs: init.settings.procfs,
      parallelism: init.parallelism,
      ...(seed === undefined ? {} : { seed }),
      ...(init.cgroupfs === null ? {} : { cgroupfs: init.cgroupfs })
    }).pipe(Effect.mapError((e) => new WorkerSetupError({ reason: e.message })))

    const collect = (skip: ReadonlyArray<number>, skipZones: ReadonlyArray<string>) => {
      const zonesSkipped = new Set(skipZones)
      const readable = meter.zones.filter((z) => !zonesSkipped.has(z.path))
      const readZones = readZoneSamples({ ...meter, zones: readable }, init.parallelism).pipe(
        Effect.map((samples) => {
          const byZone = new Map(readable.map((z, i) => [z, samples[i]]))
          return meter.zones.map((z) => byZone.get(z) ?? skippedZone(z))
        })
      )
      return Effect.all([readZones, Effect.timed(scanner.scan(new Set(skip)))], { concurrency: 2 }).pipe(
        Effect.mapError((e) => new WorkerScanError({ path: e.path, reason: e.reason })),
        Effect.map(([samples, [duration, scan]]) => {
          const { processes, ...wire } = readingToWire(scan.reading)
          return collectionParts(
            {
              samples: samples.map((s) =>
                s._tag === "Failed" ? s : { _tag: "Read", reading: s.reading, atNanos: s.atNanos ?? 0n }
              ),
              ...wire,
              cpu: scan.cpu,
              unreadable: scan.toLog,
              skippedListed: scan.skippedListed,
              scanSeconds: Duration.toSeconds(duration)
            },
            processes,
            init.processesPerPart
          )
        })
      )
    }

    return {
      init: {
        zones: meter.zones.map((z) => ({
          name: z.name,
          index: z.index,
          path: z.path,
          estimated: z.estimated,
          maxEnergy: z.maxEnergy
        })),
        cpuInfo: scanner.cpuInfo
      },
      collect
    } satisfies CollectorSession
  })
