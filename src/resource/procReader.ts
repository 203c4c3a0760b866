/**
 * The file operations the procfs scan performs, behind a small interface so tests can inject
 * failures a root test run cannot produce (EACCES, a directory vanishing between the listing
 * and the reads).
 *
 * The operations are SYNCHRONOUS on purpose. Measured on this 2-core machine (Node 20,
 * 10,000 synthetic processes on tmpfs):
 *   - `stat` of every process, openSync/readSync/closeSync into one buffer:       31–35 ms
 *   - the same with fs.promises open/read/close, 4 / 16 / 64 in flight:          395 / 333 / 281 ms
 *   - the same with callback fs.open/read/close, 4 / 16 / 64 in flight:          537 / 176 / 159 ms
 *   - a first sight (5 files + readlink) sync vs callback fs with 16 in flight:  245 vs 1250 ms
 * and on the real /proc (1,581 processes): every stat 10.8 ms sync; first-sight reads 62 ms
 * sync vs 333–400 ms async. A procfs read costs the kernel a few µs; libuv's thread-pool hop
 * costs more than that per call, and on 2 cores there is no spare core for the pool to win
 * it back. Failures are thrown Node errors (`code` = errno name), which only the rare error
 * paths pay for.
 *
 * Not done: keeping every `stat` open and re-reading it with pread(2) would save the open and
 * close (about 60 % of the scan) but holds one descriptor per process (50k) and pins a 4 KiB
 * seq_file buffer of kernel memory for each (200 MB at 50k) — too much for a node agent.
 */
import * as fs from "node:fs"
import { readBoundedSync, readRecordSync, ReadRefused, ScratchBuffer } from "../io/boundedRead.js"
import { PID_STAT_LIMIT } from "../io/readLimits.js"

export { ScratchBuffer }

export interface ProcReader {
  /** Names in a directory, in any order. */
  readonly readDir: (dir: string) => ReadonlyArray<string>
  /**
   * A whole `/proc/<pid>/stat` into `into.bytes`; returns its length. procfs' seq_file hands
   * back the complete record to one read(2) whose buffer is large enough, so one read
   * suffices unless the buffer came back full (then read on, as `readFile` does). Skipping
   * the second, empty read(2) saves ~4.5 ms per 10,000 processes (35.3 vs 39.9 ms).
   * At most PID_STAT_LIMIT bytes, of a regular file (src/io/boundedRead.ts).
   */
  readonly readStat: (file: string, into: ScratchBuffer) => number
  /** A whole regular file of at most `limit` bytes into `into.bytes`, read to EOF; returns its length. */
  readonly readFile: (file: string, into: ScratchBuffer, limit: number) => number
  /** readlink(2). */
  readonly readLink: (file: string) => string
  /** Whether the path exists (a pid directory still there after its stat failed). */
  readonly exists: (path: string) => boolean
}

/**
 * The real thing: Node's synchronous fs calls, bounded. The fstat(2) that refuses anything
 * but a regular file costs about 1 µs per read (see the note in docs/configuration.md).
 */
export const nodeProcReader: ProcReader = {
  readDir: (dir) => fs.readdirSync(dir),
  readStat: (file, into) => readRecordSync(file, into, PID_STAT_LIMIT),
  readFile: (file, into, limit) => readBoundedSync(file, into, limit),
  readLink: (file) => fs.readlinkSync(file),
  exists: (p) => fs.existsSync(p)
}

/** The errno name of a thrown fs error ("EACCES"), or the message when there is none. */
export const errorCode = (error: unknown): string => {
  if (error instanceof ReadRefused) return error.reason
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code
  }
  return error instanceof Error ? error.message : String(error)
}

/** The per-process files the scan reads. */
export type ProcFile = "stat" | "comm" | "exe" | "cgroup" | "cmdline" | "environ"

/**
 * ENOENT and ESRCH say "this process may be gone" — but not only that. Measured on this
 * kernel: reading `environ` of a kernel thread fails with ESRCH, and its `exe` link gives
 * ENOENT, while the thread runs on. So the scan confirms such a failure with a fresh read of
 * `stat` (same starttime → still alive) before calling the process gone.
 */
export const mayBeGone = (code: string): boolean => code === "ENOENT" || code === "ESRCH"
