/**
 * Hand-written /proc trees in a scoped temp dir, for the informer cases the static fixture does
 * not cover (ticks that move, processes that exit, PID reuse, exec, unreadable files), and a
 * ProcReader wrapper that injects failures a root test run cannot produce.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, type Layer, Logger, type Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { statLine } from "../../scripts/lib/procfsTree.js"
import type { CpuLine } from "../../scripts/lib/procfsTree.js"
import { nodeProcReader, type ProcReader } from "../../src/resource/procReader.js"

export interface FakeProcess {
  readonly pid: number
  readonly comm: string
  readonly utime: number
  readonly stime: number
  readonly startTime: number
  /** The comm inside `stat` when it differs from the `comm` file. */
  readonly statComm?: string
  readonly cgroup?: string
  readonly cmdline?: ReadonlyArray<string>
  readonly environ?: ReadonlyArray<string>
  /** Symlink target of `exe`; no link when absent (a kernel thread). */
  readonly exe?: string
}

export type { CpuLine } from "../../scripts/lib/procfsTree.js"

export const cpuLine = (c: CpuLine): string =>
  `cpu  ${c.user} ${c.nice} ${c.system} ${c.idle} ${c.iowait} ${c.irq} ${c.softirq} ${c.steal} 0 0\n` +
  `cpu0 ${c.user} ${c.nice} ${c.system} ${c.idle} ${c.iowait} ${c.irq} ${c.softirq} ${c.steal} 0 0\n` +
  "intr 0\nctxt 0\n"

export const BASE_CPU: CpuLine = {
  user: 1000,
  nice: 0,
  system: 1000,
  idle: 10000,
  iowait: 0,
  irq: 0,
  softirq: 0,
  steal: 0
}

/** `/proc/stat` after `n` rounds of a machine that is busy 3 ticks in 4: 30 active and 10 idle each. */
export const cpuAfterRounds = (n: number): CpuLine => ({
  ...BASE_CPU,
  user: BASE_CPU.user + 30 * n,
  idle: BASE_CPU.idle + 10 * n
})

const nul = (parts: ReadonlyArray<string>): string => parts.map((p) => `${p}\0`).join("")

/** An empty procfs (only `stat`) in a temp dir removed when the scope closes. */
export const tempProcfs: Effect.Effect<string, never, Scope.Scope> = Effect.gen(function*() {
  const fsys = yield* FileSystem.FileSystem
  const root = yield* fsys.makeTempDirectoryScoped({ prefix: "joulemon-procfs-" })
  fs.writeFileSync(path.join(root, "stat"), cpuLine(BASE_CPU))
  return root
}).pipe(Effect.provide(NodeFileSystem.layer), Effect.orDie)

export const writeCpu = (root: string, cpu: CpuLine): Effect.Effect<void> =>
  Effect.sync(() => fs.writeFileSync(path.join(root, "stat"), cpuLine(cpu)))

/** Writes (or rewrites) every file of one process. */
export const writeProcess = (root: string, p: FakeProcess): Effect.Effect<void> =>
  Effect.sync(() => {
    const dir = path.join(root, String(p.pid))
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(dir)
    const stat = statLine({
      pid: p.pid,
      ppid: 1,
      comm: p.statComm ?? p.comm,
      kind: p.exe === undefined ? "kernel" : "regular",
      exe: p.exe ?? "",
      startTime: p.startTime,
      utime: p.utime,
      stime: p.stime,
      containerId: "",
      vmId: ""
    })
    fs.writeFileSync(path.join(dir, "stat"), stat)
    fs.writeFileSync(path.join(dir, "comm"), `${p.comm}\n`)
    fs.writeFileSync(path.join(dir, "cgroup"), p.cgroup ?? "0::/user.slice/user-1000.slice/session-1.scope\n")
    fs.writeFileSync(path.join(dir, "cmdline"), nul(p.cmdline ?? [p.comm]))
    fs.writeFileSync(path.join(dir, "environ"), nul(p.environ ?? ["HOME=/root"]))
    if (p.exe !== undefined) fs.symlinkSync(p.exe, path.join(dir, "exe"))
  })

export const removeProcess = (root: string, pid: number): Effect.Effect<void> =>
  Effect.sync(() => fs.rmSync(path.join(root, String(pid)), { recursive: true, force: true }))

/** A thrown fs error as Node makes them. */
export const fsError = (code: string, file: string): Error =>
  Object.assign(new Error(`${code}: injected, open '${file}'`), { code, path: file })

/** Every operation of the real reader, counted. */
export interface ReadCounts {
  readStat: number
  readFile: number
  readLink: number
}

/**
 * The real reader with hooks: `fail(file)` returning an errno name makes that operation throw
 * it; `afterList` runs after each directory listing (to remove a process "mid-scan");
 * `order` reorders each listing (determinism tests).
 */
export const hookedReader = (hooks: {
  readonly fail?: (file: string) => string | undefined
  readonly afterList?: (names: ReadonlyArray<string>) => void
  readonly order?: (names: ReadonlyArray<string>) => ReadonlyArray<string>
  readonly counts?: ReadCounts
}): ProcReader => {
  const check = (file: string): void => {
    const code = hooks.fail?.(file)
    if (code !== undefined) throw fsError(code, file)
  }
  return {
    readDir: (dir) => {
      const names = nodeProcReader.readDir(dir)
      hooks.afterList?.(names)
      return hooks.order === undefined ? names : hooks.order(names)
    },
    readStat: (file, into) => {
      if (hooks.counts) hooks.counts.readStat++
      check(file)
      return nodeProcReader.readStat(file, into)
    },
    readFile: (file, into, limit) => {
      if (hooks.counts) hooks.counts.readFile++
      check(file)
      return nodeProcReader.readFile(file, into, limit)
    },
    readLink: (file) => {
      if (hooks.counts) hooks.counts.readLink++
      check(file)
      return nodeProcReader.readLink(file)
    },
    exists: (p) => nodeProcReader.exists(p)
  }
}

export interface LogLine {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** A logger layer recording every line into `lines` (at any level the effect lets through). */
export const capturingLogger = (lines: Array<LogLine>): Layer.Layer<never> =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, logLevel, message }) => {
      lines.push({
        level: logLevel.label,
        message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
        annotations: Object.fromEntries(annotations)
      })
    })
  )
