/**
 * The `joulemon` command: flags → `loadConfig` → the caller's `run`. `joulemon` with no
 * arguments runs the exporter with the defaults; `joulemon doctor` checks what the exporter's
 * startup depends on; `joulemon measure -- CMD…` runs one command and reports its energy. `--help` is ours (help.ts); `--version` and `--completions
 * bash|zsh|fish` come from @effect/cli.
 */
import * as Args from "@effect/cli/Args"
import type * as CliApp from "@effect/cli/CliApp"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import type * as Usage from "@effect/cli/Usage"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { ConfigError } from "../config/ConfigError.js"
import { formatDuration, parseGoDuration, toDuration } from "../config/duration.js"
import { type FlagOverrides, loadConfig, type LoadedConfig } from "../config/load.js"
import type { CommandNotStarted } from "../measure/command.js"
import { MEASURE_OUTPUTS, type MeasureFailed, type MeasureFinished } from "../measure/outputs.js"
import type { RecordRefused } from "../record/commands.js"
import { REPLAY_PACES } from "../record/pace.js"
import { normalizeArgs, unknownFlag } from "./argv.js"
import { colourConsole, colourWanted, type TerminalInfo } from "./colour.js"
import { commandLine, flagNames } from "./flags.js"
import { DEPRECATED_FLAGS, FLAG_SUMMARIES } from "./flagSummaries.js"
import { flagEntry, helpRequest, helpTopic, renderHelp, renderShortHelp } from "./help.js"
import { packageVersion } from "./version.js"

const DESCRIPTION =
  "Measures the energy this Linux machine uses (RAPL, hwmon or an estimate) and attributes it to processes, containers, VMs and Kubernetes pods; exports it as Prometheus metrics with Kepler's names. Settings come from the defaults, then --config.file, then the flags given."

const DOCTOR_SUMMARY = "checks everything joulemon's startup depends on, each passed, warned or failed with its fix"

const DOCTOR_DESCRIPTION =
  "Checks everything joulemon's startup depends on — kernel, powercap/RAPL and energy_uj permissions, hwmon, the meter that would be used and why, /proc access, cgroups and runtimes, VM detection, Kubernetes and Redfish reachability, the GPU library, overlapping zones — and prints each as passed, warned or failed with the exact fix. Reads the same config file and flags as the daemon. Exit status: 0 all good, 1 measurement would be degraded, 2 joulemon could not start."

const MEASURE_SUMMARY = "runs one command and reports the energy it caused: node per zone, the command's share, watts"

const MEASURE_DESCRIPTION =
  "Runs CMD with ARGS (after `--`) and reports, on stderr when it exits, the energy it caused, like `perf stat` for joules: the wall time; the node's energy per zone over the run (total, active, idle) and its average watts; the share attributed to the command's process tree — the command and every process descended from it, children that exited included — by the same exact attribution the exporter uses (its processes' attributed active energy; idle energy stays with the node); and whether the figures were measured by sensors or estimated by the `model` meter. The command's stdin, stdout and stderr are joulemon's; SIGINT, SIGTERM and SIGHUP are forwarded to it. Reads the same config file and flags as the daemon (its meter, host.procfs, host.sysfs, monitor.collector); it serves nothing and writes no checkpoint. A process is attributed CPU time up to the last reading that saw it, so a short-lived process or the command's last fraction of an interval may be missed: the report compares the CPU time the attribution saw with the kernel's account of the tree. Exit status: the command's (128 + the signal's number if it died of one); 126 or 127 when it could not be run; 1 for joulemon's own errors."

const DEFAULT_MEASURE_INTERVAL = Duration.millis(500)

const RECORD_SUMMARY = "runs joulemon and records every refresh's inputs to a file, for replay"

const RECORD_DESCRIPTION =
  "Runs joulemon as the daemon does (same config file and flags; /metrics is served) and records, for every refresh, exactly what its attribution was given: each file operation of the /proc scan with its result (of a process's environment only the HOSTNAME and CONTAINER_NAME entries, which name containers), the cgroup usage files with monitor.shortLived cgroup, /proc/stat as read, the meter's zone readings and, with the rapl or hwmon meter, the powercap/hwmon files as read (discovery and every counter read), the clock and, with kube.enable, the pod the pod informer found for each container, into one gzip-compressed file with a format version. Stops after --count refreshes, after --duration, or on SIGINT/SIGTERM; the file is written as FILE.partial and renamed to FILE when complete. Not recorded yet, so refused: GPUs (experimental.gpu.enabled); monitor.stateDir is ignored."

