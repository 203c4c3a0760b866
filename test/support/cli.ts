/** The CLI run in process, as `joulemon <args>`: what `run` received, and what was printed. */
import { NodeContext } from "@effect/platform-node"
import { Cause, type Console, Effect, Exit, Option, Ref } from "effect"
import { makeCli } from "../../src/cli/command.js"
import type { LoadedConfig } from "../../src/config/load.js"

const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "")

export interface CliRun {
  readonly exit: Exit.Exit<void, unknown>
  readonly loaded: Option.Option<LoadedConfig>
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI as `joulemon <args>`, capturing what `run` receives and what is printed (ANSI stripped). */
export const runCli = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const received = yield* Ref.make(Option.none<LoadedConfig>())
    const stdout = yield* Ref.make<ReadonlyArray<string>>([])
    const stderr = yield* Ref.make<ReadonlyArray<string>>([])
    const base = yield* Effect.console
    const line = (sink: Ref.Ref<ReadonlyArray<string>>) => (...parts: ReadonlyArray<unknown>) =>
      Ref.update(sink, (lines) => [...lines, stripAnsi(parts.map(String).join(" "))])
    const capture: Console.Console = { ...base, log: line(stdout), error: line(stderr) }

    const cli = makeCli((loaded) => Ref.set(received, Option.some(loaded)))
    const exit = yield* cli(["node", "joulemon", ...args]).pipe(
      Effect.withConsole(capture),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return {
      exit,
      loaded: yield* Ref.get(received),
      stdout: (yield* Ref.get(stdout)).join("\n"),
      stderr: (yield* Ref.get(stderr)).join("\n")
    } satisfies CliRun
  })

/** The typed failure of a run that failed; undefined for a success or a defect. */
export const failureOf = (result: CliRun): unknown =>
  Exit.match(result.exit, {
    onSuccess: () => undefined,
    onFailure: (cause) => Option.getOrUndefined(Cause.failureOption(cause))
  })
