import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { parseProcStat, readCpuTimes } from "../../src/resource/procStat.js"
import { tempProcfs } from "./procDir.js"

const line = (fields: string) => `cpu  ${fields}\ncpu0 ${fields}\nintr 0\n`

describe("parseProcStat", () => {
  it("sums the aggregate line and counts the CPUs", () => {
    expect(parseProcStat(line("10 0 5 100 1 0 0 0 0 0"))).toEqual({ activeTicks: 15, totalTicks: 116, cpuCount: 1 })
  })

  it("accepts 2^64 − 1 and refuses 2^64 and anything that is not a u64 in decimal", () => {
    expect(parseProcStat(line("18446744073709551615 0 0 0"))).toMatchObject({ activeTicks: 18446744073709551615 })
    for (const bad of ["18446744073709551616", "11000000000000000000000", "1e3", "0x10", "1.5", "-1", "Infinity"]) {
      expect(parseProcStat(line(`10 0 ${bad} 100`))).toBe(`malformed aggregate cpu line: "cpu  10 0 ${bad} 100"`)
    }
  })
})

describe("readCpuTimes", () => {
  it.scoped("a /proc/stat that is a symlink to /dev/zero fails the read, naming the file and why", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      const file = path.join(root, "stat")
      fs.rmSync(file)
      fs.symlinkSync("/dev/zero", file)
      const error = yield* Effect.flip(readCpuTimes(root))
      expect(error).toMatchObject({
        _tag: "ResourceError",
        path: file,
        reason: "not a regular file (a character device)"
      })
    }))

  it.scoped("a /proc/stat over 16 MiB is malformed", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      const file = path.join(root, "stat")
      fs.appendFileSync(file, `intr ${"0 ".repeat(8 * 1024 * 1024)}\n`)
      const error = yield* Effect.flip(readCpuTimes(root))
      expect(error.reason).toMatch(/^malformed: \d+ bytes, larger than 16777216 bytes$/)
    }))
})