const REPLAY_SUMMARY = "replays a recording: the same /metrics, byte for byte, every time"

const REPLAY_DESCRIPTION =
  "Runs a recording made by `joulemon record` through the same scan, attribution and exposition code, reading nothing from this machine: the numbers are the live run's, and replaying a file twice gives identical output. With --output FILE (or - for stdout), writes the Prometheus exposition of every refresh, each after a `# joulemon replay: refresh N of M` line, and exits; otherwise serves /metrics at --listen, one recorded refresh per scrape, or with --pace recorded advancing by itself one refresh per recorded interval (the last one stays). With --exporter.stdout, each refresh's terminal view is drawn as it is replayed (after the file, with --output FILE). The families are those computed from joulemon's snapshots (Kepler's and joulemon's workload families); joulemon's own process metrics are not replayed."

const recordOut = Options.file("out").pipe(
  Options.withPseudoName("FILE"),
  Options.withDescription("Where the recording goes (gzip-compressed JSON lines). Required.")
)

const recordCount = Options.integer("count").pipe(
  Options.withPseudoName("N"),
  Options.withDescription("Stop after N refreshes (each interval, or each scrape with monitor.interval 0)."),
  Options.optional,
  Options.mapEffect(Option.match({
    onNone: () => Effect.succeed(Option.none<number>()),
    onSome: (n) =>
      n > 0
        ? Effect.succeed(Option.some(n))
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--count: must be more than 0, got ${n}`)))
  }))
)

const recordDuration = Options.text("duration").pipe(
  Options.withPseudoName("DURATION"),
  Options.withDescription(
    "Stop after this long, a Go duration (e.g. 10m). Without --count or --duration: until stopped."
  ),
  Options.optional,
  Options.mapEffect(Option.match({
    onNone: () => Effect.succeed(Option.none<Duration.Duration>()),
    onSome: (text) =>
      Either.match(parseGoDuration(text), {
        onLeft: (message) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--duration: ${message}`))),
        onRight: (nanos) =>
          nanos > 0n
            ? Effect.succeed(Option.some(toDuration(nanos)))
            : Effect.fail(
              ValidationError.invalidValue(HelpDoc.p(`--duration: must be more than 0, got ${JSON.stringify(text)}`))
            )
      })
  }))
)

const replayFile = Args.file({ name: "FILE", exists: "yes" }).pipe(
  Args.withDescription("A recording made by `joulemon record`.")
)

const replayOutput = Options.text("output").pipe(
  Options.withPseudoName("FILE"),
  Options.withDescription("Write the exposition of every refresh to FILE (- for stdout) and exit, instead of serving."),
  Options.optional
)

const replayListen = Options.text("listen").pipe(
  Options.withPseudoName("HOST:PORT"),
  Options.withDescription("Where to serve /metrics, one recorded refresh per scrape."),
  Options.withDefault("127.0.0.1:28282")
)

const replayPace = Options.choice("pace", REPLAY_PACES).pipe(
  Options.withDescription(
    "scrape: one recorded refresh per scrape of /metrics, as fast as asked; recorded: advance by itself, one refresh per recorded interval."
  ),
  Options.withDefault("scrape")
)

const SHORT_DESCRIPTION = "measures this machine's energy and attributes it to processes, containers, VMs and pods"

const SHORT_FOOTER = [
  "More: `joulemon help flags` (every flag in full, Kepler's deprecated ones too), `joulemon help <flag>`, `joulemon help doctor|measure|record|replay`; `joulemon --version`; `joulemon --completions bash|zsh|fish` (a shell completion script)."
]

const FULL_FOOTER = ["`joulemon --help` is the one-screen summary; `joulemon help <flag>` shows one flag."]

/** What the help is made of: each command's @effect/cli help and usage. */
interface CommandDocs {
  readonly rootBody: HelpDoc.HelpDoc
  readonly rootUsage: Usage.Usage
  readonly doctorBody: HelpDoc.HelpDoc
  readonly doctorUsage: Usage.Usage
  readonly measureBody: HelpDoc.HelpDoc
  readonly measureUsage: Usage.Usage
  readonly recordBody: HelpDoc.HelpDoc
  readonly recordUsage: Usage.Usage
  readonly replayBody: HelpDoc.HelpDoc
  readonly replayUsage: Usage.Usage
}

