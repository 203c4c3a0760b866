/**
 * The password check basic auth uses in production: bcrypt in a worker thread (bcryptWorker.ts),
 * so a flood of password guesses costs that thread's time, never the event loop's — /metrics,
 * /healthz and /readyz keep answering while it works through them. One thread: basic auth
 * runs one check at a time anyway (basicAuth.ts), and a second would only let a flood take a
 * second core from the refresh.
 */
import { Worker } from "@effect/platform"
import { NodeWorker } from "@effect/platform-node"
import bcrypt from "bcryptjs"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import * as ScopedRef from "effect/ScopedRef"
import * as WorkerThreads from "node:worker_threads"
import { siblingEntry } from "../installLayout.js"
import type { PasswordCheck } from "./basicAuth.js"
import { BcryptCompare } from "./bcryptProtocol.js"

const workerScript = (): string => siblingEntry(import.meta.url, "bcryptWorker")

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

/** The worker thread did not start or did not answer; `reason` says why. */
export class BcryptWorkerStartError extends Data.TaggedError("BcryptWorkerStartError")<{
  readonly reason: string
}> {
  override get message(): string {
    return `the bcrypt worker thread did not start: ${this.reason}`
  }
}

export interface BcryptWorkerOptions {
  /** The worker's entry point: bcryptWorker.ts/.js next to this file unless a test says otherwise. */
  readonly script?: string
  /** How long a start may take, up to the worker's first answer. */
  readonly startTimeout?: Duration.DurationInput
}

/**
 * The built worker answers in well under a second; from the sources tsx compiles it first,
 * a few seconds on a busy machine. Past this, passwords are checked on the main thread.
 */
export const BCRYPT_WORKER_START_TIMEOUT = Duration.seconds(15)

/** A hash of "" at the lowest cost: the start's test comparison costs about a millisecond. */
const PROBE_HASH = bcrypt.hashSync("", 4)

/** The cause's message: a WorkerError's own says only "An unexpected error occurred". */
const describe = (e: unknown): string =>
  e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e)

/**
 * One worker, started and asked one comparison before it counts as started. @effect/platform
 * respawns a thread that fails every second and waits for it forever, and ScopedRef's acquire
 * is uninterruptible — so without the race with the thread's first error and the deadline, a
 * missing or broken script hung the web config layer, and with it joulemon's start, for good.
 */
const startWorker = (script: string, timeout: Duration.DurationInput) =>
  Effect.gen(function*() {
    const failed = yield* Deferred.make<never, BcryptWorkerStartError>()
    const thread = () => {
      const worker = spawnThread(script)
      const fail = (reason: string) => Deferred.unsafeDone(failed, Exit.fail(new BcryptWorkerStartError({ reason })))
      worker.once("error", (e) => fail(describe(e)))
      worker.once("exit", (code) => fail(`the thread exited with code ${code}`))
      return worker
    }
    const started = Effect.gen(function*() {
      const worker = yield* Worker.makeSerialized<BcryptCompare>({}).pipe(
        Effect.provide(NodeWorker.layer(thread)),
        Effect.mapError((e) => new BcryptWorkerStartError({ reason: describe(e) }))
      )
      const answer = yield* worker.executeEffect(new BcryptCompare({ password: "", hash: PROBE_HASH })).pipe(
        Effect.mapError((e) => new BcryptWorkerStartError({ reason: describe(e) }))
      )
      if (!answer) return yield* new BcryptWorkerStartError({ reason: "its test comparison came out wrong" })
      return worker
    })
    return yield* Effect.raceFirst(started, Deferred.await(failed)).pipe(
      Effect.interruptible,
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new BcryptWorkerStartError({ reason: `no answer within ${Duration.format(Duration.decode(timeout))}` })
      })
    )
  })

/**
 * A worker that died (it should not: bcrypt allocates little) fails its pending check, which
 * refuses that request, and is replaced for the next one. Fails when the first worker does not
 * start (webConfig.ts then checks on the main thread, and says so).
 */
export const makeBcryptWorkerCheck = (
  options: BcryptWorkerOptions = {}
): Effect.Effect<PasswordCheck, BcryptWorkerStartError, Scope.Scope> =>
  Effect.gen(function*() {
    const spawn = startWorker(options.script ?? workerScript(), options.startTimeout ?? BCRYPT_WORKER_START_TIMEOUT)
    const current = yield* ScopedRef.fromAcquire(spawn)
    yield* Effect.logDebug("bcrypt worker thread started").pipe(Effect.annotateLogs({ component: "web" }))
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
            refuse(describe(error)).pipe(
              Effect.zipLeft(
                // Bounded by the start's deadline: this request (and the one-at-a-time permit
                // it holds) waits for the replacement, so it must not wait forever.
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
