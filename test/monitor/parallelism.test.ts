/**
 * DESIGN.md §4: "monitor.parallelism bounds the I/O fan-out; any setting yields the identical
 * snapshot" — checked end to end: the real procfs informer and monitor over the same synthetic
 * /proc history (ticks moving, processes exiting and starting, a reused pid), on the TestClock.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, TestClock } from "effect"
import { advanceProcfsTree, churnProcfsTree, generateProcfsTree, type ProcfsTree } from "../../scripts/lib/procfsTree.js"
import { makePowerMonitor } from "../../src/monitor/PowerMonitor.js"
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

const snapshotsAt = (parallelism: number) =>
  Effect.gen(function* () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `joulemon-par-${parallelism}-`))
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    let tree = generateProcfsTree(path.join(dir, "proc"), { processes: 600, seed: 99 })
    const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism })
    const meter = meterOf([constantPowerZone("package", 45), constantPowerZone("dram", 9)])
    const monitor = yield* makePowerMonitor(meter, informer, {
      interval: Duration.zero,
      staleness: Duration.zero,
      parallelism,
      maxPlausibleWatts: 5000,
      maxTerminated: -1,
      minTerminatedEnergyThreshold: 0
    })
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
    Effect.gen(function* () {
      const one = yield* snapshotsAt(1)
      const four = yield* snapshotsAt(4)
      const many = yield* snapshotsAt(64)
      expect(one.at(-1)?.processes.running.length).toBeGreaterThan(500)
      expect(one.some((s) => s.processes.terminated.length > 0)).toBe(true)
      expect(one.at(-1)?.zones.every((z) => z.activeEnergyTotal > 0n)).toBe(true)
      expect(withoutTimestamp(four)).toEqual(withoutTimestamp(one))
      expect(withoutTimestamp(many)).toEqual(withoutTimestamp(one))
    })
  )
})
