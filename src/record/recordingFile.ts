/**
 * The recording `joulemon record` writes and `joulemon replay` reads: one gzip-compressed file of
 * JSON lines — a header (format name and version, where the files were, the meter's zones, the
 * CPUs, the settings the numbers depend on), then one line per refresh with everything the
 * attribution was given: the zone readings (and, with a sysfs meter, the text of every sysfs
 * file the meter read, so replay parses them again), the clock, whether terminated lists started afresh,
 * joulemon's own pids, /proc/stat's figures, every file operation of the scan with its result
 * (file contents as latin1, so any byte survives) and, with Kubernetes on, the pod of each
 * container as the pod informer answered. Schema-typed, so a damaged or foreign
 * file is refused with the line and field at fault.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as zlib from "node:zlib"
import { CpuInfoWire, CpuTimesWire } from "../collector/protocol.js"
import { IDLE_POLICIES, METRICS_LEVELS, SHORT_LIVED_MODES } from "../config/Config.js"
import { MeterSettings } from "../device/meterSettings.js"

/** Zones and readings as in collector/protocol.ts, with µJ as decimal strings (JSON has no bigint). */
const ZoneMetaJson = Schema.Struct({
  name: Schema.String,
  index: Schema.Number,
  path: Schema.String,
  estimated: Schema.Boolean,
  maxEnergy: Schema.BigInt
})

export const ZoneSampleJson = Schema.Union(
  Schema.Struct({
    _tag: Schema.Literal("Read"),
    reading: Schema.Union(
      Schema.Struct({ _tag: Schema.Literal("Energy"), microjoules: Schema.BigInt }),
      Schema.Struct({ _tag: Schema.Literal("Power"), microwatts: Schema.Number })
    ),
    atNanos: Schema.optionalWith(Schema.BigInt, { exact: true })
  }),
  Schema.Struct({ _tag: Schema.Literal("Failed"), error: Schema.String })
)

export const RECORDING_FORMAT = "joulemon-recording"
/**
 * 2: the sysfs meter's files as read (`sysfsMeter`, `sysfs`) and `/proc/stat`'s text (`procStat`). Version 1 files (the zone
 * readings only) still replay, from their `samples`.
 */
export const RECORDING_VERSION = 2

/** One operation of the scan's file reader (resource/procReader.ts), with what it returned. */
export const FileOp = Schema.Union(
  Schema.Struct({ op: Schema.Literal("dir"), path: Schema.String, names: Schema.Array(Schema.String) }),
  /** readStat and readFile: the bytes read, as latin1. */
  Schema.Struct({ op: Schema.Literal("read"), path: Schema.String, data: Schema.String }),
  Schema.Struct({ op: Schema.Literal("link"), path: Schema.String, target: Schema.String }),
  Schema.Struct({ op: Schema.Literal("exists"), path: Schema.String, exists: Schema.Boolean }),
  /** The operation threw: the errno name (or the bounded reader's reason) it threw with. */
  Schema.Struct({
    op: Schema.Literal("failed"),
    of: Schema.Literal("dir", "read", "link"),
    path: Schema.String,
    code: Schema.String
  })
)
export type FileOp = typeof FileOp.Type

/**
 * One operation of the meter's SysfsReader (device/sysfsReader.ts) with what it returned: the
 * text of a sysfs file as read (untrimmed), a directory's entries, a resolved link, or the
 * failure with the reason and errno code the live run's error carried.
 */
export const SysfsOp = Schema.Union(
  Schema.Struct({ op: Schema.Literal("text"), path: Schema.String, text: Schema.String }),
  Schema.Struct({
    op: Schema.Literal("list"),
    path: Schema.String,
    entries: Schema.Array(
      Schema.Struct({ name: Schema.String, kind: Schema.Literal("directory", "symlink", "file") })
    )
  }),
  Schema.Struct({ op: Schema.Literal("realpath"), path: Schema.String, target: Schema.String }),
  Schema.Struct({
    op: Schema.Literal("failed"),
    of: Schema.Literal("text", "list", "realpath"),
    path: Schema.String,
    reason: Schema.String,
    code: Schema.optionalWith(Schema.String, { exact: true })
  })
)
export type SysfsOp = typeof SysfsOp.Type

/**
 * A sysfs meter (rapl, hwmon) as the recording built it: replay builds the same meter from the
 * same settings over the discovery's recorded operations, then reads its zones from each
 * refresh's `sysfs`. The model and fake meters read no sysfs; their readings are the refreshes'
 * `samples`.
 */
export const RecordedSysfsMeter = Schema.Struct({
  name: Schema.Literal("rapl", "hwmon"),
  settings: MeterSettings,
  discovery: Schema.Array(SysfsOp)
})
export type RecordedSysfsMeter = typeof RecordedSysfsMeter.Type

