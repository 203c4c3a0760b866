/**
 * `joulemon record` and `joulemon replay` as programs the CLI runs (src/cli/command.ts).
 *
 * record: the daemon as configured — serving /metrics at web.listen-address — with its collector
 * replaced by the recording one (recordingLayer), until `--count` refreshes are recorded,
 * `--duration` has passed, or SIGINT/SIGTERM. With `kube.enabled` the pod informer's answers
 * are recorded with each reading. GPU readings are not recorded, so `experimental.gpu.enabled`
 * is refused with the reason; the checkpoint is off (resumed counters would not be in the
 * recording).
 *
 * replay: the recording's refreshes through the same code (replay.ts); `--output` writes the
 * exposition of every refresh; otherwise /metrics is served at `--listen`, one refresh per
 * scrape or, with `--pace recorded`, advancing one refresh per recorded interval (the last
 * stays once all were served). With `exporter.stdout`, each refresh's terminal view is drawn as
 * it is replayed.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as fs from "node:fs"
import * as http from "node:http"
import { coreWith, webLayer } from "../app.js"
import { AppConfig } from "../config/Config.js"
import { toListenTarget } from "../config/listenAddress.js"
import type { LoadedConfig } from "../config/load.js"
import { DEFAULT_TOP } from "../exporter/stdout/render.js"
import { frame } from "../exporter/stdout/StdoutExporter.js"
import { StdoutWriter, StdoutWriterLive } from "../exporter/stdout/StdoutWriter.js"
import { FatalLive } from "../Fatal.js"
import { loggerLayer } from "../logging.js"
import type { ReplayPace } from "./pace.js"
import { Recorder, recordingLayer } from "./Recorder.js"
import { readRecording, replay } from "./replay.js"

export class RecordRefused extends Data.TaggedError("RecordRefused")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/** Every way record and replay stop with an error, as one error with the message to print. */
const asRefused = (e: { readonly message: string }): RecordRefused =>
  e instanceof RecordRefused ? e : new RecordRefused({ reason: e.message })

export interface RecordCommandOptions {
  readonly out: string
  readonly count: Option.Option<number>
  readonly duration: Option.Option<Duration.Duration>
}

export const runRecord = (loaded: LoadedConfig, options: RecordCommandOptions) => {
  const config = { ...loaded.config, monitor: { ...loaded.config.monitor, stateDir: "" } }
  return Effect.gen(function*() {
    if (config.experimental.gpu.enabled) {
      return yield* new RecordRefused({
        reason:
          "joulemon record: GPU readings are not recorded yet; run it without --experimental.gpu.enabled (experimental.gpu.enabled)"
      })
    }
    if (loaded.config.monitor.stateDir !== "") {
      yield* Effect.logWarning(
        "monitor.stateDir is ignored while recording: counters resumed from a checkpoint would not be in the recording"
      )
    }
    const layer = webLayer(config).pipe(
      Layer.provideMerge(coreWith(recordingLayer({ out: options.out, count: Option.getOrUndefined(options.count) }))),
      Layer.provide(Layer.succeed(AppConfig, config))
    )
    const context = yield* Layer.build(layer)
    const recorder = Context.get(context, Recorder)
    yield* Effect.logInfo("recording").pipe(Effect.annotateLogs({ out: options.out }))
    const untilDuration = Option.match(options.duration, {
      onNone: () => Effect.never,
      onSome: (d) => Effect.sleep(d)
    })
    yield* Effect.race(Deferred.await(recorder.full), untilDuration)
    const n = yield* recorder.recorded
    yield* Effect.logInfo(`recorded ${n} refresh(es) to ${options.out}`)
  }).pipe(
    Effect.scoped,
    Effect.provide(FatalLive),
    Effect.mapError(asRefused),
    Effect.annotateLogs({ component: "record" }),
    Effect.provide(loggerLayer(config))
  )
}

export interface ReplayCommandOptions {
  readonly file: string
  /** Write every refresh's exposition here ("-" for stdout) and exit. */
  readonly output: Option.Option<string>
  /** Otherwise serve /metrics here, one refresh per scrape. */
  readonly listen: string
  readonly pace: ReplayPace
}

/** The gaps between consecutive recorded refreshes, never negative (a clock stepped back). */
const recordedGaps = (timestamps: ReadonlyArray<number>): ReadonlyArray<number> =>
  timestamps.slice(1).map((t, i) => Math.max(0, t - (timestamps[i] ?? t)))