/**
 * The help `args` ask for (`--help`, `-h`, `help [TOPIC]`): the text, an unknown topic's error,
 * or undefined when they ask for none.
 */
const helpFor = (
  args: ReadonlyArray<string>,
  valued: ReadonlyArray<string>,
  version: string,
  docs: CommandDocs
): Either.Either<string, string> | undefined => {
  const { doctorBody, doctorUsage, measureBody, measureUsage, rootBody, rootUsage } = docs
  const subcommands = [
    { name: "doctor", summary: DOCTOR_SUMMARY },
    { name: "measure", summary: MEASURE_SUMMARY },
    { name: "record", summary: RECORD_SUMMARY },
    { name: "replay", summary: REPLAY_SUMMARY }
  ]
  const short = {
    root: renderShortHelp({
      title: "joulemon",
      version,
      description: SHORT_DESCRIPTION,
      usage: "[FLAGS] [COMMAND]",
      options: rootBody,
      summaries: FLAG_SUMMARIES,
      hidden: DEPRECATED_FLAGS,
      subcommands,
      footer: SHORT_FOOTER
    }),
    doctor: renderShortHelp({
      title: "joulemon doctor",
      version,
      description: DOCTOR_SUMMARY,
      usage: "[FLAGS] [--output human|json]",
      options: doctorBody,
      summaries: FLAG_SUMMARIES,
      subcommands: [],
      footer: [
        "Exit status: 0 all good, 1 measurement would be degraded, 2 joulemon could not start. `joulemon help doctor` says more."
      ]
    }),
    measure: renderShortHelp({
      title: "joulemon measure",
      version,
      description: MEASURE_SUMMARY,
      usage: "[FLAGS] [--interval DURATION] [--output human|json] -- CMD [ARGS...]",
      options: measureBody,
      summaries: FLAG_SUMMARIES,
      subcommands: [],
      footer: [
        "The report goes to stderr; the command's output is untouched. Exit status: the command's (128 + signal if it died of one).",
        "`joulemon help measure` says what each figure means."
      ]
    }),
    record: renderShortHelp({
      title: "joulemon record",
      version,
      description: RECORD_SUMMARY,
      usage: "[FLAGS] --out FILE [--count N | --duration DURATION]",
      options: docs.recordBody,
      summaries: FLAG_SUMMARIES,
      subcommands: [],
      footer: ["Serves /metrics as the daemon does while it records. `joulemon help record` says what is recorded."]
    }),
    replay: renderShortHelp({
      title: "joulemon replay",
      version,
      description: REPLAY_SUMMARY,
      usage: "[FLAGS] [--output FILE | --listen HOST:PORT] FILE",
      options: docs.replayBody,
      // replay's --output is a file, not doctor's and measure's format.
      summaries: { ...FLAG_SUMMARIES, output: "write every refresh's exposition to FILE (- for stdout), then exit" },
      subcommands: [],
      footer: ["The same file replays to the same bytes. `joulemon help replay` says more."]
    })
  }
  const topic = helpTopic(args, valued)
  if (topic !== undefined) {
    const { topic: name } = topic
    if (name === undefined) return Either.right(short.root)
    if (name === "flags") {
      return Either.right(
        renderHelp(
          { title: "joulemon", version, usage: rootUsage, body: rootBody, subcommands, footer: FULL_FOOTER },
          SHOW_BUILT_INS
        )
      )
    }
    if (name === "doctor") {
      return Either.right(
        renderHelp({
          title: "joulemon doctor",
          version,
          usage: doctorUsage,
          body: doctorBody,
          subcommands: [],
          footer: FULL_FOOTER
        }, SHOW_BUILT_INS)
      )
    }
    if (name === "measure") {
      return Either.right(
        renderHelp({
          title: "joulemon measure",
          version,
          usage: measureUsage,
          body: measureBody,
          subcommands: [],
          footer: [MEASURE_JSON_SHAPE, ...FULL_FOOTER]
        }, SHOW_BUILT_INS)
      )
    }
    if (name === "record" || name === "replay") {
      return Either.right(
        renderHelp({
          title: `joulemon ${name}`,
          version,
          usage: name === "record" ? docs.recordUsage : docs.replayUsage,
          body: name === "record" ? docs.recordBody : docs.replayBody,
          subcommands: [],
          footer: FULL_FOOTER
        }, SHOW_BUILT_INS)
      )
    }
    const entry = flagEntry(measureBody, name) ?? flagEntry(doctorBody, name) ?? flagEntry(docs.recordBody, name) ??
      flagEntry(docs.replayBody, name)
    return entry === undefined
      ? Either.left(
        `joulemon help: no topic ${
          JSON.stringify(name)
        }; topics: flags, doctor, measure, record, replay, or a flag's name such as kube.enable`
      )
      : Either.right(HelpDoc.toAnsiText(entry))
  }
  const request = helpRequest(args, valued, ["doctor", "measure", "record", "replay"])
  if (request === undefined) return undefined
  const which = request.subcommand
  return Either.right(
    which === "doctor" || which === "measure" || which === "record" || which === "replay" ? short[which] : short.root
  )
}

