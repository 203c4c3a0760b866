/**
 * Durable counters (`monitor.stateDir`, issue 13 item 2): the monitor's cumulative counters are
 * written to `<stateDir>/counters.json` after every refresh and resumed at start, so a restart
 * adds no counter reset. The file format and every decision about trusting it are pure
 * (counterFile.ts); this module is the I/O around them.
 *
 * A write is crash-safe: temporary file in the same directory, fsync, rename over the old file,
 * fsync of the directory — a SIGKILL at any point leaves either the previous file or the new
 * one, and the checksum rejects anything else. A file that cannot be trusted is renamed aside
 * (`counters.json.rejected-<time>`, kept for inspection) and joulemon starts from 0; nothing
 * here ever stops joulemon.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { AppConfig, type IdlePolicy } from "../config/Config.js"
import { initialMonitorState, type MonitorState } from "../monitor/attribute.js"
import { type IdleAllocation, initialIdleAllocation } from "../monitor/idleAllocation.js"
import type { ZoneMeta } from "../monitor/nodeEnergy.js"
import {
  type CounterPayload,
  decodeCounterFile,
  encodeCounterFile,
  type Owner,
  payloadOf,
  resumeIdle,
  resumeState
} from "./counterFile.js"

export const COUNTER_FILE = "counters.json"

export interface CheckpointShape {
  /** The monitor's first state: the saved counters when the file can be trusted, else clean. */
  readonly initialState: (zones: ReadonlyArray<ZoneMeta>) => Effect.Effect<MonitorState>
  /**
   * The idle allocation to start from (`monitor.idlePolicy`): the one saved with the counters
   * `initialState` resumed, when it was saved under `policy`; else clean. Call after it.
   */
  readonly initialIdle: (policy: IdlePolicy, zones: ReadonlyArray<ZoneMeta>) => Effect.Effect<IdleAllocation>
  /** Saves the counters of `state` (and `idle`'s); a failure is logged, never raised. */
  readonly save: (state: MonitorState, zones: ReadonlyArray<ZoneMeta>, idle?: IdleAllocation) => Effect.Effect<void>
}

export class Checkpoint extends Context.Tag("joulemon/Checkpoint")<Checkpoint, CheckpointShape>() {}

