import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, Exit, Fiber, Option, Queue, Ref, TestClock } from "effect"
import { CollectorError } from "../../src/collector/Collector.js"
import { makePowerMonitor, makePowerMonitorWith, type MonitorOptions } from "../../src/monitor/PowerMonitor.js"
import { constantPowerZone, controlledInformer, meterOf } from "../support/fakes.js"
import { settle } from "../support/settle.js"

const options = (over: Partial<MonitorOptions> = {}): MonitorOptions => ({
  interval: Duration.zero,
  staleness: Duration.millis(500),
  parallelism: 4,
  maxPlausibleWatts: 5000,
  maxTerminated: 500,
  minTerminatedEnergyThreshold: 10,
  ...over
})

const setup = (over: Partial<MonitorOptions> = {}) =>
  Effect.gen(function*() {
    const ctl = yield* controlledInformer
    const monitor = yield* makePowerMonitor(
      meterOf([constantPowerZone("package", 40), constantPowerZone("dram", 8)]),
      ctl.informer,
      options(over)
    )
    return { ...ctl, monitor }
  })

describe("PowerMonitor — singleflight", () => {
  it.scoped("100 concurrent stale callers share exactly one computation", () =>
    Effect.gen(function*() {
      const { monitor, calls, gate } = yield* setup()
      // interval 0: the loop does one initial refresh; let it finish first.
      yield* monitor.snapshot
      expect(yield* Ref.get(calls)).toBe(1)
      const joinsBefore = (yield* monitor.stats).singleflightJoins
      yield* TestClock.adjust(Duration.seconds(1))
      const open = yield* Deferred.make<void>()
      yield* Ref.set(gate, Option.some(open))
      const fibers = yield* Effect.forEach(Array.from({ length: 100 }), () => Effect.fork(monitor.snapshot))
      yield* settle
      yield* Deferred.succeed(open, undefined)
      const results = yield* Effect.forEach(fibers, Fiber.join)
      expect(yield* Ref.get(calls)).toBe(2)
      expect(new Set(results.map((s) => s.sequence))).toEqual(new Set([2]))
      expect((yield* monitor.stats).singleflightJoins - joinsBefore).toBe(99)
    }))

  it.scoped("a failure reaches every waiting caller once and is not cached", () =>
    Effect.gen(function*() {
      const { monitor, calls, gate, failing } = yield* setup()
      yield* monitor.snapshot
      yield* TestClock.adjust(Duration.seconds(1))
      const open = yield* Deferred.make<void>()
      yield* Ref.set(gate, Option.some(open))
      yield* Ref.set(failing, true)
      const fibers = yield* Effect.forEach(Array.from({ length: 100 }), () =>
        Effect.fork(Effect.either(monitor.snapshot)))
      yield* settle
      yield* Deferred.succeed(open, undefined)
      const results = yield* Effect.forEach(fibers, Fiber.join)
      expect(results.every(Either.isLeft)).toBe(true)
      expect(yield* Ref.get(calls)).toBe(2)
      expect((yield* monitor.stats).refreshErrors.resources).toBe(1)
      // Not cached: the next caller computes again and succeeds.
      yield* Ref.set(failing, false)
      const next = yield* monitor.snapshot
      expect(yield* Ref.get(calls)).toBe(3)
      expect(next.sequence).toBe(2)
      // The previous snapshot stayed in place while the refresh failed.
      expect(Option.map(yield* monitor.latest, (s) =>
        s.sequence)).toEqual(Option.some(2))
    }))

  it.scoped("a refresh started from an uninterruptible caller (a scrape handler) can still be stopped by its deadline", () =>
    Effect.gen(function*() {
      const meter = meterOf([constantPowerZone("package", 40)])
      // The loop's initial refresh fails at once; the next collection never returns by itself,
      // bounded by a deadline the way the worker's is.
      const collections = yield* Ref.make(0)
      const stuck = {
        cpuInfo: [],
        collect: Effect.flatMap(Ref.getAndUpdate(collections, (n) => n + 1), (n) =>
          n === 0
            ? Effect.fail(new CollectorError({ reason: "not yet" }))
            : Effect.never.pipe(
              Effect.timeoutFail({
                duration: Duration.seconds(5),
                onTimeout: () => new CollectorError({ reason: "missed its deadline" })
              })
            ))
      }
      const monitor = yield* makePowerMonitorWith(meter, stuck, options())
      yield* settle
      expect(yield* Ref.get(collections)).toBe(1)
      const caller = yield* Effect.fork(Effect.uninterruptible(Effect.either(monitor.snapshot)))
      yield* settle
      yield* TestClock.adjust(Duration.seconds(5))
      yield* settle
      const done = yield* Fiber.poll(caller)
      expect(Option.map(done, Exit.map(Either.mapLeft((e) => e.message)))).toEqual(
        Option.some(Exit.succeed(Either.left("refresh failed at resources: missed its deadline")))
      )
    }))

  it.scoped("an interrupted caller does not cancel the refresh the others wait for", () =>
    Effect.gen(function*() {
      const { monitor, calls, gate } = yield* setup()
      yield* monitor.snapshot
      yield* TestClock.adjust(Duration.seconds(1))
      const open = yield* Deferred.make<void>()
      yield* Ref.set(gate, Option.some(open))
      const starter = yield* Effect.fork(monitor.snapshot)
      yield* settle
      const others = yield* Effect.forEach(Array.from({ length: 99 }), () => Effect.fork(monitor.snapshot))
      yield* settle
      const interrupted = yield* Fiber.interrupt(starter)
      expect(Exit.isInterrupted(interrupted)).toBe(true)
      yield* Deferred.succeed(open, undefined)
      const results = yield* Effect.forEach(others, Fiber.join)
      expect(results.map((s) => s.sequence)).toEqual(Array.from({ length: 99 }, () => 2))
      expect(yield* Ref.get(calls)).toBe(2)
    }))
})

