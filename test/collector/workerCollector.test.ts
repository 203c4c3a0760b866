/**
 * The collector worker for real: a child process over a synthetic /proc, with a file that never
 * answers, a worker killed mid-refresh, and the same readings as the in-process path.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { mountHangFs } from "../../scripts/lib/hangFs.js"
import { advanceProcfsTree, churnProcfsTree, generateProcfsTree } from "../../scripts/lib/procfsTree.js"
import { inProcessCollector } from "../../src/collector/Collector.js"
import { makeWorkerCollector } from "../../src/collector/workerCollector.js"
import { makeFakeMeter } from "../../src/device/fakeMeter.js"
import type { MeterSettings } from "../../src/device/meterSettings.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import type { ResourceReading } from "../../src/resource/types.js"
import { BASE_CPU, removeProcess, writeCpu, writeProcess } from "../resource/procDir.js"

const settingsFor = (procfs: string): MeterSettings => ({
  sysfs: "/nonexistent-sysfs",
  procfs,
  raplZones: [],
  fakeZones: ["package"],
  model: { idleWattsPerCpu: 0.8, busyWattsPerCpu: 3 },
  hwmonZones: [],
  chipRules: []
})

const tempTree = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-worker-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const workerOver = (procfs: string, deadline = Duration.seconds(2)) =>
  Effect.gen(function*() {
    const meter = yield* makeFakeMeter(["package"])
    return yield* makeWorkerCollector({
      meter,
      meterName: "fake",
      settings: settingsFor(procfs),
      parallelism: 2,
      deadline,
      // Under tsx the worker compiles its modules on start.
      startDeadline: Duration.seconds(20),
      enrich: Effect.succeed
    })
  })

/**
 * `<pid>/` becomes a FUSE mount whose `stat` read never returns (what a hung NFS or FUSE mount
 * does). Returns the file and its unmount (also run when the test's scope closes).
 */
const hangingStat = (root: string, pid: number) =>
  Effect.acquireRelease(
    Effect.promise(() => {
      fs.rmSync(path.join(root, String(pid)), { recursive: true, force: true })
      return mountHangFs(path.join(root, String(pid)))
    }),
    (h) => Effect.sync(h.unmount)
  )

const app = (pid: number, utime: number) => ({
  pid,
  comm: `app${pid}`,
  utime,
  stime: 0,
  startTime: 100 + pid,
  exe: "/usr/bin/app"
})

const ticksOf = (reading: ResourceReading) =>
  Object.fromEntries(reading.processes.map((p) => [p.key, [p.cpuTicksTotal, p.cpuTicksDelta]]))

/** Our own children whose command line runs the collector worker. */
const workerPids = (): Array<number> =>
  fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "latin1")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, "latin1")
      return ppid === process.pid && cmdline.includes("collector/worker") ? [Number(d)] : []
    } catch {
      return []
    }
  })

/** Whether `pid` waits in the FUSE read (a killable wait: state D), not idle in its event loop. */
const blockedInRead = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("D")
  } catch {
    return false
  }
}

