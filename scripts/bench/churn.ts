/**
 * Bounded memory under process churn: after a warm-up, 10,000 births and 10,000 deaths (20
 * rounds of 500 each, half in short-lived containers) through the real informer and monitor,
 * each round exported like a scrape would. The heap after a full GC must come back to within 5 % of where it
 * started: nothing about departed processes may stay beyond the bounded terminated lists,
 * which an export then clears.
 *
 *   node --expose-gc .bench-build/scripts/bench/churn.js [--size 2000] [--rounds 20] [--per-round 500]
 */
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { writeHeapSnapshot } from "node:v8"
import { makeFakeMeter } from "../../src/device/fakeMeter.js"
import { makePowerMonitor } from "../../src/monitor/PowerMonitor.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import { churnProcfsTree, generateProcfsTree } from "../lib/procfsTree.js"
import { runBenchChild } from "./child.js"
import { argValue, mib, round } from "./stats.js"

const size = Number(argValue("--size") ?? 2000)
const rounds = Number(argValue("--rounds") ?? 20)
const perRound = Number(argValue("--per-round") ?? 500)
/**
 * Warm-up churn: newborns are half single-process containers, so the running mix changes for a
 * few rounds, and the JIT settles. The measurement starts after both. `--snapshots` writes heap
 * snapshots before and after to /tmp, for retainer-path analysis.
 */
const warmupRounds = Number(argValue("--warmup") ?? 10)
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined)
const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const root = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
const dir = fs.mkdtempSync(path.join(root, "joulemon-churn-"))

const program = Effect.gen(function*() {
  let tree = generateProcfsTree(path.join(dir, "proc"), { processes: size, seed: 7 })
  const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 8 })
  const meter = yield* makeFakeMeter(["package", "core", "dram"])
  const monitor = yield* makePowerMonitor(meter, informer, {
    interval: Duration.zero,
    staleness: Duration.zero,
    parallelism: 8,
    maxPlausibleWatts: 5000,
    maxTerminated: 500,
    minTerminatedEnergyThreshold: 0
  })
  // A refresh followed by an export (what a scrape does), so terminated lists are cleared.
  const cycle = Effect.zipRight(monitor.refresh, monitor.snapshot)
  for (let r = 0; r < warmupRounds; r++) {
    tree = churnProcfsTree(tree, { exits: perRound, births: perRound })
    yield* cycle
  }
  for (let i = 0; i < 3; i++) yield* cycle
  const before = heap()
  if (process.argv.includes("--snapshots")) writeHeapSnapshot("/tmp/churn-before.heapsnapshot")
  let peakTerminated = 0
  for (let r = 0; r < rounds; r++) {
    tree = churnProcfsTree(tree, { exits: perRound, births: perRound })
    // Only a number leaves the round: a snapshot held here would be counted in the heap below.
    const tracked = yield* Effect.map(cycle, (s) => s.processes.terminated.length + s.containers.terminated.length)
    peakTerminated = Math.max(peakTerminated, tracked)
  }
  for (let i = 0; i < 3; i++) yield* cycle
  const after = heap()
  if (process.argv.includes("--snapshots")) writeHeapSnapshot("/tmp/churn-after.heapsnapshot")
  return {
    processes: size,
    births: rounds * perRound,
    deaths: rounds * perRound,
    heapBeforeMiB: mib(before),
    heapAfterMiB: mib(after),
    changePercent: round((100 * (after - before)) / before, 1),
    peakTerminatedTracked: peakTerminated
  }
})

runBenchChild(program, dir)
