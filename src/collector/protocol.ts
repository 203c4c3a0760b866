/**
 * The messages between the monitor and its collector worker (a child process, see
 * workerCollector.ts), as Schema-typed requests for @effect/platform's Worker/WorkerRunner.
 *
 * Processes travel in columns (typed arrays and string arrays) rather than one object each:
 * structured clone copies a Float64Array of 10k ticks in one memcpy, and the Schema check of a
 * typed array is one `instanceof` (a string column one loop), where 10k structs would cost a
 * Schema walk per field.
 */
import * as Schema from "effect/Schema"
import { METER_NAMES } from "../config/Config.js"
import { MeterSettings } from "../device/meterSettings.js"
import type { ContainerRuntime, Hypervisor } from "../resource/types.js"

const typedArray = <T>(name: string, ctor: abstract new(...args: ReadonlyArray<never>) => T) =>
  Schema.declare((u: unknown): u is T => u instanceof ctor, { identifier: name })

const Int32Column = typedArray("Int32Array", Int32Array)
const Float64Column = typedArray("Float64Array", Float64Array)
const Uint8Column = typedArray("Uint8Array", Uint8Array)

/**
 * One string per process, checked in one loop. `Schema.Array(Schema.String)` runs a parser per
 * element: at 50k processes its decode of the four string columns took 34 ms (median) of the
 * monitor's event loop per refresh, this 2.3 ms (`npm run bench -- --only wire`).
 */
const StringColumn = Schema.declare(
  (u: unknown): u is ReadonlyArray<string> => Array.isArray(u) && u.every((s) => typeof s === "string"),
  { identifier: "StringColumn" }
)

/** True when every column has as many entries as the first, else `message`. */
const oneEntryEach = (columns: ReadonlyArray<ArrayLike<unknown>>, message: string): true | string =>
  columns.every((column) => column.length === columns[0]?.length) || message

/** Process types, in the order `ProcessColumns.type` codes them. */
export const PROCESS_TYPES = ["regular", "container", "vm"] as const

/** Container runtimes, in the order `ContainerColumns.runtime` codes them. */
export const CONTAINER_RUNTIMES = [
  "docker",
  "containerd",
  "crio",
  "podman",
  "kubernetes",
  "unknown"
] as const satisfies ReadonlyArray<
  ContainerRuntime
>
const HYPERVISORS = ["kvm", "xen", "virtualbox", "vmware"] as const satisfies ReadonlyArray<Hypervisor>

/** Running processes, one index per process, in pid order. */
export const ProcessColumns = Schema.Struct({
  pid: Int32Column,
  startTime: Float64Column,
  cpuTicksTotal: Float64Column,
  cpuTicksDelta: Float64Column,
  /** Index into PROCESS_TYPES. */
  type: Uint8Column,
  /** 1 on the first refresh that saw the incarnation. */
  firstSeen: Uint8Column,
  comm: StringColumn,
  exe: StringColumn,
  containerId: StringColumn,
  vmId: StringColumn
}).pipe(
  Schema.filter((c) => oneEntryEach(Object.values(c), "every process column must have one entry per pid"))
)
export type ProcessColumns = typeof ProcessColumns.Type

/**
 * Running containers in columns, like the processes: a node can run 10k of them, and a Schema
 * Struct per container cost the monitor's event loop ~60 ms of decoding per refresh at 50k
 * processes (a CPU profile of `npm run bench -- --only health`).
 */
export const ContainerColumns = Schema.Struct({
  id: StringColumn,
  name: StringColumn,
  /** Index into CONTAINER_RUNTIMES. */
  runtime: Uint8Column,
  podId: StringColumn
}).pipe(
  Schema.filter((c) => oneEntryEach(Object.values(c), "every container column must have one entry per id"))
)
export type ContainerColumns = typeof ContainerColumns.Type

export const VmWire = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  hypervisor: Schema.Literal(...HYPERVISORS)
})

export const CpuTimesWire = Schema.Struct({
  activeTicks: Schema.Number,
  totalTicks: Schema.Number,
  cpuCount: Schema.Number
})

/** A running container's cgroup usage sample (resource/types.ts ContainerCgroup), with its id. */
export const ContainerCgroupWire = Schema.Struct({
  id: Schema.String,
  version: Schema.Literal(1, 2),
  hierarchy: Schema.String,
  path: Schema.String,
  usageUsec: Schema.Number,
  ticks: Schema.NullOr(Schema.Number)
})
export type ContainerCgroupWire = typeof ContainerCgroupWire.Type

/** What a fresh worker starts from, so that it books deltas against what was already booked. */
export const CollectorSeed = Schema.Struct({
  processes: ProcessColumns,
  containers: ContainerColumns,
  vms: Schema.Array(VmWire),
  cpu: Schema.NullOr(CpuTimesWire),
  /** The last cgroup samples, so the successor's first cgroup deltas cover the missed interval. */
  cgroups: Schema.Array(ContainerCgroupWire)
})
export type CollectorSeed = typeof CollectorSeed.Type

export const ZoneMetaWire = Schema.Struct({
  name: Schema.String,
  index: Schema.Number,
  path: Schema.String,
  estimated: Schema.Boolean,
  maxEnergy: Schema.BigIntFromSelf
})

