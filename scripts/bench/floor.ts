/**
 * Section `floor` of `npm run bench`: joulemon's refresh against the stat-only floor — the
 * least work any exporter must do to read every process's CPU time (scripts/floor/stat-floor.c:
 * list the directory, open/read/close each `<pid>/stat`). Issue 11's targets: at 10k processes
 * refresh ≤ 2× the floor and refresh + /metrics ≤ 3×; refresh 50k/10k ≤ 5.5.
 *
 * Side by side, interleaved: each repetition runs the floor, then one refreshSize.js child (its
 * steady-state refresh median and text /metrics render median), then the floor again, so a
 * drift of this shared machine's CPU speed moves both figures of a repetition alike. Ratios are
 * the median of the per-repetition ratios.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { advanceProcfsTree, generateProcfsTree } from "../lib/procfsTree.js"
import { median, round } from "./stats.js"

export interface FloorSectionOptions {
  /** The repository root (where scripts/floor/stat-floor.c is). */
  readonly root: string
  readonly quick: boolean
  /** bench.ts's runner of a benchmark child: its last stdout line, parsed. */
  readonly child: (script: string, args: ReadonlyArray<string>) => unknown
  readonly line: (text: string) => void
}

const TARGETS = { refreshOverFloor: 2, withMetricsOverFloor: 3, refresh50kOver10k: 5.5 } as const
const REPETITIONS = 7
/** Floor rounds before and after each child; their median is the repetition's floor. */
const FLOOR_ROUNDS = 5
/** Timed refreshes (and timed renders) per child: its medians are the repetition's figures. */
const CHILD_RUNS = 5

interface FloorRun {
  readonly rounds: ReadonlyArray<number>
  readonly entries: number
  readonly errors: number
}

/** What floor needs of refreshSize.js's JSON line (run with `--formats prometheus`). */
interface RefreshSizeResult {
  readonly refresh: Record<"scanMs" | "attributionMs" | "wholeMs", { readonly median: number }>
  readonly metrics: { readonly prometheus: { readonly ms: { readonly median: number } } }
}

interface Repetition {
  readonly floorMs: number
  readonly scanMs: number
  readonly attributionMs: number
  readonly refreshMs: number
  readonly metricsMs: number
  readonly withMetricsMs: number
  readonly refreshOverFloor: number
  readonly withMetricsOverFloor: number
}

type Build =
  | { readonly ok: true; readonly dir: string; readonly binary: string }
  | { readonly ok: false; readonly reason: string }

/** Compiles the floor into a temporary directory (a binary is never committed). */
const buildFloor = (root: string): Build => {
  const source = path.join(root, "scripts", "floor", "stat-floor.c")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-stat-floor-"))
  const binary = path.join(dir, "stat-floor")
  const r = spawnSync("cc", ["-O2", "-Wall", "-Werror", "-o", binary, source], { encoding: "utf8" })
  if (r.error === undefined && r.status === 0) return { ok: true, dir, binary }
  fs.rmSync(dir, { recursive: true, force: true })
  const missing = r.error !== undefined && "code" in r.error && r.error.code === "ENOENT"
  const reason = missing
    ? "no C compiler (`cc` is not on PATH)"
    : `cc -O2 failed: ${r.error?.message ?? r.stderr.trim()}`
  return { ok: false, reason }
}

const isFloorRun = (x: unknown): x is FloorRun =>
  typeof x === "object" && x !== null && "rounds" in x && Array.isArray(x.rounds) &&
  x.rounds.every((n) => typeof n === "number") && "entries" in x && typeof x.entries === "number" &&
  "errors" in x && typeof x.errors === "number"

