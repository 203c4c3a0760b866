/**
 * `joulemon replay`: a recording run again through the same code the live run used — the
 * sysfs meter (built from its recorded discovery, its zones parsing each refresh's recorded
 * file text), the procfs scan (over the recorded file operations), the recorded pods applied as the pod
 * attribution applied them live, the attribution, the idle allocation and the
 * exposition writer — one refresh per recorded line. Nothing is read from this machine and no
 * clock is consulted, so replaying a file twice gives the same bytes, and the families the live
 * run exported from its snapshots are those of the live scrapes.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import { readZoneSamples } from "../collector/Collector.js"
import type { CpuPowerMeterShape } from "../device/CpuPowerMeter.js"
import type { EnergyZone } from "../device/EnergyZone.js"
import { buildMeterFrom } from "../device/meterSelection.js"
import { SysfsReader } from "../device/sysfsReader.js"
import { writeFamilies } from "../exporter/prometheus/exposition.js"
import { snapshotFamilies } from "../exporter/prometheus/families.js"
import { idleFamilies } from "../exporter/prometheus/idleFamilies.js"
import { shortLivedFamilies } from "../exporter/prometheus/shortLivedFamilies.js"
import { enrichWithPods } from "../k8s/podAttribution.js"
import type { PodContainer } from "../k8s/podIndex.js"
import { attribute, initialMonitorState, withParts } from "../monitor/attribute.js"
import { allocateIdle, initialIdleAllocation } from "../monitor/idleAllocation.js"
import type { ZoneSample } from "../monitor/nodeEnergy.js"
import type { Snapshot } from "../monitor/snapshot.js"
import { makeProcfsScanner } from "../resource/procfsInformer.js"
import { type CpuTimes, cpuTimesOf, procStatFile } from "../resource/procStat.js"
import { ResourceError } from "../resource/ResourceInformer.js"
import type { ResourceReading } from "../resource/types.js"
import {
  parseRecording,
  type RecordedPod,
  type RecordedRefresh,
  type Recording,
  type RecordingHeader
} from "./recordingFile.js"
import { makeReplayReader } from "./recordingReader.js"
import { makeReplaySysfsReader, type ReplaySysfsReader } from "./sysfsRecording.js"

/** The most a recording file may be: 1 GiB compressed (a day of a 10k-process node is far less). */
const RECORDING_LIMIT = 1024 ** 3

export const readRecording = (file: string): Effect.Effect<Recording, ResourceError> =>
  Effect.try({
    try: () => {
      const size = fs.statSync(file).size
      if (size > RECORDING_LIMIT) throw new Error(`${size} bytes, over the ${RECORDING_LIMIT}-byte limit`)
      return fs.readFileSync(file)
    },
    catch: (e) => new ResourceError({ path: file, reason: e instanceof Error ? e.message : String(e) })
  }).pipe(
    Effect.flatMap((bytes) =>
      Either.match(parseRecording(bytes), {
        onLeft: (reason) =>
          Effect.fail(new ResourceError({ path: file, reason: `not a joulemon recording: ${reason}` })),
        onRight: Effect.succeed
      })
    )
  )

export interface ReplayedRefresh {
  readonly snapshot: Snapshot
  /** The Prometheus text of the families computed from the snapshot. */
  readonly exposition: string
}

const podIndexOf = (pods: ReadonlyArray<RecordedPod>): ReadonlyMap<string, PodContainer> =>
  new Map(pods.map(({ containerId, ...pod }) => [containerId, pod]))

const sameZones = (built: ReadonlyArray<EnergyZone>, recorded: RecordingHeader["zones"]): boolean =>
  built.length === recorded.length &&
  built.every((z, i) => z.name === recorded[i]?.name && z.path === recorded[i]?.path)

/**
 * The recording's sysfs meter, built by the same code from the same settings over the
 * discovery's recorded operations. It must give the header's zones: otherwise the file was
 * recorded by a joulemon whose discovery differs, and its readings are not this one's to parse.
 */