describe("PowerMonitor — staleness and the loop", () => {
  it.scoped("returns the same snapshot within the staleness window and refreshes after it", () =>
    Effect.gen(function*() {
      const { monitor, calls } = yield* setup({ staleness: Duration.millis(500) })
      const a = yield* monitor.snapshot
      yield* TestClock.adjust(Duration.millis(500))
      const b = yield* monitor.snapshot
      expect(b).toBe(a)
      yield* TestClock.adjust(Duration.millis(1))
      const c = yield* monitor.snapshot
      expect(c.sequence).toBe(2)
      expect(yield* Ref.get(calls)).toBe(2)
    }))

  it.scoped("refreshes every interval from a loop fiber, delay-based", () =>
    Effect.gen(function*() {
      const { monitor, calls } = yield* setup({ interval: Duration.seconds(5), staleness: Duration.millis(500) })
      yield* settle
      expect(yield* Ref.get(calls)).toBe(1)
      yield* TestClock.adjust(Duration.seconds(5))
      yield* settle
      expect(yield* Ref.get(calls)).toBe(2)
      yield* TestClock.adjust(Duration.seconds(10))
      yield* settle
      expect(yield* Ref.get(calls)).toBe(4)
      // 40 W and 8 W zones, 5 s intervals, 50 % usage.
      const s = Option.getOrThrow(yield* monitor.latest)
      expect(s.zones.map((z) => z.watts)).toEqual([40, 8])
      expect(s.zones.map((z) => z.activeWatts)).toEqual([20, 4])
      expect(s.zones[0]?.energyTotal).toBe(600_000_000n) // 3 intervals × 5 s × 40 W
    }))

  it.scoped("does not refresh periodically with interval 0 (on demand)", () =>
    Effect.gen(function*() {
      const { calls } = yield* setup({ interval: Duration.zero })
      yield* settle
      yield* TestClock.adjust(Duration.minutes(10))
      yield* settle
      expect(yield* Ref.get(calls)).toBe(1)
    }))

  it.scoped("skips a timer tick when a scrape refreshed within the staleness window", () =>
    Effect.gen(function*() {
      const { monitor, calls } = yield* setup({ interval: Duration.seconds(5), staleness: Duration.seconds(10) })
      yield* settle
      yield* TestClock.adjust(Duration.seconds(5))
      yield* settle
      expect(yield* Ref.get(calls)).toBe(1)
      yield* TestClock.adjust(Duration.seconds(10))
      yield* settle
      expect(yield* Ref.get(calls)).toBe(2)
      expect((yield* monitor.latest).pipe(Option.map((s) => s.sequence))).toEqual(Option.some(2))
    }))

  it.scoped("publishes each new snapshot to every subscriber; a slow one keeps only the newest", () =>
    Effect.gen(function*() {
      const { monitor } = yield* setup({ staleness: Duration.zero })
      yield* settle
      const fast = yield* monitor.changes
      const slow = yield* monitor.changes
      yield* TestClock.adjust(Duration.seconds(1))
      yield* monitor.refresh
      expect((yield* Queue.take(fast)).sequence).toBe(2)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* monitor.refresh
      expect((yield* Queue.take(fast)).sequence).toBe(3)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* monitor.refresh
      expect((yield* Queue.take(fast)).sequence).toBe(4)
      expect((yield* Queue.takeAll(slow)).pipe((c) => [...c].map((s) => s.sequence))).toEqual([4])
    }))
})

describe("PowerMonitor — readers during refreshes", () => {
  it.scoped("100 fibers reading while the loop refreshes always see complete snapshots", () =>
    Effect.gen(function*() {
      const { monitor } = yield* setup({ interval: Duration.seconds(1), staleness: Duration.millis(200) })
      const errors = yield* Ref.make(0)
      const seen = yield* Ref.make(new Set<number>())
      const reader = Effect.gen(function*() {
        for (let i = 0; i < 10; i++) {
          const s = yield* monitor.snapshot
          const complete = s.zones.length === 2 &&
            s.zones.every((z) => z.energyTotal === z.activeEnergyTotal + z.idleEnergyTotal) &&
            s.processes.running.length === 3 &&
            s.zones.every((_, zi) => {
              const procs = s.processes.running.reduce((a, p) => a + (p.watts[zi] ?? 0), 0)
              return Math.abs(procs - (s.zones[zi]?.activeWatts ?? 0)) < 1e-9
            })
          if (!complete) yield* Ref.update(errors, (e) => e + 1)
          yield* Ref.update(seen, (set) => new Set(set).add(s.sequence))
          yield* Effect.sleep(Duration.millis(100))
        }
      }).pipe(Effect.catchAll(() => Ref.update(errors, (e) => e + 1)))
      const readers = yield* Effect.forEach(Array.from({ length: 100 }), () => Effect.fork(reader))
      for (let t = 0; t < 12; t++) {
        yield* TestClock.adjust(Duration.millis(100))
        yield* settle
      }
      yield* Effect.forEach(readers, Fiber.join)
      expect(yield* Ref.get(errors)).toBe(0)
      expect((yield* Ref.get(seen)).size).toBeGreaterThan(3)
    }))
})
