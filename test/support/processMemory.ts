/** Memory of a process tree, read from /proc (Linux only). */
import * as fs from "node:fs"

/**
 * Resident memory of `pid` and each of its descendants (the collector runs in a child
 * process), in bytes: the largest of them. Under tsx each starts at 200–260 MB.
 */
export const largestRss = (pid: number): number => {
  const parents = new Map<number, number>()
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    try {
      const status = fs.readFileSync(`/proc/${name}/status`, "utf8")
      const ppid = /^PPid:\s+(\d+)$/m.exec(status)?.[1]
      if (ppid !== undefined) parents.set(Number(name), Number(ppid))
    } catch {
      // exited while listed
    }
  }
  const family = new Set([pid])
  for (let grew = true; grew;) {
    grew = false
    for (const [child, parent] of parents) {
      if (family.has(parent) && !family.has(child)) (family.add(child), (grew = true))
    }
  }
  let largest = 0
  for (const p of family) {
    try {
      const kib = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"))?.[1]
      largest = Math.max(largest, Number(kib ?? 0) * 1024)
    } catch {
      // exited while measured
    }
  }
  return largest
}
