/**
 * The measurement as a scoped resource, in process: its command must not outlive it, and a
 * forwarded signal must not end it before the report.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { measure } from "../../src/measure/measure.js"
import { testConfig } from "../support/config.js"

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Waits (real time) until `file` holds a pid. */
const pidIn = (file: string) =>
  Effect.gen(function*() {
    for (;;) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : ""
      if (/^\d+$/.test(text)) return Number(text)
      yield* Effect.sleep(Duration.millis(20))
    }
  })

const loaded = { config: testConfig({ monitor: { collector: "inline" } }), warnings: [] }

describe("measure", () => {
  it.live("interrupted, it terminates the command it started", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-measure-"))
      const file = path.join(dir, "pid")
      const fiber = yield* Effect.fork(
        Effect.scoped(
          measure(loaded, {
            command: ["sh", "-c", `echo $$ > ${file}; exec sleep 60`],
            interval: Duration.millis(100),
            output: "json"
          })
        )
      )
      const pid = yield* pidIn(file).pipe(Effect.timeout(Duration.seconds(20)))
      expect(alive(pid)).toBe(true)
      yield* Fiber.interrupt(fiber)
      expect(alive(pid)).toBe(false)
      fs.rmSync(dir, { recursive: true, force: true })
    }), 30_000)

  it.live(
    "a SIGHUP to joulemon goes to the command, which dies of it: status 129, and joulemon lives on",
    () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-measure-"))
        const file = path.join(dir, "pid")
        const fiber = yield* Effect.fork(
          Effect.scoped(
            measure(loaded, {
              command: ["sh", "-c", `echo $$ > ${file}; exec sleep 60`],
              interval: Duration.millis(100),
              output: "json"
            })
          )
        )
        yield* pidIn(file).pipe(Effect.timeout(Duration.seconds(20)))
        const before = process.listenerCount("SIGHUP")
        process.kill(process.pid, "SIGHUP")
        const report = yield* Fiber.join(fiber).pipe(Effect.timeout(Duration.seconds(20)))
        expect(report.exit).toEqual({ code: null, signal: "SIGHUP", status: 129 })
        expect(report.meter.kind).toBe("estimated")
        // The forwarding listener is gone with the measurement.
        expect(process.listenerCount("SIGHUP")).toBe(before - 1)
        fs.rmSync(dir, { recursive: true, force: true })
      }),
    30_000
  )
})
