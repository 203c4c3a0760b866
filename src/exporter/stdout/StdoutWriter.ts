/**
 * Where the stdout exporter's frames go: a small service, so tests capture the output and the
 * exporter's loop sees a write failure (EPIPE when piped into `head`) as a typed error.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as tty from "node:tty"

export class StdoutWriteError extends Data.TaggedError("StdoutWriteError")<{
  readonly code: string
  readonly reason: string
}> {
  override get message(): string {
    const hint = this.code === "EPIPE" ? " (the reader of the output went away, e.g. `| head` finished)" : ""
    return `cannot write to stdout: ${this.reason}${hint}`
  }
}

export interface StdoutWriterShape {
  /** A terminal: the view is redrawn in place instead of appended. */
  readonly isTTY: boolean
  /** Resolves once the text is handed to the OS. */
  readonly write: (text: string) => Effect.Effect<void, StdoutWriteError>
}

export class StdoutWriter extends Context.Tag("joulemon/StdoutWriter")<StdoutWriter, StdoutWriterShape>() {}

const codeOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : "EIO"

/** A writer over any Node writable stream (errors arrive through each write's callback). */
export const makeStreamWriter = (
  stream: NodeJS.WritableStream,
  isTTY: boolean
): Effect.Effect<StdoutWriterShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    // Without a listener a stream error (EPIPE) would be an uncaught exception that kills the
    // process with no useful message; the failing write reports it instead.
    const ignore = () => {}
    yield* Effect.acquireRelease(
      Effect.sync(() => stream.on("error", ignore)),
      () => Effect.sync(() => stream.removeListener("error", ignore))
    )
    return {
      isTTY,
      write: (text) =>
        Effect.async<void, StdoutWriteError>((resume) => {
          stream.write(text, (error) => {
            resume(
              error === null || error === undefined
                ? Effect.void
                : Effect.fail(new StdoutWriteError({ code: codeOf(error), reason: error.message }))
            )
          })
        })
    }
  })

/**
 * File descriptor 1 through libuv's thread pool rather than `process.stdout`: Node writes to a
 * pipe or terminal on the main thread synchronously, so a reader that stops reading (a paused
 * `less`, Ctrl-S in a terminal) would freeze the whole process — monitor and HTTP server
 * included. Here only this exporter's next write waits. (Node's fs stream retries EAGAIN a
 * few times only, so a stdout someone else made non-blocking and that stays full ends the
 * program with the error — rare, and visible, unlike a silent freeze.)
 */
export const StdoutWriterLive: Layer.Layer<StdoutWriter> = Layer.scoped(
  StdoutWriter,
  Effect.gen(function*() {
    const stream = yield* Effect.acquireRelease(
      Effect.sync(() => fs.createWriteStream("", { fd: 1, autoClose: false })),
      (s) => Effect.sync(() => s.destroy())
    )
    return yield* makeStreamWriter(stream, tty.isatty(1))
  })
)
