/**
 * SIGHUP. Node's default is to die of it (exit 129, no log line, no finalizers), which is what
 * a closed terminal, a `kill -HUP` out of habit, or a supervisor's "reload" did to joulemon
 * (issue 16, item 4). joulemon has nothing a hangup could reload: the config file is read once
 * at start (a change needs a restart, as in Kepler) and the web config is re-read on its own
 * every minute (src/server/webConfigReload.ts). So the signal is logged and ignored.
 */
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"

export const HANGUP_MESSAGE =
  "received SIGHUP; ignoring it (the config file is read only at start: restart to apply it; the web config is re-read every minute)"

/** While the scope is open: SIGHUP is logged (through the caller's logger) and ignored. */
export const ignoreHangup: Effect.Effect<void, never, Scope.Scope> = Effect.gen(function*() {
  const runFork = Runtime.runFork(yield* Effect.runtime<never>())
  const onHangup = () => {
    runFork(Effect.logWarning(HANGUP_MESSAGE))
  }
  yield* Effect.acquireRelease(
    Effect.sync(() => process.on("SIGHUP", onHangup)),
    () => Effect.sync(() => process.off("SIGHUP", onHangup))
  )
})
