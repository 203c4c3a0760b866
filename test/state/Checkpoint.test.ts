/** The checkpoint's I/O on a real directory: missing file, resume, set aside, a failing disk. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { initialMonitorState } from "../../src/monitor/attribute.js"
import { COUNTER_FILE, makeFileCheckpoint, readBootId } from "../../src/state/Checkpoint.js"
import { zoneMeta } from "../support/readings.js"

const owner = { bootId: "boot-1", nodeName: "node-1" }
const zones = [zoneMeta("package")]

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-checkpoint-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const recordLogs = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      lines.push(`${logLevel.label} ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
    })
  )

const withTotal = (total: bigint) => {
  const base = initialMonitorState(1)
  return { ...base, zones: base.zones.map((z) => ({ ...z, energyTotal: total, idleEnergyTotal: total })) }
}

describe("Checkpoint (file I/O)", () => {
  it.scopedLive("starts clean without a file, saves, and a new instance resumes the saved counters", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, COUNTER_FILE)
      const first = yield* makeFileCheckpoint(file, owner)
      expect((yield* first.initialState(zones)).zones[0]?.energyTotal).toBe(0n)
      yield* first.save(withTotal(123_456_789n), zones)
      expect(fs.readdirSync(dir)).toEqual([COUNTER_FILE])
      const second = yield* makeFileCheckpoint(file, owner)
      expect((yield* second.initialState(zones)).zones[0]?.energyTotal).toBe(123_456_789n)
    }))

  it.scopedLive("sets a rejected file aside, warns naming why, and starts clean", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, COUNTER_FILE)
      yield* (yield* makeFileCheckpoint(file, { ...owner, nodeName: "elsewhere" })).save(withTotal(5n), zones)
      const lines: Array<string> = []
      const state = yield* (yield* makeFileCheckpoint(file, owner)).initialState(zones).pipe(
        Effect.provide(recordLogs(lines))
      )
      expect(state.zones[0]?.energyTotal).toBe(0n)
      expect(lines.filter((l) => l.startsWith("WARN"))).toEqual([
        `WARN counter file rejected: written on another node ("elsewhere", this node "node-1"); starting the counters from 0`
      ])
      expect(fs.existsSync(file)).toBe(false)
      expect(fs.readdirSync(dir).filter((f) => f.startsWith(`${COUNTER_FILE}.rejected-`)).length).toBe(1)
    }))

  it.scopedLive("a failing write is logged once while it keeps failing, and its recovery once; it never fails the caller", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const stateDir = path.join(dir, "state")
      fs.mkdirSync(stateDir)
      const lines: Array<string> = []
      const checkpoint = yield* makeFileCheckpoint(path.join(stateDir, COUNTER_FILE), owner)
      fs.rmSync(stateDir, { recursive: true })
      for (let i = 0; i < 3; i++) yield* checkpoint.save(withTotal(1n), zones).pipe(Effect.provide(recordLogs(lines)))
      fs.mkdirSync(stateDir)
      for (let i = 0; i < 2; i++) yield* checkpoint.save(withTotal(2n), zones).pipe(Effect.provide(recordLogs(lines)))
      expect(lines.map((l) => l.split(" ").slice(0, 5).join(" "))).toEqual([
        "WARN cannot checkpoint the counters;",
        "INFO counter checkpoints written again"
      ])
      expect(fs.readdirSync(stateDir)).toEqual([COUNTER_FILE])
    }))

  it.scopedLive("reads the boot id under host.procfs; an empty one is an error naming the file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "sys", "kernel", "random", "boot_id")
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, "abc-123\n")
      expect(yield* readBootId(dir)).toBe("abc-123")
      fs.writeFileSync(file, "\n")
      expect(yield* Effect.flip(readBootId(dir))).toBe(`${file} is empty`)
    }))
})
