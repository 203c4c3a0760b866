/**
 * DESIGN.md §4: "monitor.parallelism bounds the I/O fan-out; any setting yields the identical
 * snapshot" — checked end to end: the real procfs informer and monitor over the same synthetic
 * /proc history (ticks moving, processes exiting and starting, a reused pid), on the TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  advanceProcfsTree,
  churnProcfsTree,
  generateProcfsTree,
  type ProcfsTree
} from "../../scripts/lib/procfsTree.js"
import { type CollectorShape, inProcessCollector } from "../../src/collector/Collector.js"
import { makeWorkerCollector } from "../../src/collector/workerCollector.js"
import type { GpuPowerMeterShape, GpuSample } from "../../src/device/gpu/GpuPowerMeter.js"
import { makeRaplMeter } from "../../src/device/raplSysfsMeter.js"
import { makePowerMonitor, makePowerMonitorWith, type MonitorOptions } from "../../src/monitor/PowerMonitor.js"
import type { Snapshot } from "../../src/monitor/snapshot.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import { constantPowerZone, meterOf } from "../support/fakes.js"

/** The same history for every run (the generators are seeded): ticks move, processes come and go. */
const history: ReadonlyArray<(tree: ProcfsTree) => ProcfsTree> = [
  (t) => advanceProcfsTree(t),
  (t) => churnProcfsTree(t, { exits: 40, births: 40 }),
  (t) => advanceProcfsTree(t),
  (t) => advanceProcfsTree(churnProcfsTree(t, { exits: 10, births: 25 })),
  (t) => advanceProcfsTree(t)
]

/** The runs share one TestClock, so only the timestamps may differ. */
const withoutTimestamp = (snapshots: ReadonlyArray<Snapshot>) => snapshots.map((s) => ({ ...s, timestamp: 0 }))

const monitorOptions = (parallelism: number): MonitorOptions => ({
  interval: Duration.zero,
  staleness: Duration.zero,
  parallelism,
  maxPlausibleWatts: 5000,
  maxTerminated: -1,
  minTerminatedEnergyThreshold: 0
})

/**
 * Two scripted GPUs on the same TestClock: one time-sliced over many pids (only those running in
 * the tree are visible), one exclusive; 300 W and 120 W on their energy counters.
 */
const scriptedGpus: GpuPowerMeterShape = {
  name: "scripted",
  devices: [
    { index: 0, uuid: "GPU-a", name: "A", vendor: "nvidia", mode: "time-slicing", energyCounter: true },
    { index: 1, uuid: "GPU-b", name: "B", vendor: "nvidia", mode: "exclusive", energyCounter: false }
  ],
  read: Effect.map(Clock.currentTimeNanos, (atNanos): ReadonlyArray<GpuSample> => {
    const millis = atNanos / 1_000_000n
    const pids = Array.from({ length: 400 }, (_, i) => ({ pid: 100 + 3 * i, weight: (i % 7) + 1 }))
    return [
      {
        _tag: "Read",
        atNanos,
        powerMilliwatts: 300_000,
        energyMillijoules: 300n * millis,
        computeProcesses: pids.length,
        groups: [{ gpuInstance: -1, weight: 1, processes: pids }]
      },
      {
        _tag: "Read",
        atNanos,
        powerMilliwatts: 120_000,
        computeProcesses: 1,
        groups: [{ gpuInstance: -1, weight: 1, processes: [{ pid: 103, weight: 1 }] }]
      }
    ]
  })
}

const snapshotsAt = (parallelism: number) =>
  Effect.gen(function*() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `joulemon-par-${parallelism}-`))
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    let tree = generateProcfsTree(path.join(dir, "proc"), { processes: 600, seed: 99 })
    const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism })
    const meter = meterOf([constantPowerZone("package", 45), constantPowerZone("dram", 9)])
    const monitor = yield* makePowerMonitor(
      meter,
      informer,
      monitorOptions(parallelism),
      undefined,
      undefined,
      scriptedGpus
    )
    const snapshots: Array<Snapshot> = [yield* monitor.refresh]
    for (const step of history) {
      tree = step(tree)
      yield* TestClock.adjust(Duration.seconds(5))
      snapshots.push(yield* monitor.refresh)
    }
    return snapshots
  })

