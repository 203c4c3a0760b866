/**
 * One process, one refresh: what `/proc/<pid>` says about it, given what the previous refresh
 * knew. Synchronous (see procReader.ts for the measurements behind that) and free of Effect,
 * so a batch of pids runs as one `Effect.sync`.
 *
 * What is read:
 * - a process incarnation seen for the first time (new pid, or a known pid whose starttime
 *   changed: PID reuse): stat, comm, exe, cgroup, cmdline, environ → classification;
 * - a known incarnation: ONLY stat. Kepler re-reads comm and exe whenever the process used CPU;
 *   here the comm inside `stat` (the same task->comm the `comm` file shows) is compared byte
 *   for byte with the previous one, and comm, exe, cgroup, cmdline and environ are re-read —
 *   and the process reclassified — only when it changed, i.e. after an exec. In steady state
 *   that is one file per process instead of two files and a readlink: reading 10,000
 *   processes' stat takes 35 ms; with comm 69 ms; with comm and the exe readlink 97 ms
 *   (tmpfs tree, `scripts/bench-scan.ts --variants`). Reclassifying after an exec matters for
 *   libvirt, which forks a helper that then execs qemu: classified once at fork, the VM would
 *   never be seen (Kepler re-detects on a comm change for the same reason).
 *
 * A process that vanishes at any point is `Vanished` (an ENOENT/ESRCH on one of its files is
 * confirmed by re-reading its stat: kernel threads answer ESRCH for environ while alive); a file
 * that cannot be read for any other reason is recorded in `unreadable` and the process is
 * reported with what was readable. A known incarnation is never dropped because of one bad
 * `stat` (unreadable, malformed, or missing while its directory is still listed): it is
 * reported unchanged and idle, so its counters continue when the file reads again.
 */
import { PID_ARGS_LIMIT, PID_CGROUP_LIMIT, PID_COMM_LIMIT } from "../io/readLimits.js"
import { type CgroupRef, cpuCgroupOf } from "./cgroupUsage.js"
import { type Classification, classifyProcess, splitNul } from "./classify.js"
import { emptyPidStatFields, parsePidStat, type PidStatFields, sameBytes } from "./pidStat.js"
import { errorCode, mayBeGone, type ProcFile, type ProcReader, ScratchBuffer } from "./procReader.js"
import type { ProcessInfo } from "./types.js"

/** What the informer remembers about a running process between refreshes. */
export interface TrackedProcess {
  readonly info: ProcessInfo
  /** `<procfs>/<pid>/stat`, built once: the steady-state path allocates no path strings. */
  readonly statPath: string
  /** The comm field of the last `stat` read, as latin1 char codes (byte-exact). */
  readonly statComm: string
  readonly classification: Classification
  /** A container process's container cgroup (cgroupUsage.ts), from its cgroup file. */
  readonly cgroup: CgroupRef | undefined
}

export interface UnreadableFile {
  readonly file: ProcFile
  /** errno name (EACCES, …) or "malformed". */
  readonly reason: string
}

export type ScanOutcome =
  | {
    readonly _tag: "Running"
    readonly process: TrackedProcess
    readonly unreadable: ReadonlyArray<UnreadableFile>
  }
  | { readonly _tag: "Vanished" }
  /** A new pid whose `stat` cannot be read: without its starttime it has no identity. */
  | { readonly _tag: "Unidentified"; readonly pid: number; readonly unreadable: UnreadableFile }

const NOTHING_UNREADABLE: ReadonlyArray<UnreadableFile> = Object.freeze([])
const MALFORMED_STAT: UnreadableFile = Object.freeze({ file: "stat", reason: "malformed" })
const VANISHED: ScanOutcome = Object.freeze({ _tag: "Vanished" })

/** The per-informer scratch space: one buffer and parse results reused for every file. */
export interface ScanContext {
  readonly procfs: string
  readonly reader: ProcReader
  readonly scratch: ScratchBuffer
  readonly stat: PidStatFields
  /** For the re-read of `stat` that confirms an exit (`stillRunning`). */
  readonly recheck: PidStatFields
}

