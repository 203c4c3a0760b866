/**
 * `/proc/stat`: the node's cumulative CPU ticks. Parsing is pure; reading is one small file.
 * Used by the resource informer (node usage ratio) and by the model meter (its estimate).
 */
import { readFile } from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { ResourceError } from "./ResourceInformer.js"

export interface CpuTimes {
  /** user + nice + system + irq + softirq + steal (guest is already inside user/nice). */
  readonly activeTicks: number
  /** activeTicks + idle + iowait. */
  readonly totalTicks: number
  /** Number of `cpuN` lines: logical CPUs. */
  readonly cpuCount: number
}

/**
 * Parses the aggregate `cpu` line and counts the per-CPU lines. Returns a reason string
 * instead of throwing so the caller can name the file in its error.
 */
export const parseProcStat = (text: string): CpuTimes | string => {
  let aggregate: CpuTimes | undefined
  let cpuCount = 0
  for (const line of text.split("\n")) {
    if (!line.startsWith("cpu")) continue
    const fields = line.trim().split(/\s+/)
    const label = fields[0] ?? ""
    if (label === "cpu") {
      const n = fields.slice(1, 9).map(Number)
      if (n.length < 4 || n.some((v) => !Number.isFinite(v) || v < 0)) {
        return `malformed aggregate cpu line: "${line.trim()}"`
      }
      const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = n
      const activeTicks = user + nice + system + irq + softirq + steal
      aggregate = { activeTicks, totalTicks: activeTicks + idle + iowait, cpuCount: 0 }
    } else if (/^cpu\d+$/.test(label)) {
      cpuCount++
    }
  }
  if (aggregate === undefined) return "no aggregate cpu line"
  return { ...aggregate, cpuCount: Math.max(cpuCount, 1) }
}

export const readCpuTimes = (procfs: string): Effect.Effect<CpuTimes, ResourceError> => {
  const file = path.join(procfs, "stat")
  return Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) => new ResourceError({ path: file, reason: e instanceof Error ? e.message : String(e) })
  }).pipe(
    Effect.flatMap((text) => {
      const parsed = parseProcStat(text)
      return typeof parsed === "string"
        ? Effect.fail(new ResourceError({ path: file, reason: parsed }))
        : Effect.succeed(parsed)
    })
  )
}

/** Usage between two samples; 0 when there is no elapsed time (Kepler §4.5). */
export const cpuDelta = (prev: CpuTimes, cur: CpuTimes): { activeTicks: number; totalTicks: number; usageRatio: number } => {
  // Counters can go backwards on CPU hotplug; treat that interval as empty rather than negative.
  const activeTicks = Math.max(0, cur.activeTicks - prev.activeTicks)
  const totalTicks = Math.max(0, cur.totalTicks - prev.totalTicks)
  const bounded = Math.min(activeTicks, totalTicks)
  return { activeTicks: bounded, totalTicks, usageRatio: totalTicks === 0 ? 0 : bounded / totalTicks }
}
