/**
 * Which file a stuck collector worker is blocked on, found from outside: for each of its
 * threads, `/proc/<worker>/task/<tid>/syscall` names the system call it sleeps in and its
 * arguments. An open-like call's path argument is read from `/proc/<worker>/mem`; a read-like
 * call's descriptor is resolved through `/proc/<worker>/fd/<n>`. When neither says (another
 * architecture, no ptrace access), the worker's open descriptors under the watched roots are
 * the answer. Every probe is asynchronous and itself bounded: a monitor must not hang on
 * diagnosing a hang.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { open, readdir, readFile, readlink } from "node:fs/promises"
import { resolve } from "node:path"
import type { StuckFile } from "./Collector.js"

/** System call numbers, per architecture: the ones whose first path or fd argument we read. */
interface SyscallTable {
  /** number → index of the path-pointer argument */
  readonly pathArg: ReadonlyMap<number, number>
  /** number → index of the fd argument */
  readonly fdArg: ReadonlyMap<number, number>
}

const SYSCALLS: Readonly<Record<string, SyscallTable>> = {
  // arch/x86/entry/syscalls/syscall_64.tbl
  x64: {
    pathArg: new Map([[2, 0], [4, 0], [6, 0], [89, 0], [257, 1], [262, 1], [267, 1], [332, 1], [437, 1]]),
    fdArg: new Map([[0, 0], [17, 0], [19, 0], [295, 0], [5, 0], [78, 0], [217, 0]])
  },
  // include/uapi/asm-generic/unistd.h
  arm64: {
    pathArg: new Map([[56, 1], [78, 1], [79, 1], [291, 1], [437, 1]]),
    fdArg: new Map([[63, 0], [67, 0], [65, 0], [69, 0], [80, 0], [61, 0]])
  }
}

const PROBE_TIMEOUT = "500 millis"
const PATH_MAX = 4096

const attempt = <A>(f: () => Promise<A>): Effect.Effect<Option.Option<A>> =>
  Effect.tryPromise(f).pipe(Effect.timeout(PROBE_TIMEOUT), Effect.option)

// User-space addresses are below 2^48 on x86_64 and arm64: exact as a number.
const readPathAt = (worker: number, address: bigint): Effect.Effect<Option.Option<string>> =>
  attempt(async () => {
    const handle = await open(`/proc/${worker}/mem`, "r")
    try {
      const buffer = Buffer.alloc(PATH_MAX)
      const { bytesRead } = await handle.read(buffer, 0, PATH_MAX, Number(address))
      const end = buffer.indexOf(0)
      return buffer.subarray(0, end >= 0 && end < bytesRead ? end : bytesRead).toString("utf8")
    } finally {
      await handle.close()
    }
  })

/** `<nr> <arg0> … <arg5> <sp> <pc>` → the file named by its arguments, if it is a file call. */
const fileOfSyscall = (worker: number, line: string, table: SyscallTable): Effect.Effect<Option.Option<string>> => {
  const fields = line.trim().split(" ")
  const nr = Number(fields[0])
  if (!Number.isInteger(nr)) return Effect.succeedNone
  const argument = (i: number): bigint | undefined => {
    const text = fields[1 + i]
    return text !== undefined && /^0x[0-9a-f]+$/i.test(text) ? BigInt(text) : undefined
  }
  const pathIndex = table.pathArg.get(nr)
  if (pathIndex !== undefined) {
    const address = argument(pathIndex)
    return address === undefined ? Effect.succeedNone : readPathAt(worker, address)
  }
  const fdIndex = table.fdArg.get(nr)
  if (fdIndex !== undefined) {
    const fd = argument(fdIndex)
    return fd === undefined ? Effect.succeedNone : attempt(() => readlink(`/proc/${worker}/fd/${fd}`))
  }
  return Effect.succeedNone
}

const under = (roots: ReadonlyArray<string>) => (path: string): boolean =>
  roots.some((root) => path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`))

/** `<procfs>/<pid>/<file…>` → the pid. */
export const pidOfProcPath = (procfs: string, path: string): number | undefined => {
  const prefix = procfs.endsWith("/") ? procfs : `${procfs}/`
  if (!path.startsWith(prefix)) return undefined
  const head = path.slice(prefix.length).split("/")[0] ?? ""
  return /^[1-9][0-9]*$/.test(head) ? Number(head) : undefined
}

const fromSyscalls = (
  worker: number,
  table: SyscallTable,
  watched: (path: string) => boolean
): Effect.Effect<Option.Option<string>> =>
  Effect.gen(function*() {
    const tids = Option.getOrElse(yield* attempt(() => readdir(`/proc/${worker}/task`)), () => [])
    for (const tid of tids) {
      const line = yield* attempt(() => readFile(`/proc/${worker}/task/${tid}/syscall`, "utf8"))
      if (Option.isNone(line)) continue
      const file = yield* fileOfSyscall(worker, line.value, table)
      if (Option.isSome(file) && watched(file.value)) return file
    }
    return Option.none()
  })

const fromOpenFiles = (worker: number, watched: (path: string) => boolean): Effect.Effect<Option.Option<string>> =>
  Effect.gen(function*() {
    const fds = Option.getOrElse(yield* attempt(() => readdir(`/proc/${worker}/fd`)), () => [])
    for (const fd of fds) {
      const target = yield* attempt(() => readlink(`/proc/${worker}/fd/${fd}`))
      if (Option.isSome(target) && watched(target.value)) return target
    }
    return Option.none()
  })

/**
 * The file `worker` (a pid in this process's /proc) is blocked on, among files under `procfs`
 * or `sysfs`.
 */
export const findStuckFile = (
  worker: number,
  roots: { readonly procfs: string; readonly sysfs: string },
  arch: string = process.arch
): Effect.Effect<Option.Option<StuckFile>> =>
  Effect.gen(function*() {
    // The worker shares our working directory, so relative roots and paths resolve alike.
    const procfs = resolve(roots.procfs)
    const inRoots = under([procfs, resolve(roots.sysfs)])
    const watched = (path: string) => inRoots(resolve(path))
    const table = SYSCALLS[arch]
    const viaSyscall = table === undefined ? Option.none<string>() : yield* fromSyscalls(worker, table, watched)
    const found = Option.isSome(viaSyscall) ? viaSyscall : yield* fromOpenFiles(worker, watched)
    return Option.map(found, (relative): StuckFile => {
      const p = resolve(relative)
      const pid = pidOfProcPath(procfs, p)
      return pid === undefined ? { path: p } : { pid, path: p }
    })
  })