/** One violation a line, so a long list stays readable in a terminal or `kubectl logs`. */
export const formatConfigError = (error: ConfigError): string =>
  ["invalid configuration:", ...error.errors.map((e) => `  ${e}`)].join("\n")

/** `joulemon doctor` found problems; `exitCode` is what the process exits with. */
export class DoctorFindings extends Data.TaggedError("DoctorFindings")<{ readonly exitCode: 1 | 2 }> {
  override get message(): string {
    return this.exitCode === 2
      ? "joulemon doctor: joulemon could not start"
      : "joulemon doctor: measurement would be degraded"
  }
}

/**
 * The parent's flags with the subcommand's given ones on top: `joulemon --x=1 doctor --x=2`
 * checks 2. (Boolean flags always arrive at the parent: argv.ts moves them to the front.)
 */
const overlay = (parent: FlagOverrides, own: FlagOverrides): FlagOverrides => {
  const given: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(own)) if (value !== undefined) given[key] = value
  return { ...parent, ...given }
}

const DOCTOR_OUTPUTS = ["human", "json"] as const

const MEASURE_JSON_SHAPE =
  "--output json prints one JSON document (formatVersion 1): command, pid, exit {code, signal, status}, wallSeconds, windowSeconds (first to last reading), intervalSeconds, readings, failedReadings, meter {name, kind: measured|estimated, paths}, zones [{name, path, estimated, nodeJoules, nodeActiveJoules, nodeIdleJoules, commandJoules, shareOfActive, nodeWatts, commandWatts}], processes {attributed, seen, attributedCpuSeconds, kernelCpuSeconds}. README.md documents each field."

