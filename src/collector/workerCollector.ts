/**
 * The collector in a worker process (worker.ts), so that no file read — a FIFO in a test tree,
 * a `/proc/<pid>/cmdline` of a process stuck on a hung NFS mount — can block joulemon's event
 * loop and with it `/metrics`, `/healthz` and `/readyz`.
 *
 * Each collection has a deadline. When the worker misses it, the file it is blocked on is found
 * from outside (stuckPath.ts), the worker is SIGKILLed and abandoned, and that process (or
 * zone) is never read again: the next worker reports the process as last seen until it exits.
 * The next worker starts from the last good reading (its seed), so its first reading books
 * every tick since — no energy is lost and no counter goes back.
 *
 * Messages are Schema-typed requests over @effect/platform's Worker, carried by Node's IPC with
 * structured-clone serialisation (bigints and typed arrays travel as they are). A collection
 * comes back as a stream of parts (protocol.ts CollectPart) so that no one message is large.
 */
// Module paths, not the packages' index, which loads every module of the package (HTTP API
// docs, cluster, RPC, SQL…) into the daemon.
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Worker from "@effect/platform/Worker"
import type * as WorkerError from "@effect/platform/WorkerError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type ChildProcess, fork } from "node:child_process"
import { getPriority, setPriority } from "node:os"
import type { MeterName } from "../config/Config.js"
import { formatDuration } from "../config/duration.js"
import type { CpuPowerMeterShape } from "../device/CpuPowerMeter.js"
import type { MeterSettings } from "../device/meterSettings.js"
import { siblingEntry } from "../installLayout.js"
import type { ZoneSample } from "../monitor/nodeEnergy.js"
import { SHIPPED_NODE_FLAGS } from "../nodeFlags.js"
import { logUnreadableFiles } from "../resource/procfsInformer.js"
import type { CpuTimes } from "../resource/procStat.js"
import type { ResourceReading } from "../resource/types.js"
import { type Collected, CollectorError, type CollectorShape, type StuckFile } from "./Collector.js"
import {
  Collect,
  type CollectorRequest,
  type CollectSummary,
  Init,
  type InitResult,
  PROCESSES_PER_PART,
  type WorkerScanError,
  type WorkerSetupError
} from "./protocol.js"
import { findStuckFile } from "./stuckPath.js"
import { collectionAssembler, readingFromWire, seedFrom } from "./wire.js"

export interface WorkerCollectorOptions {
  /** The meter the main thread selected: the worker must build the same zones. */
  readonly meter: CpuPowerMeterShape
  readonly meterName: MeterName
  readonly settings: MeterSettings
  readonly parallelism: number
  /** The cgroup mount when `monitor.shortLived` is `cgroup` (procfsInformer.ts cgroupfsOption). */
  readonly cgroupfs?: string
  /** How long one collection may take before the worker is declared stuck. */
  readonly deadline: Duration.Duration
  /** The same for a new worker's start and first collection (process start, cold caches). */
  readonly startDeadline: Duration.Duration
  /** Applied to every reading on this side (pod attribution). */
  readonly enrich: (reading: ResourceReading) => Effect.Effect<ResourceReading>
  /** The most processes per message of a collection; PROCESSES_PER_PART by default. */
  readonly processesPerPart?: number
  /** The worker script; worker.js (or worker.ts under tsx) beside this module by default. */
  readonly script?: string
}

/** At least this long per collection: a 50k-process scan takes ~2 s on a small node. */
export const MIN_COLLECT_DEADLINE = Duration.seconds(5)

/** `max(5 s, monitor.interval)`: a refresh may take as long as the interval it serves. */
export const collectDeadlineFor = (interval: Duration.Duration): Duration.Duration =>
  Duration.max(MIN_COLLECT_DEADLINE, interval)

interface Generation {
  readonly child: ChildProcess
  readonly worker: Worker.SerializedWorker<CollectorRequest>
  readonly scope: Scope.CloseableScope
  readonly collected: number
}

interface Seed {
  /** The last good reading before pod attribution (the worker knows nothing of pods). */
  readonly reading: ResourceReading
  readonly cpu: CpuTimes
}

const defaultScript = (): string => siblingEntry(import.meta.url, "worker")

/**
 * The worker's niceness above joulemon's. The scan is background work and `/healthz` is not: on
 * a 2-vCPU node a 50k-process scan, the rendering of a scrape and its gzip run at once, and the
 * main thread waited for a core. CFS weighs a nice-10 task at about a tenth of a nice-0 one, and
 * under cgroup scheduling (a systemd unit, a container) only against joulemon's own threads, so
 * the worker still gets every core the main thread leaves idle.
 */
export const WORKER_NICENESS = 10