export const noCheckpoint: CheckpointShape = {
  initialState: (zones) => Effect.succeed(initialMonitorState(zones.length)),
  initialIdle: (policy) => Effect.succeed(initialIdleAllocation(policy)),
  save: () => Effect.void
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Writes `text` to `file` so that a crash leaves the old file or the new one, never a mix. */
export const writeDurably = (file: string, text: string): Effect.Effect<void, string> =>
  Effect.tryPromise({
    try: async () => {
      const tmp = `${file}.tmp`
      const handle = await fs.open(tmp, "w", 0o644)
      try {
        await handle.writeFile(text, "utf8")
        await handle.sync()
      } finally {
        await handle.close()
      }
      await fs.rename(tmp, file)
      const dir = await fs.open(path.dirname(file), "r")
      try {
        await dir.sync()
      } finally {
        await dir.close()
      }
    },
    catch: (e) => `cannot write ${file}: ${describe(e)}`
  })

const rejectedName = (file: string, nowMillis: number): string =>
  `${file}.rejected-${new Date(nowMillis).toISOString().replace(/[:.]/g, "-")}`

/** The checkpoint of `file`, owned by `owner` (this boot and node). */
export const makeFileCheckpoint = (file: string, owner: Owner): Effect.Effect<CheckpointShape> =>
  Effect.gen(function*() {
    const lastFailure = yield* Ref.make(Option.none<string>())
    // What initialState resumed, for initialIdle: the file is read once.
    const resumed = yield* Ref.make(Option.none<CounterPayload>())

    const setAside = (why: string) =>
      Effect.gen(function*() {
        const aside = rejectedName(file, yield* Clock.currentTimeMillis)
        const renamed = yield* Effect.either(Effect.tryPromise(() => fs.rename(file, aside)))
        yield* Effect.logWarning(`counter file rejected: ${why}; starting the counters from 0`).pipe(
          Effect.annotateLogs({
            file,
            moved_to: Either.isRight(renamed) ? aside : `(not moved: ${describe(renamed.left)})`
          })
        )
      })

    const initialState = (zones: ReadonlyArray<ZoneMeta>) =>
      Effect.gen(function*() {
        const clean = initialMonitorState(zones.length)
        const read = yield* Effect.either(Effect.tryPromise(() => fs.readFile(file, "utf8")))
        if (Either.isLeft(read)) {
          const cause = read.left.error
          if (cause instanceof Error && "code" in cause && cause.code === "ENOENT") {
            yield* Effect.logInfo("no counter file yet; counters start from 0").pipe(Effect.annotateLogs({ file }))
          } else {
            yield* Effect.logWarning(`cannot read the counter file: ${describe(cause)}; counters start from 0`).pipe(
              Effect.annotateLogs({ file })
            )
          }
          return clean
        }
        const decoded = decodeCounterFile(read.right, owner)
        if (Either.isLeft(decoded)) {
          yield* setAside(decoded.left.message)
          return clean
        }
        yield* Effect.logInfo("counters resumed from the counter file").pipe(
          Effect.annotateLogs({
            file,
            containers: decoded.right.containers.length,
            vms: decoded.right.vms.length,
            pods: decoded.right.pods.length
          })
        )
        yield* Ref.set(resumed, Option.some(decoded.right))
        return resumeState(decoded.right, zones)
      }).pipe(Effect.withSpan("Checkpoint.initialState"))

    const initialIdle = (policy: IdlePolicy, zones: ReadonlyArray<ZoneMeta>) =>
      Effect.map(
        Ref.get(resumed),
        Option.match({
          onNone: () => initialIdleAllocation(policy),
          onSome: (payload) => resumeIdle(payload, zones, policy)
        })
      )

    const save = (state: MonitorState, zones: ReadonlyArray<ZoneMeta>, idle?: IdleAllocation) =>
      Effect.gen(function*() {
        const text = encodeCounterFile(payloadOf(state, zones, idle), owner, yield* Clock.currentTimeMillis)
        const written = yield* Effect.either(writeDurably(file, text))
        // A failing disk would fail every interval: log a failure once, and its recovery.
        const before = yield* Ref.getAndSet(
          lastFailure,
          Either.isLeft(written) ? Option.some(written.left) : Option.none()
        )
        if (Either.isLeft(written) && !Option.contains(before, written.left)) {
          yield* Effect.logWarning(
            "cannot checkpoint the counters; they will restart from the last good checkpoint",
            written.left
          )
        } else if (Either.isRight(written) && Option.isSome(before)) {
          yield* Effect.logInfo("counter checkpoints written again").pipe(Effect.annotateLogs({ file }))
        }
      }).pipe(Effect.withSpan("Checkpoint.save"))

    return { initialState, initialIdle, save } satisfies CheckpointShape
  })

/** `/proc/sys/kernel/random/boot_id` under `procfs`: a new value every boot. */
export const readBootId = (procfs: string): Effect.Effect<string, string> => {
  const file = path.join(procfs, "sys", "kernel", "random", "boot_id")
  return Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (e) => `cannot read ${file}: ${describe(e)}`
  }).pipe(
    Effect.map((text) => text.trim()),
    Effect.filterOrFail((id) => id !== "", () => `${file} is empty`)
  )
}

/**
 * Off unless `monitor.stateDir` is set. Without a boot id the file's owner cannot be checked,
 * so checkpointing stays off (with a warning) rather than resuming another boot's counters.
 */
export const CheckpointLive: Layer.Layer<Checkpoint, never, AppConfig> = Layer.effect(
  Checkpoint,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const dir = config.monitor.stateDir
    if (dir === "") return noCheckpoint
    const ready = yield* Effect.either(
      Effect.gen(function*() {
        const bootId = yield* readBootId(config.host.procfs)
        yield* Effect.tryPromise({
          try: () => fs.mkdir(dir, { recursive: true, mode: 0o755 }),
          catch: (e) => `cannot create monitor.stateDir ${dir}: ${describe(e)}`
        })
        return bootId
      })
    )
    if (Either.isLeft(ready)) {
      yield* Effect.logWarning(`counters are not checkpointed: ${ready.left}`)
      return noCheckpoint
    }
    const file = path.join(dir, COUNTER_FILE)
    yield* Effect.logInfo("checkpointing the counters").pipe(Effect.annotateLogs({ file, boot_id: ready.right }))
    return yield* makeFileCheckpoint(file, { bootId: ready.right, nodeName: config.kube.nodeName })
  })
)
