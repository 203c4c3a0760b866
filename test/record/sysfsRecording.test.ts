/**
 * The meters' sysfs operations recorded and replayed (issue 14: record captures the powercap and
 * hwmon files as read). A meter built again over a recording's discovery has the live meter's
 * zones, and its zones, reading each refresh's recorded text, give exactly the live readings —
 * counter wraps and multi-socket aggregation included — and the live failures, with the same
 * messages, for text that is not a number, a directory and a FIFO in a counter's place.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { MeterName } from "../../src/config/Config.js"
import type { CpuPowerMeterShape } from "../../src/device/CpuPowerMeter.js"
import type { ZoneReading } from "../../src/device/EnergyZone.js"
import { buildMeterFrom } from "../../src/device/meterSelection.js"
import type { MeterSettings } from "../../src/device/meterSettings.js"
import { liveSysfsReader, SysfsReader } from "../../src/device/sysfsReader.js"
import type { SysfsOp } from "../../src/record/recordingFile.js"
import { makeRecordingSysfsReader, makeReplaySysfsReader } from "../../src/record/sysfsRecording.js"
import { makeTree, raplZoneFiles } from "../device/tempTree.js"

const fixtureSysfs = fileURLToPath(new URL("../fixtures/device/sys/", import.meta.url))

const settingsFor = (sysfs: string): MeterSettings => ({
  sysfs,
  procfs: "/proc",
  raplZones: [],
  fakeZones: [],
  model: { idleWattsPerCpu: 1, busyWattsPerCpu: 3 },
  hwmonZones: [],
  chipRules: []
})

type ZoneOutcome = { readonly reading: ZoneReading } | { readonly failed: string }

/** Each zone's reading, or the message of its failure. */
const readAll = (meter: CpuPowerMeterShape): Effect.Effect<ReadonlyArray<ZoneOutcome>> =>
  Effect.forEach(meter.zones, (z) =>
    z.read.pipe(Effect.match({
      onFailure: (e): ZoneOutcome => ({ failed: e.message }),
      onSuccess: (reading): ZoneOutcome => ({ reading })
    })))

const zonesOf = (meter: CpuPowerMeterShape) => meter.zones.map((z) => [z.name, z.index, z.path, z.maxEnergy])

/**
 * Builds `name` over the recording reader, reads every zone after each change to the tree, then
 * builds it again over the replay reader and reads each refresh's recorded text.
 */
const recordAndReplay = (name: MeterName, sysfs: string, changes: ReadonlyArray<() => void>) =>
  Effect.gen(function*() {
    const recording = makeRecordingSysfsReader(liveSysfsReader)
    const live = yield* buildMeterFrom(name, settingsFor(sysfs)).pipe(
      Effect.provideService(SysfsReader, recording.reader)
    )
    const discovery = recording.take()
    const refreshes: Array<{ readonly ops: ReadonlyArray<SysfsOp>; readonly readings: ReadonlyArray<ZoneOutcome> }> = []
    for (const change of changes) {
      change()
      const readings = yield* readAll(live).pipe(Effect.provideService(SysfsReader, recording.reader))
      refreshes.push({ ops: recording.take(), readings })
    }

    // Nothing of the machine is read from here on: the tree is gone.
    fs.rmSync(sysfs, { recursive: true, force: true })
    const replay = makeReplaySysfsReader()
    replay.load(discovery)
    const again = yield* buildMeterFrom(name, settingsFor(sysfs)).pipe(
      Effect.provideService(SysfsReader, replay.reader)
    )
    const replayed: Array<ReadonlyArray<ZoneOutcome>> = []
    for (const r of refreshes) {
      replay.load(r.ops)
      replayed.push(yield* readAll(again).pipe(Effect.provideService(SysfsReader, replay.reader)))
    }
    return { live, again, discovery, refreshes, replayed }
  })

const MAX = 1_000_000n