export const RecordingHeader = Schema.Struct({
  format: Schema.Literal(RECORDING_FORMAT),
  version: Schema.Int,
  recordedAt: Schema.Number,
  /** `host.procfs` as recorded: the scan's paths are built from it. */
  procfs: Schema.String,
  /** The cgroup mount when `monitor.shortLived` was `cgroup`. */
  cgroupfs: Schema.NullOr(Schema.String),
  zones: Schema.Array(ZoneMetaJson),
  primaryZone: Schema.Int,
  cpuInfo: Schema.Array(CpuInfoWire),
  /** Version 2: the sysfs meter and its discovery; absent for the model and fake meters. */
  sysfsMeter: Schema.optionalWith(RecordedSysfsMeter, { exact: true }),
  settings: Schema.Struct({
    maxPlausibleWatts: Schema.Number,
    maxTerminated: Schema.Number,
    minTerminatedEnergyThreshold: Schema.Number,
    idlePolicy: Schema.Literal(...IDLE_POLICIES),
    shortLived: Schema.Literal(...SHORT_LIVED_MODES),
    nodeName: Schema.String,
    metricsLevel: Schema.Array(Schema.Literal(...METRICS_LEVELS)),
    maxProcesses: Schema.Number
  })
})
export type RecordingHeader = typeof RecordingHeader.Type

/** What the pod informer answered for one of the reading's containers (k8s/podIndex.ts). */
export const RecordedPod = Schema.Struct({
  containerId: Schema.String,
  podId: Schema.String,
  podName: Schema.String,
  namespace: Schema.String,
  containerName: Schema.String,
  cpuRequestMillis: Schema.Number,
  podCpuRequestMillis: Schema.Number
})
export type RecordedPod = typeof RecordedPod.Type

export const RecordedRefresh = Schema.Struct({
  nowNanos: Schema.BigInt,
  timestamp: Schema.Number,
  clearTerminated: Schema.Boolean,
  selfPids: Schema.Array(Schema.Number),
  samples: Schema.Array(ZoneSampleJson),
  cpu: CpuTimesWire,
  /** Version 2: `/proc/stat` as read, which replay parses again (`cpu` is its figures). */
  procStat: Schema.optionalWith(Schema.String, { exact: true }),
  files: Schema.Array(FileOp),
  /** Version 2, with a sysfs meter: every operation of this refresh's zone reads. */
  sysfs: Schema.optionalWith(Schema.Array(SysfsOp), { exact: true }),
  /**
   * With Kubernetes on: the pods the informer found for the reading's containers (absent when
   * it was off). Version 1 files written before pods were recorded have none, and replay so.
   */
  pods: Schema.optionalWith(Schema.Array(RecordedPod), { exact: true })
})
export type RecordedRefresh = typeof RecordedRefresh.Type

export interface Recording {
  readonly header: RecordingHeader
  readonly refreshes: ReadonlyArray<RecordedRefresh>
}

const encodeHeader = Schema.encodeSync(Schema.parseJson(RecordingHeader))
const encodeRefresh = Schema.encodeSync(Schema.parseJson(RecordedRefresh))
const decodeHeader = Schema.decodeUnknownEither(Schema.parseJson(RecordingHeader))
const decodeRefresh = Schema.decodeUnknownEither(Schema.parseJson(RecordedRefresh))

export const headerLine = (h: RecordingHeader): string => `${encodeHeader(h)}\n`
export const refreshLine = (r: RecordedRefresh): string => `${encodeRefresh(r)}\n`

const firstIssue = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return "unknown problem"
  return issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message
}

/** The recording in `bytes` (gzip), or why it is not one this joulemon can replay. */
export const parseRecording = (bytes: Buffer): Either.Either<Recording, string> => {
  let text: string
  try {
    text = zlib.gunzipSync(bytes).toString("utf8")
  } catch (e) {
    return Either.left(`not a gzip-compressed recording (${e instanceof Error ? e.message : String(e)})`)
  }
  const lines = text.split("\n")
  if (lines.at(-1) === "") lines.pop()
  const first = lines[0]
  if (first === undefined) return Either.left("empty: no header line")
  // The version first, so a newer file is named as such rather than as malformed.
  const version = /"version":(\d+)/.exec(first)?.[1]
  if (version !== undefined && Number(version) > RECORDING_VERSION) {
    return Either.left(`format version ${version} is newer than this joulemon's ${RECORDING_VERSION}`)
  }
  const header = decodeHeader(first)
  if (Either.isLeft(header)) return Either.left(`line 1 (header): ${firstIssue(header.left)}`)
  const refreshes: Array<RecordedRefresh> = []
  for (let i = 1; i < lines.length; i++) {
    const refresh = decodeRefresh(lines[i])
    if (Either.isLeft(refresh)) return Either.left(`line ${i + 1}: ${firstIssue(refresh.left)}`)
    refreshes.push(refresh.right)
  }
  return Either.right({ header: header.right, refreshes })
}
