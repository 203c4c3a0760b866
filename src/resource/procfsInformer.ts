/**
 * The procfs ResourceInformer (DESIGN.md §2, kepler-behaviour.md §4): every refresh lists
 * `<procfs>`, reads each process (procfsScan.ts), and assembles one reading (assembleReading.ts)
 * against the state of the previous refresh, which lives in a Ref owned by this instance.
 *
 * Only `<procfs>/stat` (or the listing of `<procfs>` itself) failing fails a refresh; a
 * process that vanishes or has unreadable files never does.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { AppConfig } from "../config/Config.js"
import {
  assembleReading,
  type CgroupSample,
  containerCgroupRefs,
  type InformerState,
  initialInformerState,
  type UnreadableEvent
} from "./assembleReading.js"
import { makeNamespaceRoots, type NamespaceRoots } from "./cgroupNamespace.js"
import { type CgroupUsage, readCgroupUsage, usageFile } from "./cgroupUsage.js"
import { readCpuInfo } from "./cpuinfo.js"
import {
  makeScanContext,
  reportUnread,
  type ScanContext,
  type ScanOutcome,
  scanProcess,
  type TrackedProcess
} from "./procfsScan.js"
import { errorCode, nodeProcReader, type ProcFile, type ProcReader } from "./procReader.js"
import { type CpuTimes, readCpuTimes } from "./procStat.js"
import { ResourceError, ResourceInformer, type ResourceInformerShape } from "./ResourceInformer.js"
import type { CpuInfoEntry, ResourceReading } from "./types.js"

export interface ProcfsInformerOptions {
  readonly procfs: string
  /** `monitor.parallelism`: how many 512-pid batches are read between two event-loop turns. */
  readonly parallelism: number
  /** The file operations; tests inject failures through this. */
  readonly reader?: ProcReader
  /** Where a replacement collector worker resumes (collector/wire.ts); a fresh start otherwise. */
  readonly seed?: InformerState
  /**
   * The cgroup mount (`<host.sysfs>/fs/cgroup`) when `monitor.shortLived` is `cgroup`: every
   * running container's cgroup usage is read there each scan. Absent: no cgroup is read.
   */
  readonly cgroupfs?: string
  /**
   * `/proc/stat` and `/proc/cpuinfo` from elsewhere than `<procfs>` (a replayed recording,
   * src/record/): the figures each scan takes its node deltas against, and the CPUs.
   */
  readonly cpu?: {
    readonly times: Effect.Effect<CpuTimes, ResourceError>
    readonly info: ReadonlyArray<CpuInfoEntry>
  }
}

/** One scan: the reading, plus what the collector worker sends back beside it. */
export interface ScanResult {
  readonly reading: ResourceReading
  /** The /proc/stat sample the node deltas were taken against, for seeding a successor. */
  readonly cpu: CpuTimes
  /** Unreadable files to log (each process and file once). */
  readonly toLog: ReadonlyArray<UnreadableEvent>
  /** The pids asked to be skipped that are still listed. */
  readonly skippedListed: ReadonlyArray<number>
}

export interface ProcfsScanner {
  /** `skip`: pids whose files are not to be read (reported as last seen, idle). */
  readonly scan: (skip: ReadonlySet<number>) => Effect.Effect<ScanResult, ResourceError>
  readonly cpuInfo: ReadonlyArray<CpuInfoEntry>
}

/**
 * How `monitor.parallelism` applies to a scan whose reads are synchronous (procReader.ts has
 * the figures that made them so). Fibers cannot overlap synchronous calls, so instead of
 * forking, the scan runs in slices of `parallelism × 512` pids and yields to Node's event loop
 * (`setImmediate`) before each: an HTTP scrape or a probe waits for one slice, not for the
 * whole scan (a first scan of 50k processes takes seconds). 1 is the most responsive; a larger
 * value makes fewer, longer slices. Measured with `scripts/bench-scan.ts` (2 cores, tmpfs trees;
 * "held" = the longest the event loop went without a turn during the refresh):
 *   10k processes, parallelism 1: steady refresh 58 ms, held ≤ 11 ms; first scan 380 ms, ≤ 37 ms
 *   10k processes, parallelism 8: steady refresh 60 ms, held ≤ 37 ms; first scan 300 ms, ≤ 119 ms
 *   50k processes, parallelism 1: steady refresh 278 ms, held ≤ 43 ms (the unsliced listing of
 *   the directory and assembly of the reading account for most of that).
 * (Forking up to `parallelism` fibers over 512-pid batches, tried first, read the same
 * files in the same time but added scheduler hops, and held the loop as long.) The reading is
 * the same for any value: outcomes are collected in pid order.
 */
