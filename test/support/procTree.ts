/**
 * A synthetic procfs tree for tests of the real binary: written synchronously between
 * scrapes, so a test decides exactly what each reading sees (ticks that move, files that
 * are damaged for one reading and then repaired).
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type CpuLine, cpuLine, type FakeProcess, writeProcess } from "../resource/procDir.js"

export interface ProcTree {
  readonly procfs: string
  readonly setCpu: (cpu: CpuLine) => void
  readonly setProcess: (p: FakeProcess) => void
  readonly statFile: (pid: number) => string
  readonly remove: () => void
}

export const makeProcTree = (cpu: CpuLine): ProcTree => {
  const procfs = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-proctree-"))
  const setCpu = (c: CpuLine) => {
    const tmp = path.join(procfs, ".stat.tmp")
    fs.writeFileSync(tmp, cpuLine(c))
    fs.renameSync(tmp, path.join(procfs, "stat"))
  }
  setCpu(cpu)
  return {
    procfs,
    setCpu,
    setProcess: (p) => Effect.runSync(writeProcess(procfs, p)),
    statFile: (pid) => path.join(procfs, String(pid), "stat"),
    remove: () => fs.rmSync(procfs, { recursive: true, force: true })
  }
}

/** A qemu command line the VM classifier recognises (kepler-behaviour.md §7.4). */
export const qemuCmdline = (name: string, uuid: string): ReadonlyArray<string> => [
  "/usr/bin/qemu-system-x86_64",
  "-name",
  `guest=${name},debug-threads=on`,
  "-uuid",
  uuid
]

/** Field `n` (proc(5) numbering) of a stat line replaced by `text`. */
export const withStatField = (line: string, n: number, text: string): string => {
  const close = line.lastIndexOf(")")
  const rest = line.slice(close + 2).trimEnd().split(" ")
  rest[n - 3] = text
  return `${line.slice(0, close + 2)}${rest.join(" ")}\n`
}
