import * as Effect from "effect/Effect"
import { nextTurn } from "../../src/monitor/slices.js"

/**
 * Lets forked fibers run and the event loop turn, 50 times: the monitor's attribution runs in
 * slices with one real event-loop turn (setImmediate) between them (src/monitor/slices.ts), so
 * yielding to other fibers alone does not let a refresh finish — under load it may not have.
 */
export const settle: Effect.Effect<void> = Effect.repeatN(
  Effect.zipRight(Effect.yieldNow(), nextTurn),
  50
)
