/**
 * The bcrypt worker thread's entry point (bcryptWorkerCheck.ts starts it): bcryptjs is pure
 * JavaScript and holds whichever thread runs it for the whole comparison (~75 ms at cost 10),
 * so it runs here, never on the thread that serves /metrics and the health checks.
 */
import { WorkerRunner } from "@effect/platform"
import { NodeRuntime, NodeWorkerRunner } from "@effect/platform-node"
import bcrypt from "bcryptjs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { BcryptCompare } from "./bcryptProtocol.js"

const WorkerLive = WorkerRunner.layerSerialized(BcryptCompare, {
  BcryptCompare: ({ hash, password }) =>
    Effect.try({
      // The synchronous compare: this thread has nothing else to do, and the asynchronous one
      // only adds the slicing that exists to keep an event loop responsive.
      try: () => bcrypt.compareSync(password, hash),
      catch: (e) => (e instanceof Error ? e.message : String(e))
    })
}).pipe(Layer.provide(NodeWorkerRunner.layer))

NodeRuntime.runMain(WorkerRunner.launch(WorkerLive))
