/**
 * The `joulemon` command: flags → `loadConfig` → the caller's `run`. `joulemon` with no
 * arguments runs the exporter with the defaults; `joulemon doctor` checks what the exporter's
 * startup depends on. `--help` is ours (help.ts); `--version` and `--completions
 * bash|zsh|fish` come from @effect/cli.
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import type * as Usage from "@effect/cli/Usage"
import * as ValidationError from "@effect/cli/ValidationError"
import { Console, Data, Effect, Either } from "effect"
import type { ConfigError } from "../config/ConfigError.js"
import { type FlagOverrides, loadConfig, type LoadedConfig } from "../config/load.js"
import { runDoctor } from "../doctor/doctor.js"
import { renderHuman, renderJson } from "../doctor/report.js"
import { normalizeArgs, unknownFlag } from "./argv.js"
import { colourConsole, colourWanted, type TerminalInfo } from "./colour.js"
import { commandLine, flagNames } from "./flags.js"
import { FLAG_SUMMARIES } from "./flagSummaries.js"
import { flagEntry, helpRequest, helpTopic, renderHelp, renderShortHelp } from "./help.js"
import { packageVersion } from "./version.js"

const DESCRIPTION =
  "Measures the energy this Linux machine uses (RAPL, hwmon or an estimate) and attributes it to processes, containers, VMs and Kubernetes pods; exports it as Prometheus metrics with Kepler's names. Settings come from the defaults, then --config.file, then the flags given."

const DOCTOR_SUMMARY = "checks everything joulemon's startup depends on, each passed, warned or failed with its fix"

const DOCTOR_DESCRIPTION =
  "Checks everything joulemon's startup depends on — kernel, powercap/RAPL and energy_uj permissions, hwmon, the meter that would be used and why, /proc access, cgroups and runtimes, VM detection, Kubernetes and Redfish reachability, the GPU library, overlapping zones — and prints each as passed, warned or failed with the exact fix. Reads the same config file and flags as the daemon. Exit status: 0 all good, 1 measurement would be degraded, 2 joulemon could not start."

const SHORT_DESCRIPTION = "measures this machine's energy and attributes it to processes, containers, VMs and pods"

const SHORT_FOOTER = [
  "More: `joulemon help flags` (every flag in full), `joulemon help <flag>` (one flag), `joulemon help doctor`.",
  "`joulemon --version` prints the version; `joulemon --completions bash|zsh|fish` prints a shell completion script."
]

const FULL_FOOTER = ["`joulemon --help` is the one-screen summary; `joulemon help <flag>` shows one flag."]

/** What the help is made of: each command's @effect/cli help and usage. */
interface CommandDocs {
  readonly rootBody: HelpDoc.HelpDoc
  readonly rootUsage: Usage.Usage
  readonly doctorBody: HelpDoc.HelpDoc
  readonly doctorUsage: Usage.Usage
}

/**
 * The help `args` ask for (`--help`, `-h`, `help [TOPIC]`): the text, an unknown topic's error,
 * or undefined when they ask for none.
 */
const helpFor = (
  args: ReadonlyArray<string>,
  valued: ReadonlyArray<string>,
  version: string,
  { doctorBody, doctorUsage, rootBody, rootUsage }: CommandDocs
): Either.Either<string, string> | undefined => {
  const subcommands = [{ name: "doctor", summary: DOCTOR_SUMMARY }]
  const short = {
    root: renderShortHelp({
      title: "joulemon",
      version,
      description: SHORT_DESCRIPTION,
      usage: "[FLAGS] [COMMAND]",
      options: rootBody,
      summaries: FLAG_SUMMARIES,
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
    const entry = flagEntry(doctorBody, name)
    return entry === undefined
      ? Either.left(
        `joulemon help: no topic ${JSON.stringify(name)}; topics: flags, doctor, or a flag's name such as kube.enable`
      )
      : Either.right(HelpDoc.toAnsiText(entry))
  }
  const request = helpRequest(args, valued, ["doctor"])
  if (request === undefined) return undefined
  return Either.right(request.subcommand === "doctor" ? short.doctor : short.root)
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

const currentTerminal = Effect.sync(
  (): TerminalInfo => ({
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    noColor: process.env["NO_COLOR"]
  })
)

const SHOW_BUILT_INS = CliConfig.make({ showBuiltIns: false })

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
  E | ConfigError | ValidationError.ValidationError | DoctorFindings,
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
  E | ConfigError | ValidationError.ValidationError | DoctorFindings,
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
        const report = yield* runDoctor(loaded, { ldLibraryPath: process.env["LD_LIBRARY_PATH"] })
        yield* Console.log(
          output === "json" ? renderJson(report) : renderHuman(report, colourWanted(term.stdoutIsTTY, term.noColor))
        )
        if (report.exitCode !== 0) {
          return yield* new DoctorFindings({ exitCode: report.exitCode })
        }
      }).pipe(Effect.withConsole(base))).pipe(Command.withDescription(DOCTOR_DESCRIPTION))

    const command = root.pipe(Command.withSubcommands([doctor]))

    const version = yield* packageVersion
    const names = { ...flagNames, valued: [...flagNames.valued, "output"] }
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
      doctorUsage: Command.getUsage(doctor)
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
