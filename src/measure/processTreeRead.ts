/**
 * The process table as the tree tracking needs it: pid, ppid and starttime of every process
 * under `host.procfs`. A process that exits mid-scan is simply not in it.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"
import { readBoundedText } from "../io/boundedRead.js"
import { PID_STAT_LIMIT } from "../io/readLimits.js"
import { parseChildTicks, parseStatLine, type StatEntry } from "./processTree.js"

const PID_DIR = /^\d+$/

/** One pid's entry; undefined when it is gone or unreadable. */
export const readStatEntry = (procfs: string, pid: number): Effect.Effect<StatEntry | undefined> =>
  Effect.promise(() => readBoundedText(`${procfs}/${pid}/stat`, PID_STAT_LIMIT).then(parseStatLine, () => undefined))

/** Every process's entry. An unreadable process table gives an empty scan (the tree stays as it was). */
export const readProcessTable = (procfs: string): Effect.Effect<ReadonlyArray<StatEntry>> =>
  Effect.gen(function*() {
    const names = yield* Effect.promise(() => fs.readdir(procfs).catch((): ReadonlyArray<string> => []))
    const entries = yield* Effect.forEach(
      names.filter((n) => PID_DIR.test(n)),
      (name) => readStatEntry(procfs, Number(name)),
      { concurrency: 16 }
    )
    return entries.filter((e): e is StatEntry => e !== undefined)
  })

/**
 * joulemon's own cutime + cstime, ticks: the CPU time of the children it has reaped (the
 * measured command, once it exits). Read from this process's own /proc, which is where the
 * kernel accounts it whatever `host.procfs` says; undefined when it cannot be read.
 */
export const readOwnChildTicks: Effect.Effect<number | undefined> = Effect.promise(() =>
  readBoundedText("/proc/self/stat", PID_STAT_LIMIT).then(parseChildTicks, () => undefined)
)
