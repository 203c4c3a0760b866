/**
 * The measured command as a scoped resource: spawned with stdin, stdout and stderr inherited,
 * its exit awaited, and — should the scope close while it still runs (measure interrupted) —
 * terminated: SIGTERM, then SIGKILL if it is still there after a grace period.
 */
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as os from "node:os"
import { type CommandOutcome, outcomeOf } from "./report.js"

/** The command could not be started; `exitCode` follows the shell: 127 not found, 126 not executable. */
export class CommandNotStarted extends Data.TaggedError("CommandNotStarted")<{
  readonly command: string
  readonly reason: string
  readonly exitCode: 126 | 127
}> {
  override get message(): string {
    return `joulemon measure: cannot run ${JSON.stringify(this.command)}: ${this.reason}`
  }
}

export interface RunningCommand {
  readonly pid: number
  /** Resolves when the command has exited (and been reaped). */
  readonly exited: Effect.Effect<CommandOutcome>
  /** Sends `signal`; false when the command is gone already. */
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<boolean>
}

/** How long an interrupted measure waits for the command to go after SIGTERM before SIGKILL. */
const TERMINATE_GRACE = Duration.seconds(3)

const notStarted = (command: string, error: NodeJS.ErrnoException): CommandNotStarted =>
  new CommandNotStarted({
    command,
    reason: error.code === "ENOENT"
      ? "no such file or command (not found in PATH)"
      : error.code === "EACCES"
      ? "permission denied (not executable)"
      : error.message,
    exitCode: error.code === "ENOENT" ? 127 : 126
  })

const signalNumber = (signal: string | null): number | undefined =>
  signal === null ? undefined : (os.constants.signals as Readonly<Record<string, number | undefined>>)[signal]

const start = (argv: readonly [string, ...ReadonlyArray<string>]) =>
  Effect.gen(function*() {
    const exited = yield* Deferred.make<CommandOutcome>()
    const [file, ...args] = argv
    const child = yield* Effect.async<ChildProcess, CommandNotStarted>((resume) => {
      const c = spawn(file, args, { stdio: "inherit" })
      c.once("exit", (code, signal) => {
        Deferred.unsafeDone(exited, Exit.succeed(outcomeOf(code, signal, signalNumber(signal))))
      })
      c.once("spawn", () => resume(Effect.succeed(c)))
      c.once("error", (error: NodeJS.ErrnoException) => {
        // Before "spawn": it never started. After it, a failed kill: the exit event still comes.
        if (c.pid === undefined) resume(Effect.fail(notStarted(file, error)))
      })
    })
    const pid = child.pid ?? -1
    return { child, pid, exited: Deferred.await(exited), isDone: Deferred.isDone(exited) }
  })

export const runCommand = (
  argv: readonly [string, ...ReadonlyArray<string>]
): Effect.Effect<RunningCommand, CommandNotStarted, Scope.Scope> =>
  Effect.acquireRelease(start(argv), (running) =>
    Effect.gen(function*() {
      if (yield* running.isDone) return
      running.child.kill("SIGTERM")
      const gone = yield* running.exited.pipe(Effect.timeout(TERMINATE_GRACE), Effect.option)
      if (gone._tag === "None") {
        running.child.kill("SIGKILL")
        yield* running.exited
      }
    })).pipe(
      Effect.map((running): RunningCommand => ({
        pid: running.pid,
        exited: running.exited,
        kill: (signal) =>
          Effect.sync(() =>
            running.child.exitCode === null && running.child.signalCode === null && running.child.kill(signal)
          )
      }))
    )
