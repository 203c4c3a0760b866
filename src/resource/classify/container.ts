/**
 * Container detection from `/proc/<pid>/cgroup` and the container's name from its environment
 * or command line (kepler-behaviour.md §4.3). Pure: the procfs reader passes file contents.
 */
import type { ContainerRuntime } from "../types.js"
import { capLabelValue } from "./labelValue.js"
import { baseName } from "./procArgs.js"

export interface ContainerMatch {
  readonly runtime: ContainerRuntime
  readonly id: string
}

interface ContainerPattern {
  readonly runtime: ContainerRuntime
  /**
   * Global only so that `String.prototype.matchAll` can enumerate every match, as Go's
   * `FindAllStringSubmatchIndex` does. `matchAll` runs on a clone of the regex, so these
   * shared objects are never mutated (their `lastIndex` stays 0): no module-level state.
   */
  readonly pattern: RegExp
  /** A substring every match contains: a cheap `includes` skips the regex (and its clone). */
  readonly literal: string
}

/**
 * Kepler's table (§4.3), in its order; the capture is the container ID.
 *
 * Tie-break (Go leaves it to map iteration order): when two rows match at the same start
 * offset of a path, the EARLIER row wins. With this table a tie cannot actually happen —
 * the literal each row starts with (`/docker`, `/containerd`, `[:/]cri-containerd`,
 * `/crio-`, `libpod-<hex>`, `/libpod-payload-`, `/kubepods/`) differs from every other
 * row's within its first characters — but the rule keeps the result deterministic if rows
 * are added.
 */
const CONTAINER_PATTERNS: ReadonlyArray<ContainerPattern> = [
  { runtime: "docker", pattern: /\/docker[-/]([0-9a-f]{64})/g, literal: "/docker" },
  { runtime: "containerd", pattern: /\/containerd[-/]([0-9a-f]{64})/g, literal: "/containerd" },
  { runtime: "containerd", pattern: /[:/]cri-containerd[-:]([0-9a-f]{64})/g, literal: "cri-containerd" },
  { runtime: "crio", pattern: /\/crio-([0-9a-f]{64})/g, literal: "/crio-" },
  // Kepler's trailing `.*` swallows the rest of the path, so only the FIRST libpod-<id> of a
  // path is ever seen; kept for identical IDs and offsets. Written `[^\n]*` because Go's `.`
  // matches everything but "\n", while a JS `.` also stops at "\r", U+2028 and U+2029.
  { runtime: "podman", pattern: /libpod-([0-9a-f]{64})[^\n]*/g, literal: "libpod-" },
  { runtime: "podman", pattern: /\/libpod-payload-([0-9a-f]+)/g, literal: "/libpod-payload-" },
  // cgroupfs-driver Kubernetes layout: /kubepods[/<qos>]/pod<uid>/<container id>
  {
    runtime: "kubernetes",
    pattern: /\/kubepods\/(?:[^/]+\/)?pod[0-9a-f-]+\/([0-9a-f]{64})/g,
    literal: "/kubepods/"
  }
]

/**
 * A literal every row above needs. Most processes on a host are in no container, so one
 * test of the whole file (no allocation; non-global, so stateless) settles them without
 * splitting lines or running seven patterns per line. Measured with tsx on a shared 2-core
 * machine (task C report): a non-container 1-line v2 file takes 80–150 ns against 2.9–4.5 µs
 * for the plain scan of every line with every pattern (~30×); a 14-line v1 file 0.3–1.4 µs
 * against 24–36 µs. The per-row `literal` and the repeated-v1-path skip cut a 14-line docker
 * v1 file from ~33 µs to ~3 µs.
 */
const ANY_RUNTIME_LITERAL = /docker|containerd|crio-|libpod-|kubepods\//

interface OffsetMatch {
  readonly runtime: ContainerRuntime
  readonly id: string
  /** Start of the whole match, in UTF-16 units of the cgroup path (Go counts bytes; the two
   * orders agree on ASCII paths, which is what the kernel names cgroups with in practice). */
  readonly start: number
}

/** The deepest match of one cgroup path: the largest start offset, earlier row on a tie. */
const deepestInPath = (path: string): OffsetMatch | undefined => {
  if (!ANY_RUNTIME_LITERAL.test(path)) return undefined
  let best: OffsetMatch | undefined
  for (const { literal, pattern, runtime } of CONTAINER_PATTERNS) {
    if (!path.includes(literal)) continue
    for (const m of path.matchAll(pattern)) {
      if (best === undefined || m.index > best.start) {
        best = { runtime, id: m[1] ?? "", start: m.index }
      }
    }
  }
  return best
}