const runFloor = (binary: string, procfs: string, processes: number): FloorRun => {
  const r = spawnSync(binary, [procfs, String(FLOOR_ROUNDS)], { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`stat-floor ${procfs} failed: ${r.error?.message ?? r.stderr}`)
  const parsed: unknown = JSON.parse(r.stdout)
  if (!isFloorRun(parsed)) throw new Error(`stat-floor printed ${r.stdout}`)
  // A floor that skipped files would flatter nothing but itself: it must read every stat.
  if (parsed.entries !== processes || parsed.errors !== 0) {
    throw new Error(`stat-floor read ${parsed.entries} entries (${parsed.errors} errors), expected ${processes}`)
  }
  return parsed
}

const measureSize = (binary: string, processes: number, options: FloorSectionOptions) => {
  const shm = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
  const dir = fs.mkdtempSync(path.join(shm, "joulemon-bench-floor-"))
  try {
    // The child generates the same tree (same size and seed) in its own directory.
    let tree = generateProcfsTree(path.join(dir, "proc"), { processes, seed: 42 })
    runFloor(binary, tree.dir, processes) // warm-up: dentries and inodes in the kernel's caches
    const repetitions: Array<Repetition> = []
    for (let i = 0; i < REPETITIONS; i++) {
      // Freshly rewritten stat files, as the child's steady-state refreshes read.
      tree = advanceProcfsTree(tree)
      const before = runFloor(binary, tree.dir, processes)
      const r = options.child("refreshSize.js", [
        "--size",
        String(processes),
        "--runs",
        String(CHILD_RUNS),
        "--memory-refreshes",
        "0",
        "--formats",
        "prometheus"
      ]) as RefreshSizeResult
      const after = runFloor(binary, tree.dir, processes)
      const floorMs = median([...before.rounds, ...after.rounds])
      const refreshMs = r.refresh.wholeMs.median
      const metricsMs = r.metrics.prometheus.ms.median
      repetitions.push({
        floorMs,
        scanMs: r.refresh.scanMs.median,
        attributionMs: r.refresh.attributionMs.median,
        refreshMs,
        metricsMs,
        withMetricsMs: refreshMs + metricsMs,
        refreshOverFloor: refreshMs / floorMs,
        withMetricsOverFloor: (refreshMs + metricsMs) / floorMs
      })
    }
    const med = (key: keyof Repetition, digits = 2) => round(median(repetitions.map((r) => r[key])), digits)
    return {
      processes,
      repetitions: repetitions.map((r) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v, 3)])) as Record<keyof Repetition, number>
      ),
      floorMs: med("floorMs", 3),
      scanMs: med("scanMs"),
      attributionMs: med("attributionMs"),
      refreshMs: med("refreshMs"),
      metricsMs: med("metricsMs"),
      withMetricsMs: med("withMetricsMs"),
      refreshOverFloor: med("refreshOverFloor", 1),
      withMetricsOverFloor: med("withMetricsOverFloor", 1)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const verdict = (value: number, target: number) => (value <= target ? "met" : "MISSED")

/** Runs the section and returns what goes into `results["floor"]`. */
export const floorSection = (options: FloorSectionOptions): Record<string, unknown> => {
  const { line } = options
  const sizes = options.quick ? [10_000] : [10_000, 50_000]
  line(
    `\n== against the stat-only floor (C: readdir + open/read/close of each stat; ${REPETITIONS} interleaved repetitions; ms) ==`
  )
  const build = buildFloor(options.root)
  if (!build.ok) {
    line(`skipped: ${build.reason}`)
    return { skipped: build.reason }
  }
  try {
    line(
      `processes  floor ms  refresh ms  refresh/floor (≤ ${TARGETS.refreshOverFloor}×)  ` +
        `refresh+/metrics ms  (refresh+/metrics)/floor (≤ ${TARGETS.withMetricsOverFloor}×)  | scan ms  attribution ms`
    )
    const rows = sizes.map((processes) => {
      const r = measureSize(build.binary, processes, options)
      line(
        `${String(processes).padStart(9)} ${r.floorMs.toFixed(2).padStart(9)} ${r.refreshMs.toFixed(1).padStart(11)} ${
          `${r.refreshOverFloor.toFixed(1)}×`.padStart(22)
        } ${r.withMetricsMs.toFixed(1).padStart(20)} ${`${r.withMetricsOverFloor.toFixed(1)}×`.padStart(31)}  | ${
          r.scanMs.toFixed(1).padStart(7)
        } ${r.attributionMs.toFixed(1).padStart(15)}`
      )
      return r
    })
    const k10 = rows.find((r) => r.processes === 10_000)
    const k50 = rows.find((r) => r.processes === 50_000)
    const refresh50kOver10k = k10 !== undefined && k50 !== undefined
      ? round(k50.refreshMs / k10.refreshMs)
      : undefined
    const floor50kOver10k = k10 !== undefined && k50 !== undefined ? round(k50.floorMs / k10.floorMs) : undefined
    if (k10 !== undefined) {
      line(
        `10k: refresh ${k10.refreshOverFloor}× the floor (target ≤ ${TARGETS.refreshOverFloor}×: ${
          verdict(k10.refreshOverFloor, TARGETS.refreshOverFloor)
        }); refresh + /metrics ${k10.withMetricsOverFloor}× (target ≤ ${TARGETS.withMetricsOverFloor}×: ${
          verdict(k10.withMetricsOverFloor, TARGETS.withMetricsOverFloor)
        })`
      )
    }
    if (refresh50kOver10k !== undefined) {
      line(
        `refresh 50k/10k = ${refresh50kOver10k} (target ≤ ${TARGETS.refresh50kOver10k}: ${
          verdict(refresh50kOver10k, TARGETS.refresh50kOver10k)
        }); the floor's own 50k/10k = ${floor50kOver10k}`
      )
    }
    return {
      targets: TARGETS,
      repetitions: REPETITIONS,
      metricsFormat: "prometheus",
      rows,
      ...(refresh50kOver10k === undefined ? {} : { refresh50kOver10k, floor50kOver10k })
    }
  } finally {
    fs.rmSync(build.dir, { recursive: true, force: true })
  }
}
