/**
 * Which processes belong to the measured command: its own process and everything descended
 * from it. Pure; the reads are in processTreeRead.ts.
 *
 * The tree is followed by the parent pid (field 4 of /proc/<pid>/stat) at every interval, and
 * a process is remembered as a member by its incarnation key (`${pid}:${starttime}`, the
 * monitor's `ProcessWorkload.key`) once seen: a child that exits, or whose parent exits and
 * leaves it to init, stays counted. What no scan ever saw — a grandchild that is orphaned
 * before the next interval — cannot be told apart from the rest of the machine.
 */

export interface StatEntry {
  readonly pid: number
  readonly ppid: number
  /** Field 22, ticks after boot. */
  readonly startTime: number
}

export const entryKey = (entry: StatEntry): string => `${entry.pid}:${entry.startTime}`

const FIELD_PPID = 4
const FIELD_CUTIME = 16
const FIELD_CSTIME = 17
const FIELD_STARTTIME = 22

/**
 * The pid and a field reader of a `/proc/<pid>/stat` line (fields numbered as in proc(5)), or
 * undefined when it is not one. The comm (field 2) may hold spaces and parentheses, so the
 * fields after it are counted from the last `)`.
 */
const statFields = (
  line: string
): { readonly pid: number; readonly field: (n: number) => number | undefined } | undefined => {
  const open = line.indexOf("(")
  const close = line.lastIndexOf(")")
  if (open < 0 || close < open) return undefined
  const pid = numeric(line.slice(0, open).trim())
  if (pid === undefined) return undefined
  // Field 3 is the first after the comm.
  const rest = line.slice(close + 1).trim().split(/\s+/)
  return { pid, field: (n) => numeric(rest[n - 3]) }
}

const numeric = (text: string | undefined): number | undefined =>
  text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined

/** pid, ppid and starttime of a `/proc/<pid>/stat` line, or undefined when it is not one. */
export const parseStatLine = (line: string): StatEntry | undefined => {
  const fields = statFields(line)
  if (fields === undefined) return undefined
  const ppid = fields.field(FIELD_PPID)
  const startTime = fields.field(FIELD_STARTTIME)
  return ppid === undefined || startTime === undefined ? undefined : { pid: fields.pid, ppid, startTime }
}

/**
 * cutime + cstime (fields 16, 17) in ticks: the CPU time of a process's children that it has
 * waited for, theirs included — the kernel's own account of a finished command tree.
 */
export const parseChildTicks = (line: string): number | undefined => {
  const fields = statFields(line)
  const cutime = fields?.field(FIELD_CUTIME)
  const cstime = fields?.field(FIELD_CSTIME)
  return cutime === undefined || cstime === undefined ? undefined : cutime + cstime
}

export interface ProcessTree {
  /** The command's pid (as the kernel of `host.procfs` numbers it). */
  readonly rootPid: number
  /** The root's incarnation key once a scan saw it, so a later process reusing its pid is not taken for it. */
  readonly rootKey: string | undefined
  /** Incarnation keys of every process seen in the tree so far. */
  readonly members: ReadonlySet<string>
}

export const initialTree = (rootPid: number): ProcessTree => ({ rootPid, rootKey: undefined, members: new Set() })

/**
 * The tree after one scan of the process table: a process is a member when it is the root,
 * was a member before, or its parent (in this scan) is one.
 */
export const trackTree = (tree: ProcessTree, scan: ReadonlyArray<StatEntry>): ProcessTree => {
  const byPid = new Map<number, StatEntry>()
  for (const entry of scan) byPid.set(entry.pid, entry)
  const members = new Set(tree.members)
  const root = byPid.get(tree.rootPid)
  const rootKey = tree.rootKey ?? (root === undefined ? undefined : entryKey(root))
  const decided = new Map<number, boolean>()
  const classify = (entry: StatEntry): void => {
    // Walk up until a process whose membership is known, then mark the whole path.
    const path: Array<StatEntry> = []
    let current: StatEntry | undefined = entry
    let verdict = false
    while (current !== undefined) {
      const known = decided.get(current.pid)
      if (known !== undefined) {
        verdict = known
        break
      }
      const key = entryKey(current)
      if (key === rootKey || members.has(key)) {
        verdict = true
        path.push(current)
        break
      }
      path.push(current)
      // pid 0 is the kernel's; a cycle cannot happen in one consistent table, but a scan is
      // not one instant, so stop at any pid already on the path.
      const parent: StatEntry | undefined = current.ppid === 0 ? undefined : byPid.get(current.ppid)
      current = parent !== undefined && path.includes(parent) ? undefined : parent
    }
    for (const p of path) {
      decided.set(p.pid, verdict)
      if (verdict) members.add(entryKey(p))
    }
  }
  for (const entry of scan) classify(entry)
  return members.size === tree.members.size && rootKey === tree.rootKey
    ? tree
    : { rootPid: tree.rootPid, rootKey, members }
}