const PIDS_PER_SLICE_UNIT = 512

/** Lets Node's event loop run (I/O callbacks, timers) before the next slice. */
const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** `/^[1-9][0-9]*$/`: procfs names its process directories by pid, nothing else is a pid. */
const pidOf = (name: string): number => {
  const first = name.charCodeAt(0)
  if (first < 0x31 || first > 0x39) return -1
  for (let i = 1; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return -1
  }
  return Number(name)
}

const listPids = (ctx: ScanContext): Effect.Effect<Int32Array, ResourceError> =>
  Effect.try({
    try: () => {
      const names = ctx.reader.readDir(ctx.procfs)
      const pids = new Int32Array(names.length)
      let n = 0
      for (const name of names) {
        const pid = pidOf(name)
        if (pid > 0) pids[n++] = pid
      }
      // Sorted here, so every later step sees pid order whatever order readdir used. (pid_max
      // is at most 2^22; a typed array sorts numerically without a comparator call per pair.)
      return pids.subarray(0, n).sort()
    },
    catch: (e) => new ResourceError({ path: ctx.procfs, reason: `cannot list processes: ${errorCode(e)}` })
  })

/** Scans `pids[start, end)`, appending to `into` (pid order) and skipped pids to `skipped`. */
const scanSlice = (
  ctx: ScanContext,
  known: ReadonlyMap<number, TrackedProcess>,
  skip: ReadonlySet<number>,
  pids: Int32Array,
  start: number,
  end: number,
  into: Array<ScanOutcome>,
  skipped: Array<number>
): void => {
  for (let i = start; i < end; i++) {
    const pid = pids[i] ?? 0
    const before = known.get(pid)
    if (skip.size > 0 && skip.has(pid)) {
      skipped.push(pid)
      if (before !== undefined) into.push(reportUnread(before))
      continue
    }
    into.push(scanProcess(ctx, pid, before))
  }
}

/**
 * Why a file is unreadable is expected for environ, cmdline and exe when not running as root
 * (they need ptrace access); those only cost names and exe labels, so they are debug lines.
 * stat, comm and cgroup are world-readable: failing to read them is worth a warning.
 */
const expectedWithoutPrivileges = (file: ProcFile): boolean =>
  file === "environ" || file === "cmdline" || file === "exe"

/**
 * Reads the usage of every running container's cgroup (one small file each), at its path in
 * the host's tree. A container whose path cannot be resolved there is left out.
 */
const readCgroupSample = (
  ctx: ScanContext,
  cgroupfs: string,
  roots: NamespaceRoots,
  prev: InformerState,
  outcomes: ReadonlyArray<ScanOutcome>
): CgroupSample => {
  const refs = containerCgroupRefs(prev, outcomes, roots.resolve)
  const usage = new Map<string, CgroupUsage>()
  for (const [id, ref] of refs) usage.set(id, readCgroupUsage(ctx.reader, ctx.scratch, cgroupfs, ref))
  return { refs, usage }
}

/**
 * A cgroup usage that could not be read leaves that container without a short-lived share this
 * interval (its next sample is a baseline). ENOENT is the container stopping during the scan;
 * anything else is worth a debug line (it recurs every scan, so not a warning).
 */
const logCgroupFailures = (cgroupfs: string, sample: CgroupSample | undefined): Effect.Effect<void> =>
  sample === undefined ? Effect.void : Effect.forEach(sample.usage, ([id, usage]) => {
    const ref = sample.refs.get(id)
    if (!("error" in usage) || usage.error === "ENOENT" || ref === undefined) return Effect.void
    return Effect.logDebug(
      `cannot read the CPU usage of container ${id}'s cgroup at ${
        usageFile(cgroupfs, ref)
      } (${usage.error}); no short-lived share this interval`
    )
  }, { discard: true })

const logUnreadable = (event: UnreadableEvent): Effect.Effect<void> => {
  const message =
    `cannot read ${event.file} of process ${event.pid} (${event.reason}); reporting it with what was readable`
  return (expectedWithoutPrivileges(event.file) ? Effect.logDebug(message) : Effect.logWarning(message)).pipe(
    Effect.annotateLogs({ pid: event.pid, file: event.file, reason: event.reason })
  )
}

