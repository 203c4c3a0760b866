/**
 * The stdout exporter (`exporter.stdout.enabled`, kepler-behaviour.md §1.11): redraws the view
 * on every new snapshot. It follows the monitor's "new snapshot" subscription (sliding: while a
 * frame is being written, newer snapshots replace older ones and the monitor never waits), and
 * does not mark snapshots exported, so it cannot make Prometheus miss a terminated workload.
 *
 * Kepler exits 0 when this exporter stops; here a write failure (EPIPE when piped into `head`)
 * or any failure of the loop ends joulemon with a non-zero exit, through `forkCritical`.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { forkCritical } from "../../Fatal.js"
import { PowerMonitor } from "../../monitor/PowerMonitor.js"
import type { Snapshot } from "../../monitor/snapshot.js"
import { DEFAULT_TOP, renderView, type ViewOptions } from "./render.js"
import { StdoutWriter, StdoutWriterLive, type StdoutWriterShape } from "./StdoutWriter.js"

/** Cursor home and clear screen: the next frame replaces the last one on a terminal. */
export const CLEAR_SCREEN = "\u001b[H\u001b[2J"

/** A terminal is redrawn in place; a pipe or file gets frames one after another, a blank line apart. */
export const frame = (snapshot: Snapshot, isTTY: boolean, options: ViewOptions): string =>
  isTTY ? CLEAR_SCREEN + renderView(snapshot, options) : `${renderView(snapshot, options)}\n`

/**
 * Draws `initial` (if any), then every snapshot from `changes`, skipping any already drawn
 * (the latest snapshot may also be the first one the subscription delivers).
 */
export const drawLoop = (
  writer: StdoutWriterShape,
  changes: Queue.Dequeue<Snapshot>,
  initial: Option.Option<Snapshot>,
  options: ViewOptions
) => {
  const draw = (last: number, snapshot: Snapshot) =>
    snapshot.sequence <= last
      ? Effect.succeed(last)
      : writer.write(frame(snapshot, writer.isTTY, options)).pipe(Effect.as(snapshot.sequence))
  return Option.match(initial, { onNone: () => Effect.succeed(0), onSome: (s) => draw(0, s) }).pipe(
    Effect.flatMap((first) =>
      Effect.iterate(first, {
        while: () => true,
        body: (last) => Queue.take(changes).pipe(Effect.flatMap((snapshot) => draw(last, snapshot)))
      })
    )
  )
}

/** The exporter over a given writer (tests provide one that captures the frames). */
export const StdoutExporter = (options: ViewOptions = { top: DEFAULT_TOP }) =>
  Layer.scopedDiscard(
    Effect.gen(function*() {
      const monitor = yield* PowerMonitor
      const writer = yield* StdoutWriter
      // Subscribe before reading `latest`, so no snapshot can fall between the two.
      const changes = yield* monitor.changes
      const initial = yield* monitor.latest
      yield* Effect.logInfo("stdout exporter started").pipe(
        Effect.annotateLogs({ component: "stdout", tty: writer.isTTY, top: options.top })
      )
      yield* forkCritical(
        "stdout exporter",
        drawLoop(writer, changes, initial, options).pipe(Effect.annotateLogs({ component: "stdout" }))
      )
    })
  )

/** The exporter on the process's standard output. */
export const StdoutExporterLive = StdoutExporter().pipe(Layer.provide(StdoutWriterLive))