/** `--interval`: a Go duration above 0; the error names the flag and the value. */
const measureInterval = Options.text("interval").pipe(
  Options.withPseudoName("DURATION"),
  Options.withDescription(
    `Time between readings while the command runs, a Go duration (${
      formatDuration(DEFAULT_MEASURE_INTERVAL)
    } when not given; the daemon's monitor.interval is not used). A reading is also taken just before the command starts and just after it exits. Shorter catches more of short-lived children, at the cost of a process-table scan per reading.`
  ),
  Options.optional,
  Options.mapEffect(Option.match({
    onNone: () => Effect.succeed(DEFAULT_MEASURE_INTERVAL),
    onSome: (text) =>
      Either.match(parseGoDuration(text), {
        onLeft: (message) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--interval: ${message}`))),
        onRight: (nanos) =>
          nanos > 0n
            ? Effect.succeed(toDuration(nanos))
            : Effect.fail(
              ValidationError.invalidValue(
                HelpDoc.p(`--interval: must be more than 0, got ${JSON.stringify(text)}`)
              )
            )
      })
  }))
)

/** `joulemon measure` given no command: what to write instead. */
export const MISSING_COMMAND =
  "joulemon measure: no command given; usage: joulemon measure [FLAGS] -- CMD [ARGS...] (e.g. joulemon measure -- sleep 1)"
const currentTerminal = Effect.sync(
  (): TerminalInfo => ({
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    noColor: process.env["NO_COLOR"]
  })
)

const SHOW_BUILT_INS = CliConfig.make({ showBuiltIns: false })

// Each subcommand's code is loaded when it runs, so that the daemon (no subcommand) does not
// carry it in memory.
const loadDoctor = Effect.promise(() =>
  Promise.all([import("../doctor/doctor.js"), import("../doctor/report.js")]).then(([doctor, report]) => ({
    runDoctor: doctor.runDoctor,
    renderHuman: report.renderHuman,
    renderJson: report.renderJson
  }))
)
const loadRecord = Effect.promise(() => import("../record/commands.js"))

/** How `joulemon measure` ends other than with status 0. */
type MeasureErrors = MeasureFinished | MeasureFailed | CommandNotStarted

/**
 * Builds the CLI around `run`. The returned function takes `process.argv` as it is (runtime and
 * script first, as @effect/cli's `Command.run` expects). `terminal` defaults to this process's.
 *
 * A `ConfigError` is printed to stderr here, one violation a line, before it fails the
 * program: `main` runs with `disableErrorReporting`, and @effect/cli prints only its own
 * parse errors (`ValidationError`).
 */
export const makeCli = <E, R>(run: (loaded: LoadedConfig) => Effect.Effect<void, E, R>, terminal?: TerminalInfo) =>
(
  argv: ReadonlyArray<string>
): Effect.Effect<
  void,
  E | ConfigError | ValidationError.ValidationError | DoctorFindings | MeasureErrors | RecordRefused,
  R | CliApp.CliApp.Environment
> =>
  Effect.gen(function*() {
    const term = terminal ?? (yield* currentTerminal)
    const base = yield* Effect.console
    return yield* cliProgram(run, argv, term, base).pipe(
      Effect.withConsole(colourConsole(base, term)),
      // The built-in --log-level/--wizard would sit confusingly next to --log.level in the
      // help; they still parse, and --completions/--version are named in the footer.
      Effect.provide(CliConfig.layer({ showBuiltIns: false }))
    )
  })

const cliProgram = <E, R>(
  run: (loaded: LoadedConfig) => Effect.Effect<void, E, R>,
  argv: ReadonlyArray<string>,
  term: TerminalInfo,
  base: Console.Console
): Effect.Effect<
  void,
  E | ConfigError | ValidationError.ValidationError | DoctorFindings | MeasureErrors | RecordRefused,
  R | CliApp.CliApp.Environment
> =>
  Effect.gen(function*() {
    const root = Command.make("joulemon", { commandLine }, ({ commandLine: { configFile, flags } }) =>
      loadConfig(configFile, flags).pipe(
        Effect.tapError((error) =>
          Console.error(formatConfigError(error))
        ),
        Effect.flatMap(run),
        // What `run` prints is its own business, coloured or not.
        Effect.withConsole(base)
      )).pipe(Command.withDescription(DESCRIPTION))

    const doctorOptions = {
      commandLine,
      output: Options.choice("output", DOCTOR_OUTPUTS).pipe(
        Options.withDescription(
          "human: one line a check, with its fix; json: the same as one JSON document (formatVersion 1)."
        ),
        Options.withDefault("human")
      )
    }
    const doctor = Command.make("doctor", doctorOptions, ({ commandLine: own, output }) =>
      Effect.gen(function*() {
        const parent = yield* root
        const configFile = own.configFile ?? parent.commandLine.configFile
        const loaded = yield* Effect.either(loadConfig(configFile, overlay(parent.commandLine.flags, own.flags)))
        const { renderHuman, renderJson, runDoctor } = yield* loadDoctor
        const report = yield* runDoctor(loaded, { ldLibraryPath: process.env["LD_LIBRARY_PATH"] })
        yield* Console.log(
          output === "json" ? renderJson(report) : renderHuman(report, colourWanted(term.stdoutIsTTY, term.noColor))
        )
        if (report.exitCode !== 0) {
          return yield* new DoctorFindings({ exitCode: report.exitCode })
        }
      }).pipe(Effect.withConsole(base))).pipe(Command.withDescription(DOCTOR_DESCRIPTION))

    const measureOptions = {
      commandLine,
      interval: measureInterval,
      output: Options.choice("output", MEASURE_OUTPUTS).pipe(
        Options.withDescription(
          "human: a few lines for a person; json: one JSON document (formatVersion 1), the shape in `joulemon help measure`. Either goes to stderr."
        ),
        Options.withDefault("human")
      )
    }
    const measureArgs = Args.text({ name: "CMD" }).pipe(
      Args.withDescription(
        "The command to run and its arguments, after `--` (so its own flags are not read as joulemon's)."
      ),
      Args.repeated
    )
    const measure = Command.make(
      "measure",
      { ...measureOptions, command: measureArgs },
      ({ command: words, commandLine: own, interval, output }) =>
        Effect.gen(function*() {
          const [file, ...rest] = words
          if (file === undefined) {
            yield* Console.error(MISSING_COMMAND)
            return yield* Effect.fail(ValidationError.invalidValue(HelpDoc.p(MISSING_COMMAND)))
          }
          const parent = yield* root
          const configFile = own.configFile ?? parent.commandLine.configFile
          const flags = overlay(parent.commandLine.flags, own.flags)
          const loaded = yield* loadConfig(configFile, flags).pipe(
            Effect.tapError((error) =>
              Console.error(formatConfigError(error))
            )
          )
          const { runMeasure } = yield* Effect.promise(() => import("../measure/measure.js"))
          yield* runMeasure(
            loaded,
            { command: [file, ...rest], interval, output, logLevel: flags.logLevel },
            (text) => Console.error(text)
          )
        }).pipe(Effect.withConsole(base))
    ).pipe(Command.withDescription(MEASURE_DESCRIPTION))

    const record = Command.make(
      "record",
      { commandLine, out: recordOut, count: recordCount, duration: recordDuration },
      ({ commandLine: own, count, duration, out }) =>
        Effect.gen(function*() {
          const parent = yield* root
          const configFile = own.configFile ?? parent.commandLine.configFile
          const loaded = yield* loadConfig(configFile, overlay(parent.commandLine.flags, own.flags)).pipe(
            Effect.tapError((error) => Console.error(formatConfigError(error)))
          )
          const { runRecord } = yield* loadRecord
          yield* runRecord(loaded, { out, count, duration }).pipe(
            Effect.tapError((error) => Console.error(error.message))
          )
        }).pipe(Effect.withConsole(base))
    ).pipe(Command.withDescription(RECORD_DESCRIPTION))

    const replayCommand = Command.make(
      "replay",
      { commandLine, file: replayFile, output: replayOutput, listen: replayListen, pace: replayPace },
      ({ commandLine: own, file, listen, output, pace }) =>
        Effect.gen(function*() {
          const parent = yield* root
          const configFile = own.configFile ?? parent.commandLine.configFile
          const loaded = yield* loadConfig(configFile, overlay(parent.commandLine.flags, own.flags)).pipe(
            Effect.tapError((error) => Console.error(formatConfigError(error)))
          )
          const { runReplay } = yield* loadRecord
          yield* runReplay(loaded, { file, output, listen, pace }).pipe(
            Effect.tapError((error) => Console.error(error.message))
          )
        }).pipe(Effect.withConsole(base))
    ).pipe(Command.withDescription(REPLAY_DESCRIPTION))

    const command = root.pipe(Command.withSubcommands([doctor, measure, record, replayCommand]))

    const version = yield* packageVersion
    const names = {
      ...flagNames,
      valued: [...flagNames.valued, "output", "interval", "out", "count", "duration", "listen", "pace"]
    }
    const args = yield* Either.match(
      normalizeArgs(argv.slice(2), names),
      {
        onLeft: (message) =>
          Console.error(message).pipe(Effect.zipRight(Effect.fail(ValidationError.invalidValue(HelpDoc.p(message))))),
        onRight: Effect.succeed
      }
    )

    const unknown = unknownFlag(args, names)
    if (unknown !== undefined) {
      const message = `Received unknown argument: '${unknown}'`
      yield* Console.error(message)
      return yield* Effect.fail(ValidationError.invalidValue(HelpDoc.p(message)))
    }

    const helpText = helpFor(args, names.valued, version, {
      rootBody: Command.getHelp(root, SHOW_BUILT_INS),
      rootUsage: Command.getUsage(root),
      doctorBody: Command.getHelp(doctor, SHOW_BUILT_INS),
      doctorUsage: Command.getUsage(doctor),
      measureBody: Command.getHelp(measure, SHOW_BUILT_INS),
      measureUsage: Command.getUsage(measure),
      recordBody: Command.getHelp(record, SHOW_BUILT_INS),
      recordUsage: Command.getUsage(record),
      replayBody: Command.getHelp(replayCommand, SHOW_BUILT_INS),
      replayUsage: Command.getUsage(replayCommand)
    })
    if (helpText !== undefined) {
      if (Either.isRight(helpText)) {
        return yield* Console.log(helpText.right)
      }
      yield* Console.error(helpText.left)
      return yield* Effect.fail(ValidationError.invalidValue(HelpDoc.p(helpText.left)))
    }
    yield* Command.run(command, { name: "joulemon", version })([...argv.slice(0, 2), ...args])
  })
