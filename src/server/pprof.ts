/**
 * `debug.pprof.enabled`: the Node counterpart of Go's /debug/pprof (kepler-behaviour.md §6.2).
 * `/debug/pprof/profile?seconds=N` records a V8 CPU profile (open it in Chrome DevTools or
 * speedscope); `/debug/pprof/heap` streams a heap snapshot. One profile at a time: the
 * inspector has one profiler per process.
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Session } from "node:inspector/promises"
import { getHeapSnapshot } from "node:v8"
import { registerEndpoint } from "./Endpoints.js"

const MAX_PROFILE_SECONDS = 300
const DEFAULT_PROFILE_SECONDS = 30

export const profileSeconds = (url: string): number | string => {
  const raw = new URL(url, "http://localhost").searchParams.get("seconds")
  if (raw === null || raw === "") return DEFAULT_PROFILE_SECONDS
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > MAX_PROFILE_SECONDS) {
    return `seconds must be an integer from 1 to ${MAX_PROFILE_SECONDS}, got ${raw}`
  }
  return n
}

const cpuProfile = (seconds: number) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const session = new Session()
      session.connect()
      return session
    }),
    (session) =>
      Effect.gen(function*() {
        yield* Effect.promise(() => session.post("Profiler.enable"))
        yield* Effect.promise(() => session.post("Profiler.start"))
        yield* Effect.sleep(Duration.seconds(seconds))
        const { profile } = yield* Effect.promise(() => session.post("Profiler.stop"))
        return JSON.stringify(profile)
      }),
    (session) => Effect.sync(() => session.disconnect())
  )

const index = [
  "/debug/pprof/profile?seconds=30  V8 CPU profile (.cpuprofile JSON: Chrome DevTools, speedscope)",
  "/debug/pprof/heap                V8 heap snapshot (.heapsnapshot: Chrome DevTools Memory tab)",
  ""
].join("\n")

export const PprofLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const oneAtATime = yield* Effect.makeSemaphore(1)
    const busy = HttpServerResponse.text("a profile is already being recorded; try again when it is done\n", {
      status: 409
    })
    const exclusive = <E, R>(work: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
      oneAtATime.withPermitsIfAvailable(1)(work).pipe(Effect.map((r) => (r._tag === "Some" ? r.value : busy)))
    return Layer.mergeAll(
      registerEndpoint(
        Effect.succeed({
          path: "/debug/pprof/",
          summary: "pprof",
          description: "Profiling Data",
          handle: () => Effect.succeed(HttpServerResponse.text(index))
        })
      ),
      registerEndpoint(
        Effect.succeed({
          path: "/debug/pprof/profile",
          summary: "CPU profile",
          description: "V8 CPU profile for ?seconds=N (default 30)",
          handle: (request: HttpServerRequest.HttpServerRequest) => {
            const seconds = profileSeconds(request.url)
            if (typeof seconds === "string") {
              return Effect.succeed(HttpServerResponse.text(`${seconds}\n`, { status: 400 }))
            }
            return exclusive(
              Effect.map(cpuProfile(seconds), (body) =>
                HttpServerResponse.text(body, {
                  contentType: "application/json",
                  headers: { "content-disposition": "attachment; filename=\"joulemon.cpuprofile\"" }
                }))
            )
          }
        })
      ),
      registerEndpoint(
        Effect.succeed({
          path: "/debug/pprof/heap",
          summary: "Heap snapshot",
          description: "V8 heap snapshot",
          handle: () =>
            exclusive(
              Effect.sync(() =>
                HttpServerResponse.stream(
                  NodeStream.fromReadable(
                    () => getHeapSnapshot(),
                    (e) => e
                  ),
                  {
                    contentType: "application/json",
                    headers: { "content-disposition": "attachment; filename=\"joulemon.heapsnapshot\"" }
                  }
                )
              )
            )
        })
      )
    )
  })
)