/** The exposition of every refresh, each after a comment line naming it. */
const allExpositions = (texts: ReadonlyArray<{ readonly exposition: string; readonly timestamp: number }>) =>
  texts.map((t, i) =>
    `# joulemon replay: refresh ${i + 1} of ${texts.length}, recorded at ${
      new Date(t.timestamp).toISOString()
    }\n${t.exposition}`
  ).join("")

export const runReplay = (loaded: LoadedConfig, options: ReplayCommandOptions) =>
  Effect.gen(function*() {
    const recording = yield* readRecording(options.file)
    const refreshes = yield* replay(recording)
    const texts = refreshes.map((r) => ({ exposition: r.exposition, timestamp: r.snapshot.timestamp }))
    // exporter.stdout: the terminal view of each refresh as it is replayed, as the daemon draws it.
    const view = loaded.config.exporter.stdout.enabled
    if (view && Option.isSome(options.output) && options.output.value === "-") {
      return yield* new RecordRefused({
        reason: "--output - and --exporter.stdout would both write to stdout; give --output a file"
      })
    }
    const writer = view
      ? Option.some(Context.get(yield* Layer.build(StdoutWriterLive), StdoutWriter))
      : Option.none()
    const draw = (i: number) =>
      Option.match(writer, {
        onNone: () => Effect.void,
        onSome: (w) => {
          const r = refreshes[i]
          return r === undefined ? Effect.void : Effect.orDie(w.write(frame(r.snapshot, w.isTTY, { top: DEFAULT_TOP })))
        }
      })
    if (Option.isSome(options.output)) {
      const text = allExpositions(texts)
      const out = options.output.value
      if (out === "-") {
        yield* Effect.sync(() => process.stdout.write(text))
      } else {
        yield* Effect.try({
          try: () => {
            fs.writeFileSync(`${out}.partial`, text)
            fs.renameSync(`${out}.partial`, out)
          },
          catch: (e) =>
            new RecordRefused({ reason: `cannot write ${out}: ${e instanceof Error ? e.message : String(e)}` })
        })
      }
      yield* Effect.forEach(refreshes, (_, i) => draw(i), { discard: true })
      return
    }
    const target = toListenTarget(options.listen)
    if (Either.isLeft(target)) return yield* new RecordRefused({ reason: `--listen: ${target.left}` })
    // scrape: the refresh the next scrape gets. recorded: the refresh the replay is at.
    const next = yield* Ref.make(0)
    const served = (i: number) => options.pace === "scrape" ? draw(i) : Effect.void
    const server = yield* NodeHttpServer.make(() => http.createServer(), {
      port: target.right.port,
      ...(target.right.host === undefined ? {} : { host: target.right.host })
    }).pipe(
      Effect.mapError((e) => new RecordRefused({ reason: `cannot listen on ${options.listen}: ${String(e.cause)}` }))
    )
    yield* server.serve(Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!request.url.startsWith("/metrics")) return HttpServerResponse.text("404 page not found\n", { status: 404 })
      const i = options.pace === "scrape"
        ? yield* Ref.getAndUpdate(next, (n) => Math.min(n + 1, texts.length - 1))
        : yield* Ref.get(next)
      yield* served(i)
      const text = texts[i]?.exposition ?? ""
      return HttpServerResponse.text(text, {
        contentType: "text/plain; version=0.0.4; charset=utf-8",
        headers: { "x-joulemon-replay-refresh": `${i + 1}/${texts.length}` }
      })
    }))
    const bound = server.address
    yield* Effect.logInfo("replaying").pipe(
      Effect.annotateLogs({
        file: options.file,
        refreshes: texts.length,
        url: bound._tag === "TcpAddress" ? `http://${bound.hostname}:${bound.port}/metrics` : bound.path
      })
    )
    if (options.pace === "recorded") {
      yield* draw(0)
      yield* Effect.forEach(recordedGaps(texts.map((t) => t.timestamp)), (gap, i) =>
        Effect.sleep(Duration.millis(gap)).pipe(
          Effect.zipRight(Ref.set(next, i + 1)),
          Effect.zipRight(draw(i + 1))
        ), { discard: true })
      yield* Effect.logInfo("replayed every refresh; the last one stays at /metrics")
    }
    return yield* Effect.never
  }).pipe(
    Effect.scoped,
    Effect.mapError(asRefused),
    Effect.annotateLogs({ component: "replay" }),
    Effect.provide(loggerLayer(loaded.config))
  )
