/**
 * `joulemon measure -- CMD ARGS…`: runs one command and reports the energy it caused, like
 * `perf stat` for joules.
 *
 * The monitor is the daemon's own (app.ts `CoreLive`, built from the same config file and
 * flags), driven here instead of by its loop: one reading just before the command starts, one
 * every `--interval` while it runs, one just after it exits. Between readings the process table
 * is scanned for the command's tree (processTree.ts), so the share is the exact attribution the
 * exporter books to those processes — nothing is re-estimated here.
 *
 * The command's stdin, stdout and stderr are joulemon's; the report goes to stderr. SIGINT,
 * SIGTERM and SIGHUP are forwarded to the command, and joulemon waits for it and reports; if
 * measure is interrupted otherwise (its scope closed), the command is terminated with it.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { CoreLive } from "../app.js"
import { AppConfig, type JoulemonConfig, type LogLevelName } from "../config/Config.js"
import type { LoadedConfig } from "../config/load.js"
import { CpuPowerMeter } from "../device/CpuPowerMeter.js"
import { FatalLive } from "../Fatal.js"
import { loggerLayer } from "../logging.js"
import { PowerMonitor } from "../monitor/PowerMonitor.js"
import type { Snapshot } from "../monitor/snapshot.js"
import { type CommandNotStarted, runCommand, type RunningCommand } from "./command.js"
import { MeasureFailed, MeasureFinished, type MeasureOutput } from "./outputs.js"
import { initialTree, type ProcessTree, trackTree } from "./processTree.js"
import { readOwnChildTicks, readProcessTable } from "./processTreeRead.js"
import {
  type MeasureReport,
  measureReport,
  type MemberLedger,
  recordMembers,
  renderHuman,
  renderJson
} from "./report.js"

// Defined apart (outputs.ts) so the CLI and main.ts need not load this module; exported here too.
export { MEASURE_OUTPUTS, MeasureFailed, MeasureFinished, type MeasureOutput } from "./outputs.js"

export interface MeasureOptions {
  readonly command: readonly [string, ...ReadonlyArray<string>]
  readonly interval: Duration.Duration
  readonly output: MeasureOutput
  /** --log.level when given on the command line. */
  readonly logLevel?: LogLevelName | undefined
}

export const FORWARDED_SIGNALS: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM", "SIGHUP"]

/**
 * The daemon's configuration with what measure must not do: no periodic loop (measure drives
 * the readings), no checkpoint (the daemon's counters are not ours to overwrite), no
 * Kubernetes lookups (a process's pod changes nothing in a command's share).
 */
export const measureConfig = (config: JoulemonConfig): JoulemonConfig => ({
  ...config,
  monitor: { ...config.monitor, interval: Duration.zero, stateDir: "" },
  kube: { ...config.kube, enabled: false }
})

/**
 * Logs go to stderr (stdout is the command's), errors only unless --log.level is given or the
 * file asks for debug: the report already says what the daemon's startup warnings would (the
 * meter is estimated, a reading failed), and they would bury it.
 */
const measureLogger = (config: JoulemonConfig, given: LogLevelName | undefined) =>
  loggerLayer({
    log: { ...config.log, level: given ?? (config.log.level === "debug" ? "debug" : "error") },
    exporter: { ...config.exporter, stdout: { enabled: true } }
  })

interface Progress {
  readonly tree: ProcessTree
  readonly ledger: MemberLedger
  readonly last: Snapshot
  readonly readings: number
  readonly failedReadings: number
}

/**
 * While the scope is open, these signals go to the command and do nothing else here: the
 * listeners already installed (NodeRuntime.runMain's, which interrupt the main fiber on SIGINT
 * and SIGTERM) are set aside and put back when the scope closes. A wrapper has to work this
 * way: joulemon must outlive the signal to wait for the command, report, and exit with its
 * status — an interrupted main fiber could do none of that. Node's default for SIGHUP (to die)
 * is suspended the same way, by a listener being there.
 */
const forwardSignals = (command: RunningCommand) =>
  Effect.gen(function*() {
    const runSync = Runtime.runSync(yield* Effect.runtime<never>())
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        FORWARDED_SIGNALS.map((signal) => {
          const forward = () => {
            runSync(command.kill(signal))
          }
          const setAside = process.listeners(signal)
          for (const listener of setAside) process.off(signal, listener)
          process.on(signal, forward)
          return { signal, forward, setAside }
        })
      ),
      (installed) =>
        Effect.sync(() => {
          for (const { forward, setAside, signal } of installed) {
            process.off(signal, forward)
            for (const listener of setAside) process.on(signal, listener)
          }
        })
    )
  })

