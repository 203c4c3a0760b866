/** How a benchmark child ends: its result as one JSON line on stdout, its temporary tree removed. */
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"

/** Runs `program` in a scope, prints its result as JSON, then closes the scope and removes `dir`. */
export const runBenchChild = <A, E>(program: Effect.Effect<A, E, Scope.Scope>, dir: string): void => {
  const scope = Effect.runSync(Scope.make())
  // A failure stays an unhandled rejection on purpose: Node prints it and exits non-zero.
  void Effect.runPromise(Scope.extend(program, scope))
    .then((result) => console.log(JSON.stringify(result)))
    .finally(() => {
      Effect.runFork(Scope.close(scope, Exit.void))
      fs.rmSync(dir, { recursive: true, force: true })
    })
}