export const makeScanContext = (procfs: string, reader: ProcReader): ScanContext => ({
  procfs,
  reader,
  // 4 KiB holds any stat line in one read; the buffer grows for large cmdline/environ files.
  scratch: new ScratchBuffer(4096),
  stat: emptyPidStatFields(),
  recheck: emptyPidStatFields()
})

const GONE = Symbol("gone")
type Gone = typeof GONE

/** An empty `stat`: the process was torn down between open and read (or the file was cut). */
const EMPTY = "empty"

/** The byte length of a parsed `ctx.stat`, or why it could not be read or parsed. */
type StatRead = number | UnreadableFile

/** Reads and parses `<pid>/stat` into `ctx.stat`. */
const readStat = (ctx: ScanContext, statPath: string): StatRead => {
  let length: number
  try {
    length = ctx.reader.readStat(statPath, ctx.scratch)
  } catch (error) {
    return { file: "stat", reason: errorCode(error) }
  }
  if (length === 0) return { file: "stat", reason: EMPTY }
  return parsePidStat(ctx.scratch.bytes, length, ctx.stat) ? length : { file: "stat", reason: "malformed" }
}

/** What an exit looks like from the stat read alone; a kept process must be confirmed gone. */
const looksGone = (u: UnreadableFile): boolean => mayBeGone(u.reason) || u.reason === EMPTY

/** The incarnation whose files are being read. */
interface Incarnation {
  readonly pid: number
  readonly statPath: string
  readonly startTime: number
}

/**
 * After an ENOENT/ESRCH on one of its files: is this incarnation still there? Its `stat`
 * must still read, with the same starttime (else the pid was reused in between).
 */
const stillRunning = (ctx: ScanContext, p: Incarnation): boolean => {
  try {
    const length = ctx.reader.readStat(p.statPath, ctx.scratch)
    return length > 0 && parsePidStat(ctx.scratch.bytes, length, ctx.recheck) && ctx.recheck.startTime === p.startTime
  } catch {
    return false
  }
}

type TextFile = "comm" | "cgroup" | "cmdline" | "environ"

/** The most bytes read of each (src/io/readLimits.ts says why); a larger file is malformed. */
const TEXT_LIMIT: Readonly<Record<TextFile, number>> = {
  comm: PID_COMM_LIMIT,
  cgroup: PID_CGROUP_LIMIT,
  cmdline: PID_ARGS_LIMIT,
  environ: PID_ARGS_LIMIT
}

/**
 * A text file of the process: its content; GONE when the process exited; "" when it cannot be
 * read (recorded in `unreadable`) — or, for cmdline and environ of a live process failing with
 * ENOENT/ESRCH, "" unrecorded: a kernel thread or zombie has no address space to show.
 */
const readText = (
  ctx: ScanContext,
  p: Incarnation,
  file: TextFile,
  unreadable: Array<UnreadableFile>
): string | Gone => {
  try {
    const length = ctx.reader.readFile(`${ctx.procfs}/${p.pid}/${file}`, ctx.scratch, TEXT_LIMIT[file])
    return ctx.scratch.bytes.toString("utf8", 0, length)
  } catch (error) {
    const reason = errorCode(error)
    if (mayBeGone(reason)) {
      if (!stillRunning(ctx, p)) return GONE
      if (file === "cmdline" || file === "environ") return ""
    }
    unreadable.push({ file, reason })
    return ""
  }
}

/** readlink of `exe`; ENOENT on a live process is no link at all (a kernel thread): "". */
const readExe = (ctx: ScanContext, p: Incarnation, unreadable: Array<UnreadableFile>): string | Gone => {
  try {
    return ctx.reader.readLink(`${ctx.procfs}/${p.pid}/exe`)
  } catch (error) {
    const reason = errorCode(error)
    if (mayBeGone(reason)) {
      if (!stillRunning(ctx, p)) return GONE
      if (reason === "ENOENT") return ""
    }
    unreadable.push({ file: "exe", reason })
    return ""
  }
}

