/**
 * The collector worker's entry point: a child process the monitor forks (workerCollector.ts)
 * so that a file read that never returns blocks this process, never joulemon's event loop.
 * A process rather than a worker thread because a thread stuck in read(2) can be neither
 * terminated nor left behind (Node joins its threads at exit); a process can be SIGKILLed.
 *
 * `Init` builds the session once; `Collect` reads one refresh and streams it back in parts, one
 * IPC message each (protocol.ts CollectPart). Logs go to stderr, which the
 * parent inherits, with the parent's format.
 */
// Module paths, not the packages' index: each index loads every module of its package (the
// HTTP API, Swagger and Scalar pages, cluster, RPC, SQL), ~40 MiB of this process's memory.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { type CollectorSession, openSession } from "./collectorSession.js"
import { CollectorRequest, WorkerScanError, WorkerSetupError } from "./protocol.js"

const handlers = Effect.gen(function*() {
  const session = yield* Ref.make(Option.none<CollectorSession>())
  return WorkerRunner.layerSerialized(CollectorRequest, {
    Init: (request) =>
      Effect.gen(function*() {
        if (Option.isSome(yield* Ref.get(session))) {
          return yield* new WorkerSetupError({ reason: "the collector worker was initialised twice" })
        }
        const opened = yield* openSession(request)
        yield* Ref.set(session, Option.some(opened))
        return opened.init
      }),
    Collect: (request) =>
      Effect.flatMap(Ref.get(session), (current) =>
        Option.match(current, {
          onNone: () =>
            new WorkerScanError({ path: "", reason: "the collector worker was asked to collect before Init" }),
          onSome: (s) => s.collect(request.skip, request.skipZones)
        })).pipe(
          Stream.fromIterableEffect,
          // WorkerRunner sends a stream chunk as one message: one part per chunk.
          Stream.rechunk(1)
        )
  })
})

const WorkerLive = Layer.unwrapEffect(handlers).pipe(Layer.provide(NodeWorkerRunner.layer))

// joulemon gone (even SIGKILLed): its end of the IPC channel closes, and so does this worker.
process.once("disconnect", () => process.exit(0))

NodeRuntime.runMain(WorkerRunner.launch(WorkerLive))