/**
 * The path of one `hierarchy-ID:controller-list:cgroup-path` line (v1 `4:memory:/x`, v2
 * `0::/x`). The path may itself contain colons (`…slice:cri-containerd:<id>`), so only the
 * first two separate fields. A line without two colons is not a cgroup line (the kernel
 * never writes one) and is skipped.
 */
const cgroupPathOfLine = (file: string, start: number, end: number): string | undefined => {
  const first = file.indexOf(":", start)
  if (first === -1 || first >= end) return undefined
  const second = file.indexOf(":", first + 1)
  if (second === -1 || second >= end) return undefined
  return file.slice(second + 1, end)
}

/**
 * The container a process runs in, from its whole `/proc/<pid>/cgroup` file, or undefined.
 *
 * Per line, the deepest match wins (so kind-in-docker, `/…/docker-<A>.scope/…/
 * cri-containerd-<B>.scope`, is containerd B). Across lines (cgroup v1) a later line
 * replaces the current best only if its match starts strictly deeper in its own path; on
 * equal offsets the earlier line wins.
 */
export const matchContainer = (cgroupFile: string): ContainerMatch | undefined => {
  if (!ANY_RUNTIME_LITERAL.test(cgroupFile)) return undefined
  let best: OffsetMatch | undefined
  let previousPath: string | undefined
  let lineStart = 0
  while (lineStart < cgroupFile.length) {
    const newline = cgroupFile.indexOf("\n", lineStart)
    const lineEnd = newline === -1 ? cgroupFile.length : newline
    const path = cgroupPathOfLine(cgroupFile, lineStart, lineEnd)
    // cgroup v1 repeats one path for most controllers; a repeat cannot be strictly deeper.
    if (path !== undefined && path !== previousPath) {
      const found = deepestInPath(path)
      if (found !== undefined && (best === undefined || found.start > best.start)) best = found
      previousPath = path
    }
    lineStart = lineEnd + 1
  }
  return best === undefined ? undefined : { runtime: best.runtime, id: best.id }
}

/** The value of the first `HOSTNAME` or `CONTAINER_NAME` entry, even if empty; "" if none. */
const nameFromEnviron = (environ: ReadonlyArray<string>): string => {
  for (const entry of environ) {
    // The key is everything before the first "=", so a prefix test is an exact key test.
    if (entry.startsWith("HOSTNAME=")) return entry.slice("HOSTNAME=".length)
    if (entry.startsWith("CONTAINER_NAME=")) return entry.slice("CONTAINER_NAME=".length)
  }
  return ""
}

const SHIM_EXECUTABLES: ReadonlySet<string> = new Set(["containerd-shim", "docker-containerd-shim"])
/** containerd-shim v1 is started as `containerd-shim <namespace> <workdir> <id-or-name> …`. */
const SHIM_NAME_INDEX = 3

/** `--name=v` or `--name v` after argv[0]; for a containerd shim, argv[3]. "" if none. */
const nameFromCmdline = (cmdline: ReadonlyArray<string>): string => {
  if (cmdline.length <= 1) return ""
  const isShim = SHIM_EXECUTABLES.has(baseName(cmdline[0] ?? ""))
  for (let i = 0; i < cmdline.length; i++) {
    const arg = cmdline[i] ?? ""
    if (i > 0) {
      if (arg.startsWith("--name=")) return arg.slice("--name=".length)
      const next = cmdline[i + 1]
      if (arg === "--name" && next !== undefined) return next
    }
    if (isShim && i === SHIM_NAME_INDEX) return arg
  }
  return ""
}

/**
 * A container's name (§4.3 "Name", steps 1–2): HOSTNAME / CONTAINER_NAME from its environment,
 * else `--name` from its command line (containerd-shim: argv[3]); "" when neither says. Cut to
 * 253 characters (labelValue.ts).
 * Step 3 (read errors ignored) is the caller's: pass [] for a file it could not read.
 */
export const containerName = (environ: ReadonlyArray<string>, cmdline: ReadonlyArray<string>): string => {
  const fromEnviron = nameFromEnviron(environ)
  return capLabelValue(fromEnviron !== "" ? fromEnviron : nameFromCmdline(cmdline))
}
