/**
 * The password check basic auth uses in production: bcrypt in a worker thread (bcryptWorker.ts),
 * so a flood of password guesses costs that thread's time, never the event loop's — /metrics,
 * /healthz and /readyz keep answering while it works through them. One thread: basic auth
 * runs one check at a time anyway (basicAuth.ts), and a second would only let a flood take a
 * second core from the refresh.
 */
import { Worker } from "@effect/platform"
import { NodeWorker } from "@effect/platform-node"
import type { WorkerError } from "@effect/platform/WorkerError"
import { Effect, type Scope, ScopedRef } from "effect"
import { fileURLToPath } from "node:url"
import * as WorkerThreads from "node:worker_threads"
import type { PasswordCheck } from "./basicAuth.js"
import { BcryptCompare } from "./bcryptProtocol.js"

const workerScript = (): string =>
  fileURLToPath(import.meta.url).replace(/bcryptWorkerCheck\.(ts|js)$/, "bcryptWorker.$1")

/**
 * From the sources (tests, `tsx`), a worker thread cannot load TypeScript by itself: it loads
 * the script through tsx's API instead. The built package runs the JavaScript directly.
 */
const spawnThread = (script: string): WorkerThreads.Worker => {
  const options: WorkerThreads.WorkerOptions = { stdout: false, stderr: false }
  if (!script.endsWith(".ts")) return new WorkerThreads.Worker(script, options)
  const url = JSON.stringify(new URL(`file://${script}`).href)
  return new WorkerThreads.Worker(`import("tsx/esm/api").then((tsx) => tsx.tsImport(${url}, ${url}))`, {
    ...options,
    eval: true
  })
}

/**
 * A worker that died (it should not: bcrypt allocates little) fails its pending check, which
 * refuses that request, and is replaced for the next one.
 */
export const makeBcryptWorkerCheck = (
  script: string = workerScript()
): Effect.Effect<PasswordCheck, WorkerError, Scope.Scope> =>
  Effect.gen(function*() {
    const spawn = Worker.makeSerialized<BcryptCompare>({}).pipe(
      Effect.provide(NodeWorker.layer(() => spawnThread(script)))
    )
    const current = yield* ScopedRef.fromAcquire(spawn)
    const refuse = (reason: string) =>
      Effect.logError("bcrypt comparison failed; refusing").pipe(
        Effect.annotateLogs({ component: "web", error: reason }),
        Effect.as(false)
      )
    return (password, hash) =>
      ScopedRef.get(current).pipe(
        Effect.flatMap((worker) => worker.executeEffect(new BcryptCompare({ password, hash }))),
        Effect.catchTags({
          WorkerError: (error) =>
            refuse(error.message).pipe(
              Effect.zipLeft(
                ScopedRef.set(current, spawn).pipe(
                  Effect.catchAll((e) =>
                    Effect.logError("cannot restart the bcrypt worker").pipe(Effect.annotateLogs({ error: e.message }))
                  )
                )
              )
            ),
          ParseError: (error) => refuse(error.message)
        }),
        Effect.catchIf((e): e is string => typeof e === "string", refuse)
      )
  })