describe("PowerMonitor over the procfs informer", () => {
  it.scoped("produces identical snapshots at parallelism 1, 4 and 64", () =>
    Effect.gen(function*() {
      const one = yield* snapshotsAt(1)
      const four = yield* snapshotsAt(4)
      const many = yield* snapshotsAt(64)
      expect(one.at(-1)?.processes.running.length).toBeGreaterThan(500)
      expect(one.some((s) => s.processes.terminated.length > 0)).toBe(true)
      expect(one.at(-1)?.zones.every((z) => z.activeEnergyTotal > 0n)).toBe(true)
      expect(one.at(-1)?.gpu?.devices.every((d) => d.activeEnergyTotal > 0n)).toBe(true)
      expect(one.at(-1)?.gpu?.processes.size).toBeGreaterThan(20)
      expect(withoutTimestamp(four)).toEqual(withoutTimestamp(one))
      expect(withoutTimestamp(many)).toEqual(withoutTimestamp(one))
    }))

  it.scoped("produces identical snapshots through the collector worker and in process", () =>
    Effect.gen(function*() {
      // One path for both runs: zone paths are part of a snapshot.
      const parent = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-paths-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(parent, { recursive: true, force: true })))
      const inline = yield* Effect.scoped(snapshotsThrough(path.join(parent, "run"), "inline"))
      const worker = yield* Effect.scoped(snapshotsThrough(path.join(parent, "run"), "worker"))
      expect(inline.at(-1)?.processes.running.length).toBeGreaterThan(500)
      expect(inline.at(-1)?.zones.every((z) => z.activeEnergyTotal > 0n)).toBe(true)
      expect(withoutTimestamp(worker)).toEqual(withoutTimestamp(inline))
    }), 60_000)

  it.scoped(
    "produces identical snapshots through the worker and in process with cgroup short-lived accounting",
    () =>
      Effect.gen(function*() {
        const parent = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-paths-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(parent, { recursive: true, force: true })))
        const inline = yield* Effect.scoped(snapshotsThrough(path.join(parent, "run"), "inline", true))
        const worker = yield* Effect.scoped(snapshotsThrough(path.join(parent, "run"), "worker", true))
        expect(inline.at(-1)?.shortLived?.containers.size).toBeGreaterThan(40)
        expect([...(inline.at(-1)?.shortLived?.containers.values() ?? [])].some((e) => (e[0] ?? 0n) > 0n)).toBe(true)
        expect(withoutTimestamp(worker)).toEqual(withoutTimestamp(inline))
      }),
    60_000
  )
})

/** The worker runs in real time (its own process); only the monitor is on the TestClock. */
const liveClock = Clock.make()

/**
 * Two inputs legitimately differ between the paths: when each zone was read (each process reads
 * its own clock; without it the monitor uses its own TestClock for both), and joulemon's own
 * pids (the worker path adds the worker's, which can be a pid of the synthetic tree — CI once
 * failed on exactly that). Both are dropped, so the comparison is of everything else.
 */
const readTimesDropped = (c: CollectorShape): CollectorShape => ({
  cpuInfo: c.cpuInfo,
  collect: c.collect.pipe(
    Effect.withClock(liveClock),
    Effect.map((r) => ({
      ...r,
      selfPids: [],
      samples: r.samples.map((s) => (s._tag === "Read" ? { _tag: "Read" as const, reading: s.reading } : s))
    }))
  )
})

/** A RAPL package zone whose counter the test sets: 50 J per step. */
const raplTree = (dir: string) => {
  const zone = path.join(dir, "sys", "class", "powercap", "intel-rapl:0")
  fs.mkdirSync(zone, { recursive: true })
  fs.writeFileSync(path.join(zone, "name"), "package-0\n")
  fs.writeFileSync(path.join(zone, "max_energy_range_uj"), "262143328850\n")
  const set = (step: number) => fs.writeFileSync(path.join(zone, "energy_uj"), `${1_000_000 + 50_000_000 * step}\n`)
  set(0)
  return { sysfs: path.join(dir, "sys"), set }
}

const snapshotsThrough = (dir: string, path_: "inline" | "worker", cgroups = false) =>
  Effect.gen(function*() {
    fs.mkdirSync(dir)
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    const cgroupfs = cgroups ? { cgroupfs: path.join(dir, "sys", "fs", "cgroup") } : {}
    let tree = generateProcfsTree(path.join(dir, "proc"), { processes: 600, seed: 99, ...cgroupfs })
    const rapl = raplTree(dir)
    const meter = yield* makeRaplMeter(rapl.sysfs, [])
    const collector = path_ === "inline"
      ? inProcessCollector(meter, yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 4, ...cgroupfs }), 4)
      : yield* makeWorkerCollector({
        meter,
        meterName: "rapl",
        settings: {
          sysfs: rapl.sysfs,
          procfs: tree.dir,
          raplZones: [],
          fakeZones: [],
          model: { idleWattsPerCpu: 0.8, busyWattsPerCpu: 3 },
          hwmonZones: [],
          chipRules: []
        },
        parallelism: 4,
        ...cgroupfs,
        // ~600 processes in 10 messages, the last one short: the reading is joined from parts.
        processesPerPart: 64,
        // On the TestClock these never fire; the worker answers in real time.
        deadline: Duration.seconds(60),
        startDeadline: Duration.seconds(60),
        enrich: Effect.succeed
      }).pipe(Effect.withClock(liveClock))
    const monitor = yield* makePowerMonitorWith(meter, readTimesDropped(collector), monitorOptions(4))
    const snapshots: Array<Snapshot> = [yield* monitor.refresh]
    for (const [i, step] of history.entries()) {
      tree = step(tree)
      rapl.set(i + 1)
      yield* TestClock.adjust(Duration.seconds(5))
      snapshots.push(yield* monitor.refresh)
    }
    return snapshots
  })