describe("sysfs recording and replay", () => {
  it.scoped("rapl: wraps, two sockets aggregated, and bad counters replay as they read", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        ...raplZoneFiles("intel-rapl:0", "package-0", 10n, MAX),
        ...raplZoneFiles("intel-rapl:0:0", "dram", 5n, MAX),
        ...raplZoneFiles("intel-rapl:1", "package-1", 20n, MAX)
      })
      // The test owns the tree it removes at the end; a copy keeps the scoped one for cleanup.
      const sysfs = `${root}-copy`
      fs.cpSync(root, sysfs, { recursive: true })
      const counter = (entry: string) => path.join(sysfs, "class", "powercap", entry, "energy_uj")
      const set = (entry: string, content: string) => () => {
        fs.rmSync(counter(entry), { recursive: true, force: true })
        fs.writeFileSync(counter(entry), content)
      }
      const changes = [
        set("intel-rapl:0", "400000\n"),
        // package-0 wraps; package-1 advances.
        () => {
          set("intel-rapl:0", "100\n")()
          set("intel-rapl:1", "300000\n")()
        },
        set("intel-rapl:0:0", "12abc\n"),
        () => {
          set("intel-rapl:0:0", "900\n")()
          fs.rmSync(counter("intel-rapl:1"))
          fs.mkdirSync(counter("intel-rapl:1"))
        },
        () => {
          fs.rmSync(counter("intel-rapl:1"), { recursive: true })
          execFileSync("mkfifo", [counter("intel-rapl:1")])
        },
        () => {
          fs.rmSync(counter("intel-rapl:1"))
          fs.writeFileSync(counter("intel-rapl:1"), "500000\n")
          set("intel-rapl:0", "  7000  \n")()
        }
      ]
      const { again, discovery, live, refreshes, replayed } = yield* recordAndReplay("rapl", sysfs, changes)
      expect(zonesOf(again)).toEqual(zonesOf(live))
      expect(live.zones.map((z) => z.path)).toContain("aggregated-package")
      expect(discovery.some((op) => op.op === "list")).toBe(true)
      expect(replayed).toEqual(refreshes.map((r) => r.readings))

      // What the live run read is what was recorded: the text as it was, and each failure.
      const ops = refreshes.flatMap((r) => r.ops)
      expect(ops).toContainEqual({ op: "text", path: counter("intel-rapl:0:0"), text: "12abc\n" })
      expect(ops).toContainEqual({ op: "text", path: counter("intel-rapl:0"), text: "  7000  \n" })
      const failures = ops.filter((op) => op.op === "failed")
      expect(failures.map((op) => op.op === "failed" && [op.path, op.code])).toEqual([
        [counter("intel-rapl:1"), "EISDIR"],
        [counter("intel-rapl:1"), undefined]
      ])
      const messages = refreshes.map((r) => r.readings.map((z) => ("failed" in z ? z.failed : "")).join("\n"))
      expect(messages[2]).toContain("not an unsigned 64-bit integer")
      expect(messages[3]).toContain("is a directory")
      expect(messages[4]).toContain("not a regular file (a FIFO)")
    }))

  it.effect("hwmon: the fixture's devices (links, labels, disabled channels) rebuild to the same zones", () =>
    Effect.gen(function*() {
      const sysfs = `${fixtureSysfs.replace(/\/$/, "")}-${process.pid}-${Date.now()}`
      // Copied with its links, since the replay half removes the tree it read.
      execFileSync("cp", ["-a", fixtureSysfs, sysfs])
      const { again, discovery, live, refreshes, replayed } = yield* recordAndReplay("hwmon", sysfs, [
        () => {},
        () => {}
      ])
      expect(live.zones.length).toBeGreaterThan(10)
      expect(zonesOf(again)).toEqual(zonesOf(live))
      expect(discovery.some((op) => op.op === "realpath")).toBe(true)
      expect(replayed).toEqual(refreshes.map((r) => r.readings))
    }))

  it.effect("an operation the recording does not have fails as a file that is not there", () =>
    Effect.gen(function*() {
      const replay = makeReplaySysfsReader()
      replay.load([{ op: "text", path: "/sys/a", text: "1\n" }])
      const error = yield* Effect.flip(replay.reader.readText("/sys/b"))
      expect(error.code).toBe("ENOENT")
      expect(error.message).toBe("cannot read /sys/b: ENOENT (no such file: not in the recording)")
      // A listing is not a text read, even of the same path.
      expect((yield* Effect.flip(replay.reader.listDir("/sys/a"))).code).toBe("ENOENT")
    }))
})