const spawnChild = (script: string): ChildProcess => {
  const child = fork(script, [], {
    serialization: "advanced",
    // The worker's stdout is joulemon's stderr: its logs must never mix with the stdout view.
    stdio: ["ignore", 2, 2, "ipc"],
    execArgv: [...(script.endsWith(".ts") ? ["--import", "tsx"] : []), ...SHIPPED_NODE_FLAGS]
  })
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, Math.min(19, getPriority(process.pid) + WORKER_NICENESS))
    } catch {
      // Raising a niceness is always allowed; a worker already gone is reported by the Worker.
    }
  }
  return child
}

/** SIGKILL now; a stuck worker has nothing worth a graceful stop, and must not hold exit. */
const abandon = (child: ChildProcess): Effect.Effect<void> =>
  Effect.sync(() => {
    child.kill("SIGKILL")
    if (child.connected) child.disconnect()
    child.unref()
  })

const sameZones = (meter: CpuPowerMeterShape, init: InitResult): Option.Option<string> => {
  const ours = meter.zones.map((z) => `${z.name}#${z.index}@${z.path}`)
  const theirs = init.zones.map((z) => `${z.name}#${z.index}@${z.path}`)
  return ours.join(",") === theirs.join(",")
    ? Option.none()
    : Option.some(`the collector worker found zones [${theirs.join(", ")}] where joulemon found [${ours.join(", ")}]`)
}

const samplesFromWire = (result: CollectSummary): ReadonlyArray<ZoneSample> =>
  result.samples.map((s): ZoneSample =>
    s._tag === "Failed"
      ? s
      : {
        _tag: "Read",
        reading: s.reading._tag === "Energy"
          ? { _tag: "Energy", microjoules: s.reading.microjoules }
          : { _tag: "Power", microwatts: s.reading.microwatts },
        atNanos: s.atNanos
      }
  )

const describeStuck = (stuck: Option.Option<StuckFile>): string =>
  Option.match(stuck, {
    onNone: () => "the file it was reading could not be determined",
    onSome: (s) =>
      s.pid === undefined
        ? `it was blocked reading ${s.path}; that file is not read again`
        : `it was blocked reading ${s.path} (pid ${s.pid}); that process is reported, not re-read, until it exits`
  })

type RequestError = WorkerError.WorkerError | ParseResult.ParseError | WorkerSetupError | WorkerScanError

