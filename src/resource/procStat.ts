/**
 * `/proc/stat`: the node's cumulative CPU ticks. Parsing is pure; reading is one small file.
 * Used by the resource informer (node usage ratio) and by the model meter (its estimate).
 */
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { readBoundedText, ReadRefused } from "../io/boundedRead.js"
import { PROC_STAT_LIMIT } from "../io/readLimits.js"
import { parseUint64 } from "../io/uint64.js"
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
      // Each field is a u64 in decimal (Go's ParseUint): "1e3", "0x10", "-1" or a value past
      // 2^64 − 1 make the line malformed, never a number.
      const u64 = fields.slice(1, 9).map(parseUint64)
      if (u64.length < 4 || u64.some((v) => v === undefined)) {
        return `malformed aggregate cpu line: "${line.trim()}"`
      }
      const n = u64.map(Number)
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

export const procStatFile = (procfs: string): string => path.join(procfs, "stat")

/** `<procfs>/stat` as text: a regular file of at most PROC_STAT_LIMIT bytes. */
export const readProcStatText = (procfs: string): Effect.Effect<string, ResourceError> => {
  const file = procStatFile(procfs)
  return Effect.tryPromise({
    try: () => readBoundedText(file, PROC_STAT_LIMIT),
    catch: (e) =>
      new ResourceError({
        path: file,
        reason: e instanceof ReadRefused ? e.reason : e instanceof Error ? e.message : String(e)
      })
  })
}

/** The figures of a `/proc/stat`'s text, or why it has none (`file` names it in the error). */
export const cpuTimesOf = (file: string, text: string): Effect.Effect<CpuTimes, ResourceError> => {
  const parsed = parseProcStat(text)
  return typeof parsed === "string"
    ? Effect.fail(new ResourceError({ path: file, reason: parsed }))
    : Effect.succeed(parsed)
}

export const readCpuTimes = (procfs: string): Effect.Effect<CpuTimes, ResourceError> =>
  Effect.flatMap(readProcStatText(procfs), (text) => cpuTimesOf(procStatFile(procfs), text))

/** Usage between two samples; 0 when there is no elapsed time (Kepler §4.5). */
export const cpuDelta = (
  prev: CpuTimes,
  cur: CpuTimes
): { activeTicks: number; totalTicks: number; usageRatio: number } => {
  // Counters can go backwards on CPU hotplug; treat that interval as empty rather than negative.
  const activeTicks = Math.max(0, cur.activeTicks - prev.activeTicks)
  const totalTicks = Math.max(0, cur.totalTicks - prev.totalTicks)
  const bounded = Math.min(activeTicks, totalTicks)
  return { activeTicks: bounded, totalTicks, usageRatio: totalTicks === 0 ? 0 : bounded / totalTicks }
}