const measureWith = Effect.fn("Measure.run")(function*(options: MeasureOptions) {
  const config = yield* AppConfig
  const monitor = yield* PowerMonitor
  const meter = yield* CpuPowerMeter
  const procfs = config.host.procfs

  const first = yield* monitor.refresh.pipe(
    Effect.mapError((e) => new MeasureFailed({ reason: `no first reading: ${e.message}` }))
  )
  const childTicksBefore = yield* readOwnChildTicks

  const startedNanos = yield* Clock.currentTimeNanos
  // Interrupted from here on (not by a signal: those go to the command), the scope's finalizer
  // terminates the command (command.ts).
  const command = yield* runCommand(options.command)
  yield* forwardSignals(command)

  const progress = yield* Ref.make<Progress>({
    tree: initialTree(command.pid),
    ledger: new Map(),
    last: first,
    readings: 0,
    failedReadings: 0
  })
  const scan = readProcessTable(procfs).pipe(
    Effect.flatMap((table) => Ref.update(progress, (p) => ({ ...p, tree: trackTree(p.tree, table) })))
  )
  const reading = Effect.gen(function*() {
    yield* scan
    const snapshot = yield* Effect.either(monitor.refresh)
    if (snapshot._tag === "Left") {
      yield* Effect.logWarning("reading failed; the next one covers its interval").pipe(
        Effect.annotateLogs({ error: snapshot.left.message })
      )
      return yield* Ref.update(progress, (p) => ({ ...p, failedReadings: p.failedReadings + 1 }))
    }
    // Children started since the scan before the reading are in it: scan again to know them.
    yield* scan
    yield* Ref.update(progress, (p) => ({
      ...p,
      ledger: recordMembers(p.ledger, p.tree.members, snapshot.right),
      last: snapshot.right,
      readings: p.readings + 1
    }))
  })
  yield* scan
  const sampler = yield* Effect.forkScoped(
    Effect.forever(Effect.sleep(options.interval).pipe(Effect.zipRight(reading)))
  )

  const outcome = yield* command.exited
  const endedNanos = yield* Clock.currentTimeNanos
  const endedMillis = yield* Clock.currentTimeMillis
  yield* Fiber.interrupt(sampler)
  yield* reading
  // A reading the sampler had in flight may have been joined; it began before the exit.
  if ((yield* Ref.get(progress)).last.timestamp < endedMillis) yield* reading
  const childTicksAfter = yield* readOwnChildTicks
  const p = yield* Ref.get(progress)
  return measureReport({
    command: options.command,
    pid: command.pid,
    outcome,
    meterName: meter.name,
    wallSeconds: Number(endedNanos - startedNanos) / 1e9,
    intervalSeconds: Duration.toSeconds(options.interval),
    readings: p.readings,
    failedReadings: p.failedReadings,
    first,
    last: p.last,
    ledger: p.ledger,
    processesSeen: p.tree.members.size,
    kernelCpuTicks: childTicksBefore === undefined || childTicksAfter === undefined
      ? undefined
      : childTicksAfter - childTicksBefore
  })
})

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Measures `options.command` under `loaded`'s configuration and returns the report (the
 * caller prints it). The monitor's layers live exactly as long as the scope.
 */
export const measure = (
  loaded: LoadedConfig,
  options: MeasureOptions
): Effect.Effect<MeasureReport, MeasureFailed | CommandNotStarted, Scope.Scope> => {
  const config = measureConfig(loaded.config)
  const core = CoreLive.pipe(
    Layer.provide(Layer.succeed(AppConfig, config)),
    Layer.provide(FatalLive),
    Layer.mapError((e) => new MeasureFailed({ reason: `the monitor did not start: ${describe(e)}` })),
    Layer.provideMerge(Layer.succeed(AppConfig, config))
  )
  return Effect.gen(function*() {
    for (const warning of loaded.warnings) yield* Effect.logWarning(warning)
    const context = yield* Layer.build(core)
    return yield* measureWith(options).pipe(Effect.provide(context))
  }).pipe(Effect.annotateLogs({ component: "measure" }), Effect.provide(measureLogger(config, options.logLevel)))
}

/** The report in the chosen format. */
export const renderReport = (report: MeasureReport, output: MeasureOutput): string =>
  output === "json" ? renderJson(report) : renderHuman(report)

/** measure, its report printed on stderr, failing with the command's status when it is not 0. */
export const runMeasure = (
  loaded: LoadedConfig,
  options: MeasureOptions,
  printError: (text: string) => Effect.Effect<void>
): Effect.Effect<void, MeasureFailed | CommandNotStarted | MeasureFinished> =>
  Effect.gen(function*() {
    const report = yield* measure(loaded, options)
    yield* printError(renderReport(report, options.output))
    if (report.exit.status !== 0) return yield* new MeasureFinished({ exitCode: report.exit.status })
  }).pipe(
    Effect.scoped,
    Effect.tapError((error) => (error._tag === "MeasureFinished" ? Effect.void : printError(error.message)))
  )
