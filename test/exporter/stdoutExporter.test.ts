import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Ref, TestClock } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { CLEAR_SCREEN, StdoutExporter, StdoutExporterLive } from "../../src/exporter/stdout/StdoutExporter.js"
import { StdoutWriteError, StdoutWriter, type StdoutWriterShape } from "../../src/exporter/stdout/StdoutWriter.js"
import { Fatal, FatalLive } from "../../src/Fatal.js"
import { makePowerMonitor, PowerMonitor } from "../../src/monitor/PowerMonitor.js"
import { constantPowerZone, controlledInformer, meterOf } from "../support/fakes.js"
import { settle } from "../support/settle.js"

/** Compile-time check of the composition contract app.ts relies on. */
const _contract: Layer.Layer<never, never, PowerMonitor | Fatal> = StdoutExporterLive
void _contract

const monitorLayer = Layer.scoped(
  PowerMonitor,
  Effect.gen(function*() {
    const ctl = yield* controlledInformer
    return yield* makePowerMonitor(
      meterOf([constantPowerZone("package", 40), constantPowerZone("dram", 8)]),
      ctl.informer,
      {
        interval: Duration.zero,
        staleness: Duration.millis(500),
        parallelism: 2,
        maxPlausibleWatts: 5000,
        maxTerminated: 500,
        minTerminatedEnergyThreshold: 10
      }
    )
  })
)

/** A writer that records frames; while `gate` holds a Deferred, each write waits for it. */
const capturingWriter = (isTTY: boolean) =>
  Effect.gen(function*() {
    const frames = yield* Ref.make<ReadonlyArray<string>>([])
    const gate = yield* Ref.make(Option.none<Deferred.Deferred<void>>())
    const writer: StdoutWriterShape = {
      isTTY,
      write: (text) =>
        Effect.gen(function*() {
          const g = yield* Ref.get(gate)
          if (Option.isSome(g)) yield* Deferred.await(g.value)
          yield* Ref.update(frames, (f) => [...f, text])
        })
    }
    return { frames, gate, writer }
  })

const refreshSeq = (frame: string): number => Number(/refresh #(\d+)/.exec(frame)?.[1] ?? -1)

/** Starts the exporter (top 5) over `writer` in the test's scope, on an already-built monitor and Fatal. */
const startExporter = (writer: StdoutWriterShape) =>
  Layer.build(StdoutExporter({ top: 5 }).pipe(Layer.provide(Layer.succeed(StdoutWriter, writer))))

describe("stdout exporter", () => {
  it.scoped("draws the latest snapshot at start, then each new one, appended with a blank line when not a terminal", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(Layer.merge(monitorLayer, FatalLive))
      const monitor = yield* Effect.provide(PowerMonitor, context)
      yield* monitor.refresh
      const { frames, writer } = yield* capturingWriter(false)
      yield* startExporter(writer).pipe(Effect.provide(context))
      yield* settle
      yield* TestClock.adjust(Duration.seconds(1))
      yield* monitor.refresh
      yield* settle
      const written = yield* Ref.get(frames)
      expect(written.map(refreshSeq)).toEqual([1, 2])
      for (const f of written) {
        expect(f.startsWith("joulemon · ")).toBe(true)
        expect(f).toContain("│  ZONE   │ POWER ( W ) │ ABSOLUTE ( J ) │")
        expect(f.endsWith("\n\n")).toBe(true)
      }
      // 40 W and 8 W over one second of test clock.
      expect(written[1]).toContain("│ package │      40.00W │         40.00J │")
      expect(written[1]).toContain("│    dram │       8.00W │          8.00J │")
      expect(written[1]).toContain("Top 3 of 3 running processes by package power")
    }))

  it.scoped("redraws in place on a terminal", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(Layer.merge(monitorLayer, FatalLive))
      const monitor = yield* Effect.provide(PowerMonitor, context)
      const { frames, writer } = yield* capturingWriter(true)
      yield* startExporter(writer).pipe(Effect.provide(context))
      yield* monitor.refresh
      yield* settle
      const written = yield* Ref.get(frames)
      expect(written.length).toBeGreaterThan(0)
      for (const f of written) expect(f.startsWith(`${CLEAR_SCREEN}joulemon · `)).toBe(true)
    }))

  it.scoped("a stuck writer never blocks the monitor; it then draws only the newest snapshot", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(Layer.merge(monitorLayer, FatalLive))
      const monitor = yield* Effect.provide(PowerMonitor, context)
      yield* monitor.refresh
      const { frames, gate, writer } = yield* capturingWriter(false)
      const open = yield* Deferred.make<void>()
      yield* Ref.set(gate, Option.some(open))
      yield* startExporter(writer).pipe(Effect.provide(context))
      yield* settle // the exporter is now stuck writing snapshot 1
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust(Duration.seconds(1))
        // Completes although the writer is stuck: the monitor does not wait for the exporter.
        const refresh = yield* Effect.fork(monitor.refresh)
        yield* settle
        const done = yield* Fiber.poll(refresh)
        expect(Option.isSome(done) && Exit.isSuccess(done.value)).toBe(true)
      }
      expect(yield* Ref.get(frames)).toEqual([])
      yield* Deferred.succeed(open, undefined)
      yield* settle
      expect((yield* Ref.get(frames)).map(refreshSeq)).toEqual([1, 6])
    }))

  it.scoped("a write failure ends the program through Fatal, naming the exporter and the cause", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(Layer.merge(monitorLayer, FatalLive))
      const monitor = yield* Effect.provide(PowerMonitor, context)
      const fatal = yield* Effect.provide(Fatal, context)
      yield* monitor.refresh
      const failing: StdoutWriterShape = {
        isTTY: false,
        write: () => Effect.fail(new StdoutWriteError({ code: "EPIPE", reason: "write EPIPE" }))
      }
      yield* startExporter(failing).pipe(Effect.provide(context))
      const error = yield* fatal.await.pipe(Effect.flip)
      expect(error.component).toBe("stdout exporter")
      expect(error.message).toContain("stdout exporter failed: ")
      expect(error.message).toContain("cannot write to stdout: write EPIPE (the reader of the output went away")
    }))
})

describe("stdout exporter on a real pipe", () => {
  it.live("exits non-zero, naming EPIPE, when the reader of its output goes away (Kepler exits 0)", () =>
    Effect.gen(function*() {
      const child = spawn(process.execPath, [
        "--import",
        "tsx",
        fileURLToPath(new URL("./stdoutPipeChild.ts", import.meta.url))
      ], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      const stderr: Array<Buffer> = []
      child.stderr.on("data", (c: Buffer) => stderr.push(c))
      // Read the first frame, then hang up like `head` does.
      const first = yield* Effect.async<string>((resume) => {
        child.stdout.once("data", (c: Buffer) => {
          child.stdout.destroy()
          resume(Effect.succeed(c.toString()))
        })
      })
      const code = yield* Effect.async<number | null>((resume) => {
        if (child.exitCode !== null) resume(Effect.succeed(child.exitCode))
        else child.once("exit", (c) => resume(Effect.succeed(c)))
      }).pipe(
        Effect.timeoutFail({
          duration: Duration.seconds(20),
          onTimeout: () => "the child did not exit after its stdout closed"
        }),
        Effect.ensuring(Effect.sync(() => child.kill()))
      )
      expect(first).toContain("joulemon · ")
      expect(code).toBe(1)
      const log = Buffer.concat(stderr).toString()
      expect(log).toContain("stdout exporter failed")
      expect(log).toContain("EPIPE")
    }))
})
