/**
 * How a background fiber brings the whole program down (DESIGN.md §4: "a service that fails
 * brings the whole program down with a clear message and a non-zero exit"). Forked loops
 * report here; main waits on it, so the failure ends the program instead of dying silently
 * inside a fiber.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export class FatalError extends Data.TaggedError("FatalError")<{
  readonly component: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.component} failed: ${this.reason}`
  }
}

export interface FatalShape {
  /** Ends the program with this error (the first report wins). */
  readonly report: (error: FatalError) => Effect.Effect<void>
  /** Waits for a report; never succeeds. */
  readonly await: Effect.Effect<never, FatalError>
}

export class Fatal extends Context.Tag("joulemon/Fatal")<Fatal, FatalShape>() {}

export const FatalLive: Layer.Layer<Fatal> = Layer.effect(
  Fatal,
  Effect.gen(function*() {
    const deferred = yield* Deferred.make<never, FatalError>()
    return {
      report: (error) => Effect.asVoid(Deferred.fail(deferred, error)),
      await: Deferred.await(deferred)
    }
  })
)

/**
 * Forks `effect` into the current scope; if it fails or dies (not when interrupted at
 * shutdown), the program stops with `component` named in the error.
 */
export const forkCritical = <E, R>(component: string, effect: Effect.Effect<unknown, E, R>) =>
  Effect.gen(function*() {
    const fatal = yield* Fatal
    return yield* effect.pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.void
          : fatal.report(
            new FatalError({
              component,
              reason: Cause.pretty(cause, { renderErrorCause: false }).split("\n")[0] ?? "unknown"
            })
          )
      ),
      Effect.forkScoped
    )
  })
