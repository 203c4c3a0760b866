/**
 * Container cgroup paths from inside a private cgroup namespace (`monitor.shortLived: cgroup`).
 *
 * The kernel writes `/proc/<pid>/cgroup` relative to the READER's cgroup namespace. joulemon in
 * a container on cgroup v2 (a Kubernetes DaemonSet) is in a namespace rooted at its own cgroup,
 * so every other process's path starts with `/..`: `/../../kubepods-besteffort.slice/…`. The
 * host's cgroup mount (under `host.sysfs`) shows the whole tree, so such a path resolves once the
 * namespace root's place in that tree is known. It is found once, from what the kernel shows:
 *
 * - the root's depth: host init (`<procfs>/1/cgroup`) sits at the host's root, so its path is
 *   `/..` once per level between the namespace root and the host's root;
 * - the root itself: the directory at that depth whose `cgroup.procs` (below it, at joulemon's
 *   own relative path from `<procfs>/self/cgroup`) lists joulemon's own pid as the host sees it
 *   (`<procfs>/self` names it, since that procfs is the host's).
 *
 * The search visits the host's cgroups down to that depth (a few hundred directories on a busy
 * node), once per hierarchy, the first time a `/..` path is met. When it finds nothing (no
 * access, an unusual layout), such paths stay unresolved and those containers get no
 * short-lived share — the residual keeps their work, as before.
 */
import * as path from "node:path"
import { PID_CGROUP_LIMIT } from "../io/readLimits.js"
import type { CgroupRef } from "./cgroupUsage.js"
import type { ProcReader, ScratchBuffer } from "./procReader.js"

/** cgroup.procs of one cgroup: a pid per line; 4 MiB is 500k pids. */
const CGROUP_PROCS_LIMIT = 4 * 1024 * 1024

/** A hierarchy's key: "" for v2, the v1 hierarchy directory otherwise. */
const keyOf = (ref: Pick<CgroupRef, "version" | "hierarchy">): string => (ref.version === 2 ? "" : ref.hierarchy)

/** The line of a cgroup file for this hierarchy: `0::` for v2, the controller list for v1. */
const pathIn = (cgroupFile: string, key: string): string | undefined => {
  for (const line of cgroupFile.split("\n")) {
    const first = line.indexOf(":")
    const second = first === -1 ? -1 : line.indexOf(":", first + 1)
    if (second === -1) continue
    const controllers = line.slice(first + 1, second)
    if (key === "" ? line.slice(0, first) === "0" && controllers === "" : controllers === key) {
      return line.slice(second + 1)
    }
  }
  return undefined
}

/** How many leading `/..` a path has. */
const climbs = (p: string): number => {
  let n = 0
  while (p.startsWith("/..", n * 3) && (p.length === (n + 1) * 3 || p[(n + 1) * 3] === "/")) n++
  return n
}

const readText = (reader: ProcReader, scratch: ScratchBuffer, file: string, limit: number): string | undefined => {
  try {
    return scratch.bytes.toString("latin1", 0, reader.readFile(file, scratch, limit))
  } catch {
    return undefined
  }
}

/**
 * Entries exactly `depth` levels below `dir` (relative paths starting with "/"), through the
 * scan's reader (so `joulemon record` captures the search). A file among them lists nothing
 * below it, and at the last level its `cgroup.procs` does not read: it is never the root.
 */
const entriesAt = (reader: ProcReader, dir: string, depth: number, prefix = ""): Array<string> => {
  if (depth === 0) return [prefix === "" ? "/" : prefix]
  let names: ReadonlyArray<string>
  try {
    names = reader.readDir(path.join(dir, prefix))
  } catch {
    return []
  }
  return [...names].sort().flatMap((name) => entriesAt(reader, dir, depth - 1, `${prefix}/${name}`))
}

export interface NamespaceRoots {
  /** The ref with its path made absolute in the host's tree; undefined when it cannot be. */
  readonly resolve: (ref: CgroupRef) => CgroupRef | undefined
}

/**
 * A resolver for one scanner. It remembers each hierarchy's root once found (or that none
 * was): the namespace does not change while joulemon runs.
 */
export const makeNamespaceRoots = (
  reader: ProcReader,
  scratch: ScratchBuffer,
  procfs: string,
  cgroupfs: string
): NamespaceRoots => {
  const roots = new Map<string, string | undefined>()

  /** "" in the host's namespace (paths are already the host's); undefined when not found. */
  const find = (key: string): string | undefined => {
    const init = readText(reader, scratch, `${procfs}/1/cgroup`, PID_CGROUP_LIMIT)
    const initPath = init === undefined ? undefined : pathIn(init, key)
    const depth = initPath === undefined ? 0 : climbs(initPath)
    if (depth === 0) return ""
    const self = readText(reader, scratch, `${procfs}/self/cgroup`, PID_CGROUP_LIMIT)
    const selfPath = self === undefined ? undefined : pathIn(self, key)
    let pid: string
    try {
      pid = reader.readLink(`${procfs}/self`)
    } catch {
      return undefined
    }
    if (selfPath === undefined || selfPath.includes("/..")) return undefined
    const mount = key === "" ? cgroupfs : path.join(cgroupfs, key)
    for (const candidate of entriesAt(reader, mount, depth)) {
      const procs = readText(
        reader,
        scratch,
        path.posix.join(mount, candidate, selfPath, "cgroup.procs"),
        CGROUP_PROCS_LIMIT
      )
      if (procs !== undefined && procs.split("\n").includes(pid)) return candidate
    }
    return undefined
  }

  return {
    resolve: (ref) => {
      // Only leading climbs are a namespace's doing; the kernel writes no other `..`.
      if (ref.path.slice(climbs(ref.path) * 3).includes("/..")) return undefined
      const key = keyOf(ref)
      if (!roots.has(key)) roots.set(key, find(key))
      const root = roots.get(key)
      if (root === undefined) return undefined
      if (root === "") return climbs(ref.path) === 0 ? ref : undefined
      // Climbing above the host's root is not a path in its tree.
      if (climbs(ref.path) > root.split("/").filter((s) => s !== "").length) return undefined
      // Every path, climbing or not (a container nested in joulemon's own), is below the root.
      return { ...ref, path: path.posix.normalize(`${root}/${ref.path}`) }
    }
  }
}