export const makeProcfsScanner = (options: ProcfsInformerOptions): Effect.Effect<ProcfsScanner, ResourceError> =>
  Effect.gen(function*() {
    const procfs = options.procfs
    const parallelism = Math.max(1, Math.floor(options.parallelism))
    const ctx = makeScanContext(procfs, options.reader ?? nodeProcReader)
    const cpuTimes = options.cpu?.times ?? readCpuTimes(procfs)
    // Fail at startup, with the file named, rather than on the first refresh.
    if (options.cpu === undefined) yield* cpuTimes
    const cpuInfo = options.cpu?.info ?? (yield* readCpuInfo(procfs))
    const state = yield* Ref.make(options.seed ?? initialInformerState)
    const roots = makeNamespaceRoots(ctx.reader, ctx.scratch, procfs, options.cgroupfs ?? "")
    // The scratch buffer and the state belong to one refresh at a time.
    const lock = yield* Effect.makeSemaphore(1)

    const scan = Effect.fn("ResourceInformer.refresh")(function*(skip: ReadonlySet<number>) {
      const prev = yield* Ref.get(state)
      const cpu = yield* cpuTimes
      const pids = yield* listPids(ctx)
      const outcomes: Array<ScanOutcome> = []
      const skippedListed: Array<number> = []
      const slice = PIDS_PER_SLICE_UNIT * parallelism
      for (let start = 0; start < pids.length; start += slice) {
        yield* yieldToEventLoop
        const end = Math.min(pids.length, start + slice)
        yield* Effect.sync(() => scanSlice(ctx, prev.processes, skip, pids, start, end, outcomes, skippedListed))
      }
      const cgroupfs = options.cgroupfs
      const cgroups = cgroupfs === undefined
        ? undefined
        : yield* Effect.sync(() => readCgroupSample(ctx, cgroupfs, roots, prev, outcomes))
      if (cgroupfs !== undefined) yield* logCgroupFailures(cgroupfs, cgroups)
      const { next, reading, toLog } = assembleReading(prev, cpu, outcomes, cgroups)
      yield* Ref.set(state, next)
      yield* Effect.annotateCurrentSpan({
        processes: reading.processes.length,
        vanished: reading.stats.processesVanished,
        unreadableFiles: reading.stats.unreadableFiles
      })
      return { reading, cpu, toLog, skippedListed } satisfies ScanResult
    })

    yield* Effect.logDebug("procfs informer ready").pipe(
      Effect.annotateLogs({ procfs, parallelism, cpus: cpuInfo.length })
    )
    return { scan: (skip) => lock.withPermits(1)(scan(skip)), cpuInfo } satisfies ProcfsScanner
  })

const NOTHING_SKIPPED: ReadonlySet<number> = new Set()

/** The scanner option that turns cgroup reading on, from `monitor.shortLived`. */
export const cgroupfsOption = (
  config: { readonly host: { readonly sysfs: string }; readonly monitor: { readonly shortLived: string } }
): { readonly cgroupfs?: string } =>
  config.monitor.shortLived === "cgroup" ? { cgroupfs: `${config.host.sysfs}/fs/cgroup` } : {}

/** Logs what a scan found unreadable, through the caller's logger. */
export const logUnreadableFiles = (events: ReadonlyArray<UnreadableEvent>): Effect.Effect<void> =>
  Effect.forEach(events, logUnreadable, { discard: true })

export const makeProcfsInformer = (
  options: ProcfsInformerOptions
): Effect.Effect<ResourceInformerShape, ResourceError> =>
  Effect.map(makeProcfsScanner(options), (scanner) => ({
    refresh: scanner.scan(NOTHING_SKIPPED).pipe(
      Effect.tap((r) => logUnreadableFiles(r.toLog)),
      Effect.map((r) => r.reading)
    ),
    cpuInfo: scanner.cpuInfo
  }))

/** The informer over `host.procfs`; `monitor.parallelism` sizes its scan slices. */
export const ResourceInformerLive: Layer.Layer<ResourceInformer, ResourceError, AppConfig> = Layer.effect(
  ResourceInformer,
  Effect.flatMap(
    AppConfig,
    (config) =>
      makeProcfsInformer({
        procfs: config.host.procfs,
        parallelism: config.monitor.parallelism,
        ...cgroupfsOption(config)
      })
  )
)