export const makeWorkerCollector = (
  options: WorkerCollectorOptions
): Effect.Effect<CollectorShape, CollectorError, Scope.Scope> =>
  Effect.gen(function*() {
    const script = options.script ?? defaultScript()
    const roots = { procfs: options.settings.procfs, sysfs: options.settings.sysfs }
    const current = yield* Ref.make(Option.none<Generation>())
    const seed = yield* Ref.make(Option.none<Seed>())
    const skip = yield* Ref.make<ReadonlySet<number>>(new Set())
    const skipZones = yield* Ref.make<ReadonlySet<string>>(new Set())
    const lock = yield* Effect.makeSemaphore(1)

    // On shutdown the worker is killed at once: a stuck one would otherwise hold SIGTERM's exit.
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Ref.get(current), (g) =>
        Option.match(g, {
          onNone: () => Effect.void,
          onSome: (gen) =>
            abandon(gen.child).pipe(Effect.zipRight(Scope.close(gen.scope, Exit.void)), Effect.forkDaemon)
        }))
    )

    const retire = (gen: Generation) =>
      abandon(gen.child).pipe(
        Effect.zipRight(Ref.set(current, Option.none())),
        // The Worker's own finalizer waits for the exit event; never on the refresh's path.
        Effect.zipRight(Effect.forkDaemon(Scope.close(gen.scope, Exit.void)))
      )

    /** Called when `gen` missed a deadline: find what it hangs on, skip that, retire it. */
    const stuck = (gen: Generation, what: string, deadline: Duration.Duration) =>
      Effect.gen(function*() {
        const pid = gen.child.pid
        const file = pid === undefined ? Option.none<StuckFile>() : yield* findStuckFile(pid, roots)
        yield* retire(gen)
        if (Option.isSome(file)) {
          const f = file.value
          if (f.pid !== undefined) {
            const stuckPid = f.pid
            yield* Ref.update(skip, (s) => new Set([...s, stuckPid]))
          } else if (options.meter.zones.some((z) => z.path === f.path)) {
            yield* Ref.update(skipZones, (s) => new Set([...s, f.path]))
          }
        }
        const reason = `the collector worker missed its ${formatDuration(deadline)} deadline ${what}: ${
          describeStuck(file)
        }; a new worker takes over`
        yield* Effect.logWarning(reason).pipe(
          Effect.annotateLogs(Option.match(file, { onNone: () => ({}), onSome: (f) => ({ ...f }) }))
        )
        return new CollectorError(Option.isSome(file) ? { reason, stuck: file.value } : { reason })
      })

    const failed = (gen: Generation, e: RequestError, what: string) =>
      Effect.gen(function*() {
        // A worker that exited or sent what we cannot decode is not trusted again.
        if (e._tag === "WorkerError" || e._tag === "ParseError") yield* retire(gen)
        return new CollectorError({ reason: `the collector worker failed ${what}: ${e.message}` })
      })

    /** A deadline on `effect`; on a miss, the worker is retired and the error names the file. */
    const bounded = <A>(
      gen: Generation,
      effect: Effect.Effect<A, RequestError>,
      deadline: Duration.Duration,
      what: string
    ): Effect.Effect<A, CollectorError> =>
      effect.pipe(
        // A request to a stuck worker cannot be interrupted in step (the worker never answers):
        // let it end in the background, when the retired worker's exit fails it. Interruptible
        // whatever region the caller runs in, or the deadline would wait for it.
        Effect.interruptible,
        Effect.disconnect,
        Effect.timeoutFail({ duration: deadline, onTimeout: () => "deadline" as const }),
        Effect.catchAll((e) =>
          Effect.flatMap(e === "deadline" ? stuck(gen, what, deadline) : failed(gen, e, what), Effect.fail)
        )
      )

    const spawn = Effect.gen(function*() {
      const scope = yield* Scope.make()
      const child = spawnChild(script)
      const worker = yield* Worker.makeSerialized<CollectorRequest>({}).pipe(
        Effect.provide(NodeWorker.layer(() => child)),
        Scope.extend(scope),
        Effect.mapError((e) =>
          new CollectorError({ reason: `cannot start the collector worker ${script}: ${e.message}` })
        ),
        Effect.tapError(() => abandon(child).pipe(Effect.zipRight(Scope.close(scope, Exit.void))))
      )
      const gen: Generation = { child, worker, scope, collected: 0 }
      const start = Option.getOrNull(yield* Ref.get(seed))
      const init = yield* bounded(
        gen,
        worker.executeEffect(
          new Init({
            meter: options.meterName,
            settings: options.settings,
            parallelism: options.parallelism,
            cgroupfs: options.cgroupfs ?? null,
            processesPerPart: options.processesPerPart ?? PROCESSES_PER_PART,
            seed: start === null ? null : seedFrom(start.reading, start.cpu)
          })
        ),
        options.startDeadline,
        "while starting"
      )
      const mismatch = sameZones(options.meter, init)
      if (Option.isSome(mismatch)) {
        yield* retire(gen)
        return yield* new CollectorError({ reason: mismatch.value })
      }
      yield* Ref.set(current, Option.some(gen))
      yield* Effect.logDebug("collector worker started").pipe(Effect.annotateLogs({ pid: child.pid ?? 0 }))
      return { gen, init }
    })

    const first = yield* spawn
    const cpuInfo = first.init.cpuInfo

    const collectOnce = Effect.gen(function*() {
      const gen = yield* Option.match(yield* Ref.get(current), {
        onNone: () => Effect.map(spawn, (s) => s.gen),
        onSome: Effect.succeed
      })
      const request = new Collect({ skip: [...(yield* Ref.get(skip))], skipZones: [...(yield* Ref.get(skipZones))] })
      const deadline = gen.collected === 0 ? options.startDeadline : options.deadline
      const assembler = collectionAssembler()
      yield* bounded(
        gen,
        Stream.runForEach(gen.worker.execute(request), (part) => Effect.sync(() => assembler.add(part))),
        deadline,
        "while collecting"
      )
      const collection = assembler.result()
      if (typeof collection === "string") {
        yield* retire(gen)
        return yield* new CollectorError({ reason: `the collector worker failed while collecting: ${collection}` })
      }
      const { summary: result, processes } = collection
      yield* Ref.set(current, Option.some({ ...gen, collected: gen.collected + 1 }))
      // A skipped pid that is no longer listed has exited; a new process may take the number.
      yield* Ref.set(skip, new Set(result.skippedListed))
      yield* logUnreadableFiles(result.unreadable)
      const raw = readingFromWire(result, processes)
      yield* Ref.set(seed, Option.some({ reading: raw, cpu: result.cpu }))
      const reading = yield* options.enrich(raw)
      const selfPids = gen.child.pid === undefined ? [process.pid] : [process.pid, gen.child.pid]
      return {
        samples: samplesFromWire(result),
        reading,
        scanSeconds: result.scanSeconds,
        selfPids
      } satisfies Collected
    })

    return {
      cpuInfo,
      collect: lock.withPermits(1)(collectOnce).pipe(Effect.annotateLogs({ component: "collector" }))
    } satisfies CollectorShape
  })