interface Identity {
  readonly comm: string
  readonly exe: string
  readonly classification: Classification
  readonly cgroup: CgroupRef | undefined
}

/** comm, exe and the classification inputs. `statComm` stands in for an unreadable comm. */
const readIdentity = (
  ctx: ScanContext,
  p: Incarnation,
  statComm: string,
  unreadable: Array<UnreadableFile>
): Identity | Gone => {
  const commFile = readText(ctx, p, "comm", unreadable)
  if (commFile === GONE) return GONE
  const exe = readExe(ctx, p, unreadable)
  if (exe === GONE) return GONE
  const cgroup = readText(ctx, p, "cgroup", unreadable)
  if (cgroup === GONE) return GONE
  const cmdline = readText(ctx, p, "cmdline", unreadable)
  if (cmdline === GONE) return GONE
  const environ = readText(ctx, p, "environ", unreadable)
  if (environ === GONE) return GONE
  // When `comm` is unreadable the same name is in stat (decoded as the kernel wrote it: UTF-8).
  const unreadableComm = unreadable.some((u) => u.file === "comm")
  const comm = unreadableComm ? Buffer.from(statComm, "latin1").toString("utf8") : commFile.trim()
  const classification = classifyProcess({ cgroup, cmdline: splitNul(cmdline), environ: splitNul(environ) })
  return {
    comm,
    exe,
    classification,
    cgroup: classification.type === "container" ? cpuCgroupOf(cgroup, classification.container.id) : undefined
  }
}

/**
 * ProcessInfo and TrackedProcess are built field by field, always in the same order: V8 then
 * gives every record one hidden class, and on the steady-state path this is measurably
 * cheaper than object spread (10k processes with moving ticks: 72 → 62 ms per refresh).
 */
const processInfo = (
  base: { readonly key: string; readonly pid: number; readonly startTime: number },
  comm: string,
  exe: string,
  c: Classification,
  cpuTicksTotal: number,
  cpuTicksDelta: number,
  firstSeen: boolean
): ProcessInfo => ({
  key: base.key,
  pid: base.pid,
  startTime: base.startTime,
  comm,
  exe,
  type: c.type,
  containerId: c.type === "container" ? c.container.id : "",
  vmId: c.type === "vm" ? c.vm.id : "",
  cpuTicksTotal,
  cpuTicksDelta,
  firstSeen
})

/** The same process with new CPU figures. */
const withTicks = (p: TrackedProcess, cpuTicksTotal: number, cpuTicksDelta: number): TrackedProcess => ({
  info: processInfo(p.info, p.info.comm, p.info.exe, p.classification, cpuTicksTotal, cpuTicksDelta, false),
  statPath: p.statPath,
  statComm: p.statComm,
  classification: p.classification,
  cgroup: p.cgroup
})

const running = (process: TrackedProcess, unreadable: ReadonlyArray<UnreadableFile>): ScanOutcome => ({
  _tag: "Running",
  process,
  unreadable: unreadable.length === 0 ? NOTHING_UNREADABLE : unreadable
})

/** The first refresh that sees this incarnation: everything is read; its lifetime is its delta. */
const scanNew = (ctx: ScanContext, pid: number): ScanOutcome => {
  const statPath = `${ctx.procfs}/${pid}/stat`
  const stat = readStat(ctx, statPath)
  if (typeof stat !== "number") return looksGone(stat) ? VANISHED : { _tag: "Unidentified", pid, unreadable: stat }
  return identify(ctx, pid, statPath)
}

