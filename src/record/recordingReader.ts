/**
 * The scan's file reader (resource/procReader.ts), recorded and replayed. Recording passes every
 * operation to the real reader and notes what it returned or threw; replaying answers the same
 * operations from those notes, so the scan — and everything after it — runs as it did.
 *
 * Of a process's `environ` only what classification reads is kept: the `HOSTNAME` and
 * `CONTAINER_NAME` entries (a container's name). Everything else in a process's environment
 * (tokens, passwords) never reaches the recording.
 */
import { errorCode, type ProcReader, type ScratchBuffer } from "../resource/procReader.js"
import { makeAnswerQueue } from "./answerQueue.js"
import type { FileOp } from "./recordingFile.js"

const KEPT_ENVIRON = ["HOSTNAME=", "CONTAINER_NAME="]

/** `environ` cut to the entries classification reads, in their order, NUL-terminated. */
export const keptEnviron = (data: string): string =>
  data.split("\0").filter((e) => KEPT_ENVIRON.some((k) => e.startsWith(k))).map((e) => `${e}\0`).join("")

export interface RecordingReader extends ProcReader {
  /** The operations since the last call, in order; starts a new list. */
  readonly take: () => ReadonlyArray<FileOp>
}

export const makeRecordingReader = (inner: ProcReader): RecordingReader => {
  let ops: Array<FileOp> = []
  const failed = (of: "dir" | "read" | "link", path: string, error: unknown): never => {
    ops.push({ op: "failed", of, path, code: errorCode(error) })
    throw error
  }
  const read = (path: string, into: ScratchBuffer, run: () => number): number => {
    let length: number
    try {
      length = run()
    } catch (error) {
      return failed("read", path, error)
    }
    const data = into.bytes.toString("latin1", 0, length)
    ops.push({ op: "read", path, data: path.endsWith("/environ") ? keptEnviron(data) : data })
    return length
  }
  return {
    readDir: (dir) => {
      try {
        const names = inner.readDir(dir)
        ops.push({ op: "dir", path: dir, names: [...names] })
        return names
      } catch (error) {
        return failed("dir", dir, error)
      }
    },
    readStat: (file, into) => read(file, into, () => inner.readStat(file, into)),
    readFile: (file, into, limit) => read(file, into, () => inner.readFile(file, into, limit)),
    readLink: (file) => {
      try {
        const target = inner.readLink(file)
        ops.push({ op: "link", path: file, target })
        return target
      } catch (error) {
        return failed("link", file, error)
      }
    },
    exists: (p) => {
      const exists = inner.exists(p)
      ops.push({ op: "exists", path: p, exists })
      return exists
    },
    take: () => {
      const out = ops
      ops = []
      return out
    }
  }
}

/** What a replayed operation throws: the recorded code, as `errorCode` reads it back. */
export class ReplayedFailure extends Error {
  constructor(readonly path: string, readonly code: string) {
    super(`${code}: ${path} (recorded)`)
  }
}

export interface ReplayReader extends ProcReader {
  /** The operations of the refresh about to be replayed. */
  readonly load: (ops: ReadonlyArray<FileOp>) => void
}

/**
 * Answers from the loaded refresh's operations. An operation the recording does not have (the
 * recording is of another joulemon version's scan) fails with ENOENT, as a file that is not there.
 */
export const makeReplayReader = (): ReplayReader => {
  const answers = makeAnswerQueue<FileOp>((op) => ({ kind: op.op === "failed" ? op.of : op.op, path: op.path }))
  const missing = (path: string): never => {
    throw new ReplayedFailure(path, "ENOENT")
  }
  const read = (path: string, into: ScratchBuffer): number => {
    const a = answers.next("read", path)
    if (a?.op === "failed") throw new ReplayedFailure(path, a.code)
    if (a?.op !== "read") return missing(path)
    const length = Buffer.byteLength(a.data, "latin1")
    while (into.bytes.length < length) into.grow(0, length)
    into.bytes.write(a.data, 0, "latin1")
    return length
  }
  return {
    readDir: (dir) => {
      const a = answers.next("dir", dir)
      if (a?.op === "failed") throw new ReplayedFailure(dir, a.code)
      return a?.op === "dir" ? a.names : missing(dir)
    },
    readStat: read,
    readFile: (file, into) => read(file, into),
    readLink: (file) => {
      const a = answers.next("link", file)
      if (a?.op === "failed") throw new ReplayedFailure(file, a.code)
      return a?.op === "link" ? a.target : missing(file)
    },
    exists: (p) => {
      const a = answers.next("exists", p)
      return a?.op === "exists" ? a.exists : false
    },
    load: answers.load
  }
}
