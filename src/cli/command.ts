/**
 * The `joulemon` command: flags → `loadConfig` → the caller's `run`. `joulemon` with no
 * arguments runs the exporter with the defaults; `--help` and `--version` come from @effect/cli.
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as CliApp from "@effect/cli/CliApp"
import { Console, Effect, Either } from "effect"
import type { ConfigError } from "../config/ConfigError.js"
import { loadConfig, type LoadedConfig } from "../config/load.js"
import { normalizeArgs } from "./argv.js"
import { commandLine, flagNames } from "./flags.js"
import { packageVersion } from "./version.js"

const DESCRIPTION =
  "Measures the energy this Linux machine uses (RAPL, hwmon or an estimate) and attributes it to processes, containers, VMs and Kubernetes pods; exports it as Prometheus metrics with Kepler's names. Settings come from the defaults, then --config.file, then the flags given. --help shows this text; --version prints the version."

/** One violation a line, so a long list stays readable in a terminal or `kubectl logs`. */
export const formatConfigError = (error: ConfigError): string =>
  ["invalid configuration:", ...error.errors.map((e) => `  ${e}`)].join("\n")

/**
 * Builds the CLI around `run`. The returned function takes `process.argv` as it is (runtime and
 * script first, as @effect/cli's `Command.run` expects).
 *
 * A `ConfigError` is printed to stderr here, one violation a line, before it fails the
 * program: `main` runs with `disableErrorReporting`, and @effect/cli prints only its own
 * parse errors (`ValidationError`).
 */
export const makeCli =
  <E, R>(run: (loaded: LoadedConfig) => Effect.Effect<void, E, R>) =>
  (argv: ReadonlyArray<string>): Effect.Effect<void, E | ConfigError | ValidationError.ValidationError, R | CliApp.CliApp.Environment> => {
    const command = Command.make("joulemon", { commandLine }, ({ commandLine: { configFile, flags } }) =>
      loadConfig(configFile, flags).pipe(
        Effect.tapError((error) => Console.error(formatConfigError(error))),
        Effect.flatMap(run)
      )
    ).pipe(Command.withDescription(DESCRIPTION))

    return Effect.gen(function* () {
      const version = yield* packageVersion
      const args = yield* Either.match(normalizeArgs(argv.slice(2), flagNames), {
        onLeft: (message) =>
          Console.error(message).pipe(
            Effect.zipRight(Effect.fail(ValidationError.invalidValue(HelpDoc.p(message))))
          ),
        onRight: Effect.succeed
      })
      yield* Command.run(command, { name: "joulemon", version })([...argv.slice(0, 2), ...args])
    }).pipe(
      // The built-in --log-level/--wizard/--completions would sit confusingly next to
      // --log.level in the help; they still parse, and --help/--version are named above.
      Effect.provide(CliConfig.layer({ showBuiltIns: false }))
    )
  }
