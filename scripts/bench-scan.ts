/**
 * Steady-state procfs scan benchmark: synthetic /proc trees of 1k, 10k and 50k processes
 * (tmpfs /dev/shm when present), one informer each; every measured refresh follows an
 * `advanceProcfsTree` (every process's ticks moved), so it is the known-process path with all
 * deltas non-zero — the worst steady state. Also printed: the longest event-loop stall seen
 * during the measured refreshes (how long an HTTP scrape could wait) and during the first scan.
 *
 *   npx tsx scripts/bench-scan.ts [--sizes 1000,10000,50000] [--runs 15] [--parallelism 8]
 *                                 [--variants]
 *
 * --variants also times raw read loops over the 10k tree (no informer), for the choice of
 * what a known process costs: stat only / stat + comm / stat + comm + exe readlink.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { PID_COMM_LIMIT, PID_STAT_LIMIT } from "../src/io/readLimits.js"
import { makeProcfsInformer } from "../src/resource/procfsInformer.js"
import { nodeProcReader, ScratchBuffer } from "../src/resource/procReader.js"
import { advanceProcfsTree, generateProcfsTree, type ProcfsTree } from "./lib/procfsTree.js"

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}
const sizes = (argValue("--sizes") ?? "1000,10000,50000").split(",").map(Number)
const runs = Math.max(10, Number(argValue("--runs") ?? 15))
const parallelism = Number(argValue("--parallelism") ?? 8)
const variants = process.argv.includes("--variants")

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

const root = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
const work = fs.mkdtempSync(path.join(root, "joulemon-bench-scan-"))

const ms = (x: number): string => x.toFixed(1).padStart(7)
const summary = (xs: ReadonlyArray<number>): string => {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN
  return `median ${ms(at(0.5))} ms  min ${ms(at(0))}  p90 ${ms(at(0.9))}  max ${ms(at(1))}`
}

/**
 * The longest time the event loop went without running a 1 ms interval, up to `stop()`
 * (a loop blocked until the end must count too, which perf_hooks' histogram misses).
 */
const watchEventLoop = (): { stop: () => number } => {
  let last = performance.now()
  let longest = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }, 1)
  return {
    stop: () => {
      clearInterval(timer)
      return Math.max(longest, performance.now() - last)
    }
  }
}

const timeLoop = (
  label: string,
  tree: ProcfsTree,
  body: (dir: string, pid: number, scratch: ScratchBuffer) => void
): void => {
  const scratch = new ScratchBuffer(4096)
  const xs: Array<number> = []
  for (let r = 0; r < runs + 3; r++) {
    const t = performance.now()
    for (const p of tree.processes) body(tree.dir, p.pid, scratch)
    if (r >= 3) xs.push(performance.now() - t)
  }
  console.log(`  ${label.padEnd(34)} ${summary(xs)}`)
}

const main = Effect.gen(function*() {
  console.log(
    `node ${process.version}, ${os.cpus().length} CPUs, trees under ${root}, parallelism ${parallelism}, ${runs} runs`
  )
  const medians = new Map<number, number>()
  for (const size of sizes) {
    const t0 = performance.now()
    let tree = generateProcfsTree(path.join(work, String(size)), { processes: size, seed: 42 })
    const genMs = performance.now() - t0
    const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism })
    const coldWatch = watchEventLoop()
    const c0 = performance.now()
    yield* informer.refresh
    const coldMs = performance.now() - c0
    const coldStallMs = coldWatch.stop()
    for (let w = 0; w < 3; w++) {
      tree = advanceProcfsTree(tree)
      yield* informer.refresh
    }
    const xs: Array<number> = []
    let processes = 0
    let steadyStallMs = 0
    for (let r = 0; r < runs; r++) {
      tree = advanceProcfsTree(tree)
      const watch = watchEventLoop()
      const t = performance.now()
      const reading = yield* informer.refresh
      xs.push(performance.now() - t)
      steadyStallMs = Math.max(steadyStallMs, watch.stop())
      processes = reading.processes.length
    }
    gc()
    const heapMiB = process.memoryUsage().heapUsed / 2 ** 20
    const sorted = [...xs].sort((a, b) => a - b)
    medians.set(size, sorted[Math.floor(sorted.length / 2)] ?? Number.NaN)
    console.log(
      `${String(size).padStart(6)} processes (${processes} running): steady ${summary(xs)}, ` +
        `max event-loop stall ${ms(steadyStallMs)} ms\n` +
        `${" ".repeat(7)}first scan ${ms(coldMs)} ms (max stall ${ms(coldStallMs)} ms) | ` +
        `heap used ${heapMiB.toFixed(1)} MiB | tree written in ${(genMs / 1000).toFixed(1)} s`
    )
    if (variants && size === 10000) {
      console.log("  raw read loops over the same tree (no informer):")
      timeLoop("stat", tree, (dir, pid, s) => {
        nodeProcReader.readStat(`${dir}/${pid}/stat`, s)
      })
      timeLoop("stat + comm", tree, (dir, pid, s) => {
        nodeProcReader.readStat(`${dir}/${pid}/stat`, s)
        nodeProcReader.readFile(`${dir}/${pid}/comm`, s, PID_COMM_LIMIT)
      })
      timeLoop("stat + comm + exe readlink", tree, (dir, pid, s) => {
        nodeProcReader.readStat(`${dir}/${pid}/stat`, s)
        nodeProcReader.readFile(`${dir}/${pid}/comm`, s, PID_COMM_LIMIT)
        try {
          nodeProcReader.readLink(`${dir}/${pid}/exe`)
        } catch {
          // kernel threads have no exe link
        }
      })
      timeLoop("stat read to EOF (2 read calls)", tree, (dir, pid, s) => {
        nodeProcReader.readFile(`${dir}/${pid}/stat`, s, PID_STAT_LIMIT)
      })
    }
    fs.rmSync(tree.dir, { recursive: true, force: true })
  }
  const m10 = medians.get(10000)
  const m50 = medians.get(50000)
  if (m10 !== undefined && m50 !== undefined) console.log(`50k / 10k median ratio: ${(m50 / m10).toFixed(2)}`)
})

Effect.runPromise(main.pipe(Effect.ensuring(Effect.sync(() => fs.rmSync(work, { recursive: true, force: true })))))
  .catch(
    (e: unknown) => {
      console.error(e)
      process.exitCode = 1
    }
  )