/** `ctx.stat` holds a freshly parsed stat of a new incarnation. */
const identify = (ctx: ScanContext, pid: number, statPath: string): ScanOutcome => {
  const { cpuTicks, startTime, commStart, commEnd } = ctx.stat
  const statComm = ctx.scratch.bytes.toString("latin1", commStart, commEnd)
  const unreadable: Array<UnreadableFile> = []
  const identity = readIdentity(ctx, { pid, statPath, startTime }, statComm, unreadable)
  if (identity === GONE) return VANISHED
  const c = identity.classification
  const info = processInfo(
    { key: `${pid}:${startTime}`, pid, startTime },
    identity.comm,
    identity.exe,
    c,
    cpuTicks,
    cpuTicks,
    true
  )
  return running({ info, statPath, statComm, classification: c, cgroup: identity.cgroup }, unreadable)
}

/** Still listed but its stat says nothing usable: kept as it was, having used no CPU we can see. */
const keptUnread = (known: TrackedProcess, why: UnreadableFile): ScanOutcome =>
  running(withTicks(known, known.info.cpuTicksTotal, 0), [why])

/**
 * A known pid whose stat read as missing or empty. A real exit removes the whole
 * `<procfs>/<pid>` directory (the kernel unhashes it when the task is reaped), so while the
 * directory is still there this is a damaged read (a copied or bind-mounted tree, a file being
 * replaced), not an exit: the incarnation is kept, idle, so that its totals continue when its
 * stat reads again instead of restarting from 0 as a "new" process with the same key.
 */
const confirmGone = (ctx: ScanContext, pid: number, known: TrackedProcess, why: UnreadableFile): ScanOutcome =>
  ctx.reader.exists(`${ctx.procfs}/${pid}`) ? keptUnread(known, why) : VANISHED

/** A pid the previous refresh saw: normally one `stat` read and no allocation when idle. */
const scanKnown = (ctx: ScanContext, pid: number, known: TrackedProcess): ScanOutcome => {
  const stat = readStat(ctx, known.statPath)
  if (typeof stat !== "number") return looksGone(stat) ? confirmGone(ctx, pid, known, stat) : keptUnread(known, stat)
  const { cpuTicks, startTime, commStart, commEnd } = ctx.stat
  // The kernel never moves a process's starttime back, nor its utime + stime
  // (cputime_adjust keeps them monotonic): such a line is damaged, not a new incarnation.
  if (startTime < known.info.startTime) return keptUnread(known, MALFORMED_STAT)
  if (startTime !== known.info.startTime) return identify(ctx, pid, known.statPath)
  if (cpuTicks < known.info.cpuTicksTotal) return keptUnread(known, MALFORMED_STAT)

  const delta = cpuTicks - known.info.cpuTicksTotal
  if (sameBytes(ctx.scratch.bytes, commStart, commEnd, known.statComm)) {
    // Idle and already reported as idle: the previous record is this one (most processes).
    if (delta === 0 && known.info.cpuTicksDelta === 0 && !known.info.firstSeen) {
      return running(known, NOTHING_UNREADABLE)
    }
    return running(withTicks(known, cpuTicks, delta), NOTHING_UNREADABLE)
  }

  // The comm changed: an exec (or prctl(PR_SET_NAME)). Re-read who the process now is.
  const statComm = ctx.scratch.bytes.toString("latin1", commStart, commEnd)
  const unreadable: Array<UnreadableFile> = []
  const identity = readIdentity(ctx, { pid, statPath: known.statPath, startTime }, statComm, unreadable)
  if (identity === GONE) return VANISHED
  const c = identity.classification
  const info = processInfo(known.info, identity.comm, identity.exe, c, cpuTicks, delta, false)
  return running({ info, statPath: known.statPath, statComm, classification: c, cgroup: identity.cgroup }, unreadable)
}

/** A process not to be read (its files hung a previous scan): reported as last seen, idle. */
export const reportUnread = (known: TrackedProcess): ScanOutcome =>
  running(withTicks(known, known.info.cpuTicksTotal, 0), NOTHING_UNREADABLE)

export const scanProcess = (ctx: ScanContext, pid: number, known: TrackedProcess | undefined): ScanOutcome =>
  known === undefined ? scanNew(ctx, pid) : scanKnown(ctx, pid, known)