const rebuiltMeter = (
  header: RecordingHeader,
  sysfs: ReplaySysfsReader
): Effect.Effect<CpuPowerMeterShape | undefined, ResourceError> => {
  const recorded = header.sysfsMeter
  if (recorded === undefined) return Effect.succeed(undefined)
  const refused = (reason: string) =>
    new ResourceError({ path: "recording header (sysfsMeter)", reason: `${recorded.name} meter: ${reason}` })
  return Effect.sync(() => sysfs.load(recorded.discovery)).pipe(
    Effect.zipRight(buildMeterFrom(recorded.name, recorded.settings)),
    Effect.provideService(SysfsReader, sysfs.reader),
    Effect.mapError((e) => refused(`the recorded discovery does not build it again: ${e.message}`)),
    Effect.filterOrFail(
      (meter) => sameZones(meter.zones, header.zones),
      (meter) =>
        refused(
          `built again, it has zones ${meter.zones.map((z) => z.path).join(", ")}, not the recorded ${
            header.zones.map((z) => z.path).join(", ")
          }`
        )
    )
  )
}

/**
 * The refresh's zone readings, parsed again from the text its sysfs files had. Each reading's
 * time is the recorded one (the clock is not replayed); a reading that failed fails again with
 * the same error.
 */
const replayedSamples = (
  meter: CpuPowerMeterShape,
  sysfs: ReplaySysfsReader,
  refresh: RecordedRefresh
): Effect.Effect<ReadonlyArray<ZoneSample>> =>
  Effect.sync(() => sysfs.load(refresh.sysfs ?? [])).pipe(
    Effect.zipRight(readZoneSamples(meter, 1, (i) => {
      const recorded = refresh.samples[i]
      return Effect.succeed(
        recorded?._tag === "Read" && recorded.atNanos !== undefined ? recorded.atNanos : refresh.nowNanos
      )
    })),
    Effect.provideService(SysfsReader, sysfs.reader)
  )

/** Every recorded refresh, replayed in order. */
export const replay = (recording: Recording): Effect.Effect<ReadonlyArray<ReplayedRefresh>, ResourceError> =>
  Effect.gen(function*() {
    const { header, refreshes } = recording
    const reader = makeReplayReader()
    const cpuHolder: { current: CpuTimes } = { current: { activeTicks: 0, totalTicks: 0, cpuCount: 1 } }
    const scanner = yield* makeProcfsScanner({
      procfs: header.procfs,
      parallelism: 1,
      reader,
      cpu: { times: Effect.sync(() => cpuHolder.current), info: header.cpuInfo },
      ...(header.cgroupfs === null ? {} : { cgroupfs: header.cgroupfs })
    })
    const sysfs = makeReplaySysfsReader()
    const meter = header.sysfsMeter === undefined ? undefined : yield* rebuiltMeter(header, sysfs)
    const settings = header.settings
    const config = {
      maxPlausibleWatts: settings.maxPlausibleWatts,
      maxTerminated: settings.maxTerminated,
      minTerminatedEnergy: BigInt(Math.round(settings.minTerminatedEnergyThreshold * 1_000_000)),
      primaryZone: header.primaryZone
    }
    const levels = new Set(settings.metricsLevel)
    let state = initialMonitorState(header.zones.length)
    let idle = initialIdleAllocation(settings.idlePolicy)
    // The pods of the previous enriched reading, as the live enricher keeps them (podAttribution.ts).
    let previousPods: ReadonlySet<string> = new Set()
    const out: Array<ReplayedRefresh> = []
    for (const r of refreshes) {
      reader.load(r.files)
      cpuHolder.current = r.procStat === undefined
        ? r.cpu
        : yield* cpuTimesOf(procStatFile(header.procfs), r.procStat)
      const scanned = yield* scanner.scan(new Set())
      let reading: ResourceReading = scanned.reading
      if (r.pods !== undefined) {
        reading = enrichWithPods(reading, podIndexOf(r.pods), previousPods)
        previousPods = new Set(reading.pods.keys())
      }
      const result = attribute(state, {
        nowNanos: r.nowNanos,
        timestamp: r.timestamp,
        zones: header.zones,
        samples: meter === undefined || r.sysfs === undefined
          ? r.samples
          : yield* replayedSamples(meter, sysfs, r),
        resources: reading,
        clearTerminated: r.clearTerminated,
        selfPids: r.selfPids
      }, config)
      state = result.state
      let snapshot = result.snapshot
      if (settings.idlePolicy !== "none") {
        idle = allocateIdle(idle, snapshot, reading)
        snapshot = withParts(snapshot, { idle })
      }
      const families = [
        ...snapshotFamilies(snapshot, { levels, nodeName: settings.nodeName, maxProcesses: settings.maxProcesses }),
        ...idleFamilies(snapshot, levels, settings.nodeName),
        ...shortLivedFamilies(snapshot, levels, settings.nodeName)
      ]
      out.push({ snapshot, exposition: writeFamilies(families, "prometheus") })
    }
    return out
  })
