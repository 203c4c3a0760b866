/**
 * bcrypt runs off the main thread (issue 16): the worker check answers as bcrypt does while the
 * event loop keeps ticking, a flood of wrong passwords through the real server does not stall
 * it, and a worker that cannot start is said at WARN while passwords are still checked (on the
 * main thread). Stalls are compared with one bcrypt hash's cost measured here, on this machine
 * and at this moment, rather than with a wall-clock constant.
 */
import { describe, expect, it } from "@effect/vitest"
import bcrypt from "bcryptjs"
import { Duration, Effect, Fiber, LogLevel } from "effect"
import * as fs from "node:fs/promises"
import { performance } from "node:perf_hooks"
import { makeBcryptWorkerCheck } from "../../src/server/bcryptWorkerCheck.js"
import { makeWebConfigLayer } from "../../src/server/webConfig.js"
import { withLogs } from "../support/logs.js"
import { basic, get, serve, writeConfig } from "./realServer.js"

/** Cost 12: one hash is ~300 ms, far above the event loop's ordinary hiccups. */
const COST = 12
const HASH = bcrypt.hashSync("s3cret", COST)

/** One bcrypt comparison on this thread: the stall the worker exists to avoid. */
const mainThreadHashMillis = (): number => {
  const start = performance.now()
  bcrypt.compareSync("not the password", HASH)
  return performance.now() - start
}

/**
 * Runs `effect` while a 5 ms interval ticks; returns its result and the longest gap between
 * ticks (or between the start, a tick and the end) — what any other request would have waited.
 */
const longestStallDuring = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    let last = performance.now()
    let longest = 0
    const timer = setInterval(() => {
      const now = performance.now()
      longest = Math.max(longest, now - last)
      last = now
    }, 5)
    const result = yield* effect.pipe(Effect.ensuring(Effect.sync(() => clearInterval(timer))))
    longest = Math.max(longest, performance.now() - last)
    return { result, longest }
  })

describe("bcrypt worker thread", () => {
  it.live("answers as bcrypt does, while the main thread's event loop keeps ticking", () =>
    Effect.gen(function*() {
      const check = yield* makeBcryptWorkerCheck()
      const one = mainThreadHashMillis()
      const passwords = ["s3cret", "wrong", "", "s3cret\n"]
      const { result, longest } = yield* longestStallDuring(
        Effect.forEach(passwords, (p) => check(p, HASH), { concurrency: "unbounded" })
      )
      expect(result).toEqual(passwords.map((p) => bcrypt.compareSync(p, HASH)))
      expect(result).toEqual([true, false, false, false])
      // Four hashes' work went by; on the main thread the loop would have stopped for each.
      expect(longest).toBeLessThan(one / 4)
    }).pipe(Effect.scoped), 60_000)

  it.live("a worker that cannot start fails at once, naming why", () =>
    Effect.gen(function*() {
      const start = performance.now()
      const error = yield* makeBcryptWorkerCheck({ script: "/nonexistent/bcryptWorker.js" }).pipe(Effect.flip)
      expect(error._tag).toBe("BcryptWorkerStartError")
      expect(error.message).toContain("the bcrypt worker thread did not start: ")
      expect(error.message).toContain("/nonexistent/bcryptWorker.js")
      // From the thread's own error, not the start deadline.
      expect(performance.now() - start).toBeLessThan(10_000)
    }).pipe(Effect.scoped), 30_000)

  it.live("a worker that never answers fails at the start deadline", () =>
    Effect.gen(function*() {
      const dir = yield* writeConfig("")
      // A script that runs but never starts the worker runner: no ready message, no error.
      const script = dir.replace(/web\.yml$/, "silent.mjs")
      yield* Effect.promise(() => fs.writeFile(script, "setInterval(() => {}, 1000)\n"))
      const error = yield* makeBcryptWorkerCheck({ script, startTimeout: Duration.millis(500) }).pipe(Effect.flip)
      expect(error.message).toBe("the bcrypt worker thread did not start: no answer within 500ms")
    }).pipe(Effect.scoped), 30_000)

  it.live("a flood of wrong passwords through the real server never stalls the event loop for a hash", () =>
    withLogs(
      Effect.gen(function*() {
        const file = yield* writeConfig(`basic_auth_users:\n  prometheus: ${HASH}\n`)
        const port = yield* serve(file)
        const url = `http://127.0.0.1:${port}/metrics`
        const one = mainThreadHashMillis()
        // One guess per address, so the per-client limit lets every one through to bcrypt:
        // 10 hashes, one at a time.
        const { result, longest } = yield* longestStallDuring(
          Effect.gen(function*() {
            const flood = yield* Effect.forEach(
              Array.from({ length: 10 }, (_, i) => i),
              (i) =>
                get(url, {
                  headers: basic("prometheus", `guess-${i}`),
                  localAddress: `127.0.0.${i + 2}`,
                  timeout: 60_000
                }),
              { concurrency: "unbounded" }
            ).pipe(Effect.fork)
            const health = yield* get(`http://127.0.0.1:${port}/healthz`)
            return { health, flood: yield* Fiber.join(flood) }
          })
        )
        expect(result.health.status).toBe(200)
        expect(result.flood.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 401))
        expect(longest).toBeLessThan(one / 4)
        expect((yield* get(url, { headers: basic("prometheus", "s3cret"), timeout: 60_000 })).status).toBe(200)
      }).pipe(Effect.scoped),
      LogLevel.Debug
    ).pipe(
      Effect.map(([, lines]) => {
        const messages = lines.map((l) => l.message)
        // The checks ran in the worker: it started, and there was no fallback.
        expect(messages).toContain("bcrypt worker thread started")
        expect(messages.filter((m) => m.startsWith("cannot start the bcrypt worker thread"))).toEqual([])
      })
    ), 120_000)

  it.live(
    "a worker that cannot start is logged at WARN with the reason, and passwords are still checked",
    () =>
      withLogs(
        Effect.gen(function*() {
          const file = yield* writeConfig(
            "basic_auth_users:\n  prometheus: $2y$08$pVA38559dnb1ZNNpf5ZdBeY53/PPPVxUE7mTyeYm/BlfR/W8xLX4q\n"
          )
          const port = yield* serve(
            file,
            makeWebConfigLayer(undefined, { script: "/nonexistent/bcryptWorker.js" })
          )
          const url = `http://127.0.0.1:${port}/metrics`
          expect((yield* get(url)).status).toBe(401)
          expect((yield* get(url, { headers: basic("prometheus", "wrong") })).status).toBe(401)
          expect((yield* get(url, { headers: basic("prometheus", "s3cret") })).status).toBe(200)
        }).pipe(Effect.scoped)
      ).pipe(
        Effect.map(([, lines]) => {
          const fallback = lines.filter((l) => l.message.startsWith("cannot start the bcrypt worker thread"))
          expect(fallback).toHaveLength(1)
          expect(fallback[0]?.level).toBe("WARN")
          expect(fallback[0]?.message).toContain("checking passwords on the main thread")
          expect(String(fallback[0]?.annotations["error"])).toMatch(
            /^the bcrypt worker thread did not start: .*\/nonexistent\/bcryptWorker\.js/
          )
        })
      ),
    60_000
  )
})
