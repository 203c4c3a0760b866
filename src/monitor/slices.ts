/**
 * Running a computation written as slices (a generator that yields between them) on the event
 * loop, with one turn of the loop between two slices: pending I/O — a `/healthz` request, the
 * next chunk of a scrape — is served in between instead of after the whole computation.
 */
import * as Effect from "effect/Effect"

/** setImmediate, not a microtask: only a macrotask lets the loop poll for I/O. */
export const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** `slices` to the end; a throw from a slice fails the effect with `onThrow`'s error. */
export const runSliced = <A, E>(
  slices: Generator<void, A, undefined>,
  onThrow: (e: unknown) => E
): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    for (;;) {
      const next = yield* Effect.try({ try: () => slices.next(), catch: onThrow })
      if (next.done === true) return next.value
      yield* nextTurn
    }
  })

/** `slices` run to the end at once, with no pause: the same computation, for callers off the event loop. */
export const runToEnd = <A>(slices: Generator<void, A, undefined>): A => {
  for (;;) {
    const next = slices.next()
    if (next.done === true) return next.value
  }
}