export const CpuInfoWire = Schema.Struct({
  processor: Schema.String,
  vendorId: Schema.String,
  modelName: Schema.String,
  physicalId: Schema.String,
  coreId: Schema.String
})

export const InitResult = Schema.Struct({
  zones: Schema.Array(ZoneMetaWire),
  cpuInfo: Schema.Array(CpuInfoWire)
})
export type InitResult = typeof InitResult.Type

/** The worker could not build the meter or read `/proc` at start. */
export class WorkerSetupError extends Schema.TaggedError<WorkerSetupError>()("WorkerSetupError", {
  reason: Schema.String
}) {}

/** `<procfs>/stat` or the listing of `<procfs>` failed: the refresh has no node reading. */
export class WorkerScanError extends Schema.TaggedError<WorkerScanError>()("WorkerScanError", {
  path: Schema.String,
  reason: Schema.String
}) {}

export class Init extends Schema.TaggedRequest<Init>()("Init", {
  failure: WorkerSetupError,
  success: InitResult,
  payload: {
    meter: Schema.Literal(...METER_NAMES),
    settings: MeterSettings,
    parallelism: Schema.Number,
    /** The cgroup mount when `monitor.shortLived` is `cgroup`; null reads no cgroup. */
    cgroupfs: Schema.NullOr(Schema.String),
    /** The most processes one `ProcessesPart` of a collection carries (PROCESSES_PER_PART). */
    processesPerPart: Schema.Int.pipe(Schema.positive()),
    seed: Schema.NullOr(CollectorSeed)
  }
}) {}

const ZoneReadingWire = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Energy"), microjoules: Schema.BigIntFromSelf }),
  Schema.Struct({ _tag: Schema.Literal("Power"), microwatts: Schema.Number })
)

export const ZoneSampleWire = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Read"), reading: ZoneReadingWire, atNanos: Schema.BigIntFromSelf }),
  Schema.Struct({ _tag: Schema.Literal("Failed"), error: Schema.String })
)

const ProcFileWire = Schema.Literal("stat", "comm", "exe", "cgroup", "cmdline", "environ")

/** One collection's reading but its processes, which follow in `ProcessesPart`s. */
export const CollectSummary = Schema.TaggedStruct("Summary", {
  samples: Schema.Array(ZoneSampleWire),
  node: Schema.Struct({
    first: Schema.Boolean,
    activeTicks: Schema.Number,
    totalTicks: Schema.Number,
    usageRatio: Schema.Number,
    cpuCount: Schema.Number
  }),
  cpu: CpuTimesWire,
  /** How many processes the `ProcessesPart`s carry in all, so that a lost part is an error. */
  processCount: Schema.Number,
  containers: ContainerColumns,
  vms: Schema.Array(VmWire),
  terminated: Schema.Struct({
    processes: StringColumn,
    containers: Schema.Array(Schema.String),
    vms: Schema.Array(Schema.String)
  }),
  stats: Schema.Struct({
    processesScanned: Schema.Number,
    processesVanished: Schema.Number,
    unreadableFiles: Schema.Number
  }),
  /** Null unless `monitor.shortLived` is `cgroup`. */
  cgroups: Schema.NullOr(Schema.Array(ContainerCgroupWire)),
  /** Files to log as unreadable (first time per process and file); the monitor logs them. */
  unreadable: Schema.Array(
    Schema.Struct({ pid: Schema.Number, key: Schema.String, file: ProcFileWire, reason: Schema.String })
  ),
  /** The skipped pids that are still listed under `<procfs>`. */
  skippedListed: Schema.Array(Schema.Number),
  scanSeconds: Schema.Number
})
export type CollectSummary = typeof CollectSummary.Type

/** The next run of processes in pid order (at most PROCESSES_PER_PART). */
export const ProcessesPart = Schema.TaggedStruct("Processes", { processes: ProcessColumns })
export type ProcessesPart = typeof ProcessesPart.Type

/**
 * A collection arrives as a stream: its summary, then its processes in parts. Node decodes an
 * IPC message in one go on the receiving event loop; at 50k processes the reading as one
 * message held joulemon's for 185–268 ms (a CPU profile's `parseChannelMessages`), stalling
 * `/healthz`. Parts keep each decode short, and the event loop serves requests between them.
 */
export const CollectPart = Schema.Union(CollectSummary, ProcessesPart)
export type CollectPart = typeof CollectPart.Type

/** Processes per `ProcessesPart`: ~0.2 MB of message, a few ms to decode. */
export const PROCESSES_PER_PART = 2048

export class Collect extends Schema.TaggedRequest<Collect>()("Collect", {
  failure: WorkerScanError,
  /** Each element of the stream the worker answers with (CollectPart). */
  success: CollectPart,
  payload: {
    /** Pids whose files hung a previous worker: reported as last seen, never read again. */
    skip: Schema.Array(Schema.Number),
    /** Zone paths whose reads hung a previous worker: reported as failed, never read again. */
    skipZones: Schema.Array(Schema.String)
  }
}) {}

export const CollectorRequest = Schema.Union(Init, Collect)
export type CollectorRequest = typeof CollectorRequest.Type
