/**
 * The recording's parts on their own: what of a process's environment is kept, how replayed
 * operations are answered (in the order the scan got them), and which files are refused.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as zlib from "node:zlib"
import { headerLine, parseRecording, RECORDING_VERSION } from "../../src/record/recordingFile.js"
import { keptEnviron, makeReplayReader } from "../../src/record/recordingReader.js"
import { errorCode, ScratchBuffer } from "../../src/resource/procReader.js"

describe("recording reader", () => {
  it("keeps only the container-name keys of an environment", () => {
    expect(keptEnviron("PATH=/bin\0HOSTNAME=web-1\0TOKEN=s3cret\0CONTAINER_NAME=api\0"))
      .toBe("HOSTNAME=web-1\0CONTAINER_NAME=api\0")
    expect(keptEnviron("A=1\0")).toBe("")
  })

  it("replays a file read twice in one scan with its two answers, then the last", () => {
    const reader = makeReplayReader()
    reader.load([
      { op: "read", path: "/p/1/stat", data: "first" },
      { op: "failed", of: "read", path: "/p/1/stat", code: "ESRCH" },
      { op: "dir", path: "/p", names: ["1", "stat"] },
      { op: "link", path: "/p/1/exe", target: "/bin/x" },
      { op: "exists", path: "/p/1", exists: true }
    ])
    const scratch = new ScratchBuffer(2)
    const length = reader.readStat("/p/1/stat", scratch)
    expect(scratch.bytes.toString("latin1", 0, length)).toBe("first")
    for (let i = 0; i < 2; i++) {
      let code = ""
      try {
        reader.readStat("/p/1/stat", scratch)
      } catch (e) {
        code = errorCode(e)
      }
      expect(code).toBe("ESRCH")
    }
    expect(reader.readDir("/p")).toEqual(["1", "stat"])
    expect(reader.readLink("/p/1/exe")).toBe("/bin/x")
    expect(reader.exists("/p/1")).toBe(true)
    // Not in the recording: not there.
    expect(reader.exists("/p/2")).toBe(false)
    expect(() => reader.readFile("/p/2/stat", scratch, 10)).toThrow(/ENOENT/)
  })
})

const header = headerLine({
  format: "joulemon-recording",
  version: RECORDING_VERSION,
  recordedAt: 0,
  procfs: "/proc",
  cgroupfs: null,
  zones: [{ name: "package", index: 0, path: "/z", estimated: false, maxEnergy: 262143328850n }],
  primaryZone: 0,
  cpuInfo: [],
  settings: {
    maxPlausibleWatts: 5000,
    maxTerminated: 500,
    minTerminatedEnergyThreshold: 10,
    idlePolicy: "none",
    shortLived: "none",
    nodeName: "n",
    metricsLevel: ["node"],
    maxProcesses: 0
  }
})

describe("recording file", () => {
  it("reads back what was written, µJ exactly", () => {
    const parsed = parseRecording(zlib.gzipSync(header))
    expect(Either.isRight(parsed) && parsed.right.header.zones[0]?.maxEnergy).toBe(262143328850n)
  })

  it.each([
    ["not gzip", Buffer.from("plain"), "not a gzip-compressed recording"],
    ["empty", zlib.gzipSync(""), "empty: no header line"],
    [
      "a newer version",
      zlib.gzipSync(header.replace(`"version":${RECORDING_VERSION}`, "\"version\":99")),
      "format version 99 is newer"
    ],
    ["a damaged refresh line", zlib.gzipSync(`${header}{"nowNanos":"x"}\n`), "line 2:"]
  ])("refuses %s, saying why", (_, bytes, why) => {
    const parsed = parseRecording(bytes)
    expect(Either.isLeft(parsed) ? parsed.left : "").toContain(why)
  })
})
