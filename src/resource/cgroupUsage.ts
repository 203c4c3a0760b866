/**
 * A container's cgroup CPU usage (`monitor.shortLived: cgroup`, issue 13): where its cgroup is,
 * from a member process's `/proc/<pid>/cgroup`, and how much CPU time the cgroup has used — which
 * includes every process that ever ran in it, also those that started and exited between two
 * scans and so never showed up in `/proc`.
 *
 * - cgroup v2: `<cgroupfs><path>/cpu.stat`, field `usage_usec` (µs);
 * - cgroup v1: `<cgroupfs>/<cpuacct mount><path>/cpuacct.usage` (ns). The hierarchy is mounted
 *   under the name of its controller list (`cpu,cpuacct` on systemd hosts, with `cpuacct` a
 *   symlink to it), so the directory is the line's own controller list.
 *
 * Parsing is pure; `readCgroupUsage` is the one I/O step, through the scan's bounded reader.
 */
import { CGROUP_ATTRIBUTE_LIMIT } from "../io/readLimits.js"
import { parseUint64 } from "../io/uint64.js"
import { errorCode, type ProcReader, type ScratchBuffer } from "./procReader.js"

/** A container's cgroup, relative to the cgroup mount (`<host.sysfs>/fs/cgroup`). */
export interface CgroupRef {
  readonly version: 1 | 2
  /** v1: the hierarchy's directory (its controller list, e.g. `cpu,cpuacct`); "" for v2. */
  readonly hierarchy: string
  /**
   * Starts with "/"; cut after the path component that names the container. As the process's
   * cgroup file says it, it may start with `/..` (relative to joulemon's cgroup namespace);
   * resolved (cgroupNamespace.ts) before any file is read.
   */
  readonly path: string
}

/**
 * The path cut after the component holding `containerId`, or undefined when the id is not in
 * it. A path that climbs out of joulemon's cgroup namespace (`/../…`) is kept as it is:
 * cgroupNamespace.ts resolves it against the host's tree.
 */
const containerPath = (path: string, containerId: string): string | undefined => {
  if (!path.startsWith("/")) return undefined
  const at = path.lastIndexOf(containerId)
  if (at === -1) return undefined
  const end = path.indexOf("/", at + containerId.length)
  return end === -1 ? path : path.slice(0, end)
}

/**
 * The cgroup whose CPU usage is the container's, from a member's whole `/proc/<pid>/cgroup`:
 * the v2 line (`0::<path>`) when there is one, else the v1 line whose controllers include
 * `cpuacct`. A process in a child cgroup of its container (systemd in a container, a
 * `docker exec`) still names the container's own cgroup, since the path is cut after the id.
 */
export const cpuCgroupOf = (cgroupFile: string, containerId: string): CgroupRef | undefined => {
  let v1: CgroupRef | undefined
  for (const line of cgroupFile.split("\n")) {
    const first = line.indexOf(":")
    const second = first === -1 ? -1 : line.indexOf(":", first + 1)
    if (second === -1) continue
    const controllers = line.slice(first + 1, second)
    const path = containerPath(line.slice(second + 1), containerId)
    if (path === undefined) continue
    if (line.slice(0, first) === "0" && controllers === "") return { version: 2, hierarchy: "", path }
    if (v1 === undefined && controllers.split(",").includes("cpuacct")) {
      v1 = { version: 1, hierarchy: controllers, path }
    }
  }
  return v1
}

/** The file holding the cgroup's usage, under the cgroup mount. */
export const usageFile = (cgroupfs: string, ref: CgroupRef): string =>
  ref.version === 2 ? `${cgroupfs}${ref.path}/cpu.stat` : `${cgroupfs}/${ref.hierarchy}${ref.path}/cpuacct.usage`

/** A u64 in decimal as a double; undefined when not one (rounding past 2^53 µs is 285 years of CPU). */
const u64 = (text: string): number | undefined => {
  const value = parseUint64(text)
  return value === undefined ? undefined : Number(value)
}

/** `usage_usec` of a v2 `cpu.stat`, in µs. */
export const parseCpuStat = (text: string): number | undefined => {
  for (const line of text.split("\n")) {
    if (line.startsWith("usage_usec ")) return u64(line.slice("usage_usec ".length).trim())
  }
  return undefined
}

/** A v1 `cpuacct.usage` (ns), in whole µs. */
export const parseCpuacctUsage = (text: string): number | undefined => {
  const ns = u64(text.trim())
  return ns === undefined ? undefined : Math.floor(ns / 1000)
}

/** The cgroup's usage in µs, or why it could not be had (errno name, or "malformed"). */
export type CgroupUsage = { readonly usec: number } | { readonly error: string }

export const readCgroupUsage = (
  reader: ProcReader,
  scratch: ScratchBuffer,
  cgroupfs: string,
  ref: CgroupRef
): CgroupUsage => {
  let length: number
  try {
    length = reader.readFile(usageFile(cgroupfs, ref), scratch, CGROUP_ATTRIBUTE_LIMIT)
  } catch (error) {
    return { error: errorCode(error) }
  }
  const text = scratch.bytes.toString("latin1", 0, length)
  const usec = ref.version === 2 ? parseCpuStat(text) : parseCpuacctUsage(text)
  return usec === undefined ? { error: "malformed" } : { usec }
}

/** CPU ticks (USER_HZ, 100 per second) in `usec` of cgroup usage: 10,000 µs each. */
export const USEC_PER_TICK = 10_000

/**
 * Ticks used between two usage samples. Both are cut to whole ticks before subtracting, so
 * the ticks of successive intervals add up to the ticks of the total: no remainder to carry.
 */
export const ticksBetween = (beforeUsec: number, nowUsec: number): number =>
  Math.floor(nowUsec / USEC_PER_TICK) - Math.floor(beforeUsec / USEC_PER_TICK)
