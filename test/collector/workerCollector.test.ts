/**
 * The collector worker for real: a child process over a synthetic /proc, with a file that never
 * answers, a worker killed mid-refresh, and the same readings as the in-process path.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { advanceProcfsTree, churnProcfsTree, generateProcfsTree } from "../../scripts/lib/procfsTree.js"
import { inProcessCollector } from "../../src/collector/Collector.js"
import { makeWorkerCollector } from "../../src/collector/workerCollector.js"
import type { MeterSettings } from "../../src/device/meterSettings.js"
import { makeFakeMeter } from "../../src/device/fakeMeter.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"

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
  Effect.gen(function* () {
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

describe("worker collector", () => {
  it.scopedLive("reads exactly what the in-process informer reads, over the same history", () =>
    Effect.gen(function* () {
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
      const compare = Effect.gen(function* () {
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
    }), 60_000)
})
