/**
 * The `joulemon` binary: flags and config → logger → the Layer graph, run until SIGINT/SIGTERM
 * (exit 0 after every finalizer) or until a service fails (its error logged, exit 1). SIGHUP is
 * logged and ignored (hangup.ts).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { appLayer } from "./app.js"
import { DoctorFindings, makeCli } from "./cli/command.js"
import type { LoadedConfig } from "./config/load.js"
import { Fatal, FatalLive } from "./Fatal.js"
import { ignoreHangup } from "./hangup.js"
import { loggerLayer } from "./logging.js"
import { CommandNotStarted } from "./measure/command.js"
import { MeasureFinished } from "./measure/outputs.js"

/** A typed failure's own message; the pretty trace only for a defect (a bug). */
const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const error = failure.value
    return error instanceof Error ? error.message : String(error)
  }
  return Cause.pretty(cause)
}

const run = (loaded: LoadedConfig) =>
  Effect.gen(function*() {
    for (const warning of loaded.warnings) yield* Effect.logWarning(warning)
    yield* Effect.addFinalizer(() => Effect.logInfo("shutdown complete"))
    yield* ignoreHangup
    yield* Layer.build(appLayer(loaded.config))
    const fatal = yield* Fatal
    return yield* fatal.await
  }).pipe(
    Effect.scoped,
    Effect.provide(FatalLive),
    // The CLI prints its own usage and config errors; everything after that is logged here,
    // through the configured logger, since runMain's error reporting is off.
    Effect.tapErrorCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError(`joulemon stopped: ${describeCause(cause)}`)
    ),
    Effect.annotateLogs({ component: "main" }),
    Effect.provide(loggerLayer(loaded.config))
  )

/**
 * 1 for any failure, except `joulemon doctor`'s own status (1 degraded, 2 could not start) and
 * `joulemon measure`'s: the command's status, or 126/127 when it could not be run.
 */
const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return 0
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "None") return 1
  const error = failure.value
  return error instanceof DoctorFindings || error instanceof MeasureFinished || error instanceof CommandNotStarted
    ? error.exitCode
    : 1
}

makeCli(run)(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => onExit(exitCode(exit))
  })
)