describe("worker collector", () => {
  it.scopedLive(
    "names joulemon's own pids: this process and the worker reading the files (joulemon_self_cpu_joules_total)",
    () =>
      Effect.gen(function*() {
        const root = yield* tempTree
        yield* writeCpu(root, BASE_CPU)
        yield* writeProcess(root, app(10, 5))
        const worker = yield* workerOver(root)
        const collected = yield* worker.collect
        const children = workerPids()
        expect(children.length).toBe(1)
        expect(collected.selfPids).toEqual([process.pid, ...children])
        const meter = yield* makeFakeMeter(["package"])
        const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })
        expect((yield* inProcessCollector(meter, informer, 1).collect).selfPids).toEqual([process.pid])
      }),
    60_000
  )

  it.scopedLive(
    "a stat that never answers fails that refresh naming the file (a hung FUSE mount); the next worker reports that process unread until it exits",
    () =>
      Effect.gen(function*() {
        const root = yield* tempTree
        yield* writeCpu(root, BASE_CPU)
        yield* writeProcess(root, app(10, 5))
        yield* writeProcess(root, app(11, 7))
        const worker = yield* workerOver(root)
        expect(ticksOf((yield* worker.collect).reading)).toEqual({ "10:110": [5, 5], "11:111": [7, 7] })

        const hang = yield* hangingStat(root, 11)
        const file = hang.file
        yield* writeProcess(root, app(10, 9))
        const error = yield* Effect.flip(worker.collect)
        expect(error.stuck).toEqual({ pid: 11, path: file })
        expect(error.reason).toContain(
          `missed its 2s deadline while collecting: it was blocked reading ${file} (pid 11)`
        )

        // A new worker: pid 10's ticks since the last good reading all land; 11 is kept as it was.
        yield* writeProcess(root, app(10, 12))
        expect(ticksOf((yield* worker.collect).reading)).toEqual({ "10:110": [12, 7], "11:111": [7, 0] })
        expect(ticksOf((yield* worker.collect).reading)).toEqual({ "10:110": [12, 0], "11:111": [7, 0] })

        // It exits: terminated, and its pid may be read again when a new process takes it.
        hang.unmount()
        yield* removeProcess(root, 11)
        const gone = (yield* worker.collect).reading
        expect(ticksOf(gone)).toEqual({ "10:110": [12, 0] })
        expect(gone.terminated.processes).toEqual(["11:111"])
        yield* writeProcess(root, { ...app(11, 3), startTime: 500 })
        expect(ticksOf((yield* worker.collect).reading)).toEqual({ "10:110": [12, 0], "11:500": [3, 3] })
      }),
    60_000
  )

  it.scopedLive(
    "a worker killed mid-refresh fails that refresh; the next worker books every tick since the last good reading",
    () =>
      Effect.gen(function*() {
        const root = yield* tempTree
        yield* writeCpu(root, BASE_CPU)
        yield* writeProcess(root, app(10, 5))
        yield* writeProcess(root, app(11, 7))
        // A deadline far away: the worker dies of the kill, not of the deadline.
        const worker = yield* workerOver(root, Duration.seconds(60))
        yield* worker.collect
        const [pid] = workerPids()
        expect(pid).toBeTypeOf("number")
        if (pid === undefined) return

        const hang = yield* hangingStat(root, 11)
        yield* writeProcess(root, app(10, 20))
        const refresh = yield* Effect.fork(Effect.flip(worker.collect))
        yield* Effect.sync(() => blockedInRead(pid)).pipe(
          Effect.repeat({ until: (s) => s, schedule: Schedule.spaced("20 millis") })
        )
        // Still blocked in the read (not done early): then the kill.
        yield* Effect.sleep("200 millis")
        expect(blockedInRead(pid)).toBe(true)
        process.kill(pid, "SIGKILL")
        const error = yield* Fiber.join(refresh)
        expect(error.stuck).toBeUndefined()
        expect(error.reason).toContain("the collector worker failed while collecting")

        hang.unmount()
        yield* writeProcess(root, app(11, 9))
        const after = yield* worker.collect
        expect(ticksOf(after.reading)).toEqual({ "10:110": [20, 15], "11:111": [9, 2] })
        expect(workerPids()).not.toContain(pid)
      }),
    60_000
  )

  it.scopedLive(
    "reads exactly what the in-process informer reads, over the same history",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempTree
        let tree = generateProcfsTree(path.join(dir, "proc"), { processes: 300, seed: 7 })
        const worker = yield* workerOver(tree.dir)
        const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 2 })
        const inline = inProcessCollector(yield* makeFakeMeter(["package"]), informer, 2)
        const steps = [
          (t: typeof tree) => advanceProcfsTree(t),
          (t: typeof tree) => churnProcfsTree(t, { exits: 20, births: 30 }),
          (t: typeof tree) => advanceProcfsTree(churnProcfsTree(t, { exits: 5, births: 5 }))
        ]
        const compare = Effect.gen(function*() {
          const a = yield* worker.collect
          const b = yield* inline.collect
          expect(a.reading).toEqual(b.reading)
          expect(a.samples.map((s) => s._tag)).toEqual(b.samples.map((s) => s._tag))
          return a.reading
        })
        const first = yield* compare
        expect(first.processes.length).toBeGreaterThan(250)
        for (const step of steps) {
          tree = step(tree)
          const r = yield* compare
          expect(r.node.first).toBe(false)
        }
        expect(worker.cpuInfo).toEqual(informer.cpuInfo)
      }),
    60_000
  )
})
