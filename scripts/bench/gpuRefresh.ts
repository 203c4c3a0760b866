/**
 * What reading and attributing 8 GPUs adds to a refresh (issue 12: ≤ 2 ms), in its own process:
 * the real informer, meter and monitor code over a synthetic /proc, once without GPUs and once
 * with 8 GPUs of the fake NVML library loaded through koffi exactly as the driver's would be (4
 * time-sliced processes each). The two monitors refresh alternately, so drift of the machine
 * hits both alike.
 *
 *   node .bench-build/scripts/bench/gpuRefresh.js --lib DIR/libnvidia-ml.so.1 [--size 1000] [--runs 200]
 *
 * Prints one JSON line: refresh wall time without and with GPUs, their difference, the GPU
 * reading alone (it runs beside the CPU scan, so it only adds what outlasts the scan), and the
 * attribution time without and with GPUs (that part is sequential).
 */
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeFakeMeter } from "../../src/device/fakeMeter.js"
import { loadNvml } from "../../src/device/gpu/nvml.js"
import { makeNvmlMeter } from "../../src/device/gpu/nvmlMeter.js"
import { makePowerMonitor, type MonitorOptions } from "../../src/monitor/PowerMonitor.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import { noCheckpoint } from "../../src/state/Checkpoint.js"
import { noTelemetry } from "../../src/telemetry/SelfMetrics.js"
import { writeNvmlScript } from "../../test/support/fakeNvml.js"
import { advanceProcfsTree, generateProcfsTree } from "../lib/procfsTree.js"
import { runBenchChild } from "./child.js"
import { argValue, summarize } from "./stats.js"

const size = Number(argValue("--size") ?? 1000)
const runs = Number(argValue("--runs") ?? 200)
const lib = argValue("--lib") ?? "libnvidia-ml.so.1"

const root = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
const dir = fs.mkdtempSync(path.join(root, "joulemon-bench-gpu-"))
const script = path.join(dir, "nvml.txt")
// The fake library reads the variable on every call.
process.env["FAKE_NVML_SCRIPT"] = script

const options: MonitorOptions = {
  interval: Duration.zero,
  staleness: Duration.zero,
  parallelism: 8,
  maxPlausibleWatts: 5000,
  maxTerminated: 500,
  minTerminatedEnergyThreshold: 10
}

const program = Effect.gen(function*() {
  let tree = generateProcfsTree(path.join(dir, "proc"), { processes: size, seed: 44 })
  // Four of the tree's user processes on each GPU, so their energy is attributed, not residual.
  const users = tree.processes.filter((p) => p.kind !== "kernel")
  writeNvmlScript(
    script,
    Array.from({ length: 8 }, (_, index) => ({
      index,
      uuid: `GPU-bench-${index}`,
      name: "NVIDIA H100 80GB HBM3",
      powerMw: 400_000 + index * 1000,
      energyMj: 10n ** 9n + BigInt(index),
      processes: [0, 1, 2, 3].map((k) => ({ pid: users[index * 4 + k]?.pid ?? 0, smUtil: 10 + 20 * k }))
    }))
  )
  const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 8 })
  const meter = yield* makeFakeMeter(["package", "core", "dram"])
  const nvml = yield* loadNvml(lib)
  const gpu = yield* makeNvmlMeter(nvml, { readTimeout: Duration.seconds(2) })
  if (gpu.devices.length !== 8) throw new Error(`expected 8 GPUs from ${script}, found ${gpu.devices.length}`)
  const plain = yield* makePowerMonitor(meter, informer, options)
  const withGpus = yield* makePowerMonitor(meter, informer, options, noTelemetry, noCheckpoint, gpu)

  const timed = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const t0 = performance.now()
      yield* effect
      return performance.now() - t0
    })

  for (let i = 0; i < 5; i++) {
    tree = advanceProcfsTree(tree)
    yield* plain.refresh
    yield* withGpus.refresh
  }
  const without: Array<number> = []
  const withG: Array<number> = []
  const attributionWithout: Array<number> = []
  const attributionWith: Array<number> = []
  const reads: Array<number> = []
  for (let i = 0; i < runs; i++) {
    if (i % 10 === 0) tree = advanceProcfsTree(tree)
    // Alternate which goes first, so neither always sees warm page-cache entries the other left.
    const order = i % 2 === 0 ? [plain, withGpus] : [withGpus, plain]
    for (const monitor of order) {
      const ms = yield* timed(monitor.refresh)
      const stats = yield* monitor.stats
      if (monitor === plain) {
        without.push(ms)
        attributionWithout.push(stats.lastAttributionSeconds * 1000)
      } else {
        withG.push(ms)
        attributionWith.push(stats.lastAttributionSeconds * 1000)
      }
    }
    reads.push(yield* timed(gpu.read))
  }
  const refreshWithout = summarize(without)
  const refreshWith = summarize(withG)
  const attrWithout = summarize(attributionWithout)
  const attrWith = summarize(attributionWith)
  return {
    processes: size,
    gpus: gpu.devices.length,
    runs,
    refreshMsWithout: refreshWithout,
    refreshMsWith8Gpus: refreshWith,
    addedMs: Math.round((refreshWith.median - refreshWithout.median) * 1000) / 1000,
    gpuReadMs: summarize(reads),
    attributionMsWithout: attrWithout,
    attributionMsWith8Gpus: attrWith
  }
})

runBenchChild(program, dir)
