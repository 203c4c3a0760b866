/**
 * What `monitor.shortLived: cgroup` adds to a refresh: a generated /proc (10,000 processes by
 * default, about a third in ~1,400 containers, cgroup v1 and v2 layouts) whose containers have
 * cgroup usage files, refreshed by two monitors taking turns — one reading no cgroup, one
 * reading every running container's. Prints one JSON line (see bench.ts `--only shortlived`).
 */
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeFakeMeter } from "../../src/device/fakeMeter.js"
import { makePowerMonitor, type MonitorOptions } from "../../src/monitor/PowerMonitor.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import { advanceProcfsTree, generateProcfsTree } from "../lib/procfsTree.js"
import { runBenchChild } from "./child.js"
import { argValue, summarize } from "./stats.js"

const size = Number(argValue("--size") ?? 10_000)
const runs = Number(argValue("--runs") ?? 40)

const root = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
const dir = fs.mkdtempSync(path.join(root, "joulemon-bench-cgroups-"))

const options: MonitorOptions = {
  interval: Duration.zero,
  staleness: Duration.zero,
  parallelism: 8,
  maxPlausibleWatts: 5000,
  maxTerminated: 500,
  minTerminatedEnergyThreshold: 10
}

const program = Effect.gen(function*() {
  const cgroupfs = path.join(dir, "sys", "fs", "cgroup")
  let tree = generateProcfsTree(path.join(dir, "proc"), { processes: size, seed: 42, cgroupfs })
  const meter = yield* makeFakeMeter(["package", "core", "dram"])
  const plain = yield* makePowerMonitor(
    meter,
    yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 8 }),
    options
  )
  const withCgroups = yield* makePowerMonitor(
    meter,
    yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 8, cgroupfs }),
    options
  )
  const timed = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const t0 = performance.now()
      yield* effect
      return performance.now() - t0
    })
  for (let i = 0; i < 3; i++) {
    tree = advanceProcfsTree(tree)
    yield* plain.refresh
    yield* withCgroups.refresh
  }
  const without: Array<number> = []
  const withC: Array<number> = []
  for (let i = 0; i < runs; i++) {
    // Steady state with moving ticks and usage: every process and container gets a share.
    tree = advanceProcfsTree(tree)
    const order = i % 2 === 0 ? [plain, withCgroups] : [withCgroups, plain]
    for (const monitor of order) {
      const ms = yield* timed(monitor.refresh)
      if (monitor === plain) without.push(ms)
      else withC.push(ms)
    }
  }
  const last = yield* withCgroups.refresh
  const a = summarize(without)
  const b = summarize(withC)
  return {
    processes: size,
    containers: tree.cgroups.size,
    runs,
    refreshMsWithout: a,
    refreshMsWithCgroups: b,
    addedMs: Math.round((b.median - a.median) * 1000) / 1000,
    shortLivedContainers: last.shortLived?.containers.size ?? 0
  }
})

runBenchChild(program, dir)
