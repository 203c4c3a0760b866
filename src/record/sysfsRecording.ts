/**
 * The meters' SysfsReader (device/sysfsReader.ts), recorded and replayed: recording passes every
 * operation to the machine's reader and notes what it returned or failed with; replaying answers
 * the same operations from those notes — the text exactly as read, the same SysfsReadError — so
 * the meter's parsing, wrap handling and multi-socket aggregation run again as they did live.
 */
import * as Effect from "effect/Effect"
import type { SysfsReaderShape } from "../device/sysfsReader.js"
import { SysfsReadError } from "../device/sysfsReadError.js"
import { makeAnswerQueue } from "./answerQueue.js"
import type { SysfsOp } from "./recordingFile.js"

export interface RecordingSysfsReader {
  readonly reader: SysfsReaderShape
  /** The operations since the last call, in order; starts a new list. */
  readonly take: () => ReadonlyArray<SysfsOp>
}

type Kind = "text" | "list" | "realpath"

export const makeRecordingSysfsReader = (inner: SysfsReaderShape): RecordingSysfsReader => {
  let ops: Array<SysfsOp> = []
  const noted = <A>(kind: Kind, path: string, run: Effect.Effect<A, SysfsReadError>, op: (a: A) => SysfsOp) =>
    run.pipe(
      Effect.tapBoth({
        onSuccess: (a) => Effect.sync(() => void ops.push(op(a))),
        onFailure: (e) =>
          Effect.sync(() =>
            void ops.push({
              op: "failed",
              of: kind,
              path,
              reason: e.reason,
              ...(e.code === undefined ? {} : { code: e.code })
            })
          )
      })
    )
  return {
    reader: {
      readText: (file) => noted("text", file, inner.readText(file), (text) => ({ op: "text", path: file, text })),
      listDir: (dir) =>
        noted("list", dir, inner.listDir(dir), (entries) => ({ op: "list", path: dir, entries: [...entries] })),
      realpath: (file) =>
        noted("realpath", file, inner.realpath(file), (target) => ({ op: "realpath", path: file, target }))
    },
    take: () => {
      const out = ops
      ops = []
      return out
    }
  }
}

export interface ReplaySysfsReader {
  readonly reader: SysfsReaderShape
  /** The operations to answer from: the discovery's, then each refresh's. */
  readonly load: (ops: ReadonlyArray<SysfsOp>) => void
}

/** An operation the recording does not have fails as a file that is not there, saying why. */
const notRecorded = (path: string): SysfsReadError =>
  new SysfsReadError({ path, reason: "ENOENT (no such file: not in the recording)", code: "ENOENT" })

export const makeReplaySysfsReader = (): ReplaySysfsReader => {
  const answers = makeAnswerQueue<SysfsOp>((op) => ({ kind: op.op === "failed" ? op.of : op.op, path: op.path }))
  const answer = <A>(kind: Kind, path: string, pick: (op: SysfsOp) => A | undefined) =>
    Effect.suspend((): Effect.Effect<A, SysfsReadError> => {
      const op = answers.next(kind, path)
      if (op === undefined) return Effect.fail(notRecorded(path))
      if (op.op === "failed") {
        return Effect.fail(
          new SysfsReadError(
            op.code === undefined ? { path, reason: op.reason } : { path, reason: op.reason, code: op.code }
          )
        )
      }
      const value = pick(op)
      return value === undefined ? Effect.fail(notRecorded(path)) : Effect.succeed(value)
    })
  return {
    reader: {
      readText: (file) => answer("text", file, (op) => (op.op === "text" ? op.text : undefined)),
      listDir: (dir) => answer("list", dir, (op) => (op.op === "list" ? op.entries : undefined)),
      realpath: (file) => answer("realpath", file, (op) => (op.op === "realpath" ? op.target : undefined))
    },
    load: answers.load
  }
}
