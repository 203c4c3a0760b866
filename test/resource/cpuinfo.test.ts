import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { parseCpuInfo, readCpuInfo } from "../../src/resource/cpuinfo.js"
import { capturingLogger, type LogLine, tempProcfs } from "./procDir.js"

const X86 = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 207
model name\t: Intel(R) Xeon(R) Processor
physical id\t: 0
siblings\t: 2
core id\t\t: 0
flags\t\t: fpu vme de pse

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Xeon(R) Processor
physical id\t: 0
core id\t\t: 1
flags\t\t: fpu vme de pse

`

// aarch64: no vendor_id, no model name, no physical id, no core id.
const AARCH64 = `processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1

processor\t: 1
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
CPU implementer\t: 0x41
`

// 32-bit Raspberry Pi: a model name per CPU and a trailing block that is not a CPU.
const ARMV7 = `processor\t: 0
model name\t: ARMv7 Processor rev 4 (v7l)
BogoMIPS\t: 38.40

processor\t: 1
model name\t: ARMv7 Processor rev 4 (v7l)
BogoMIPS\t: 38.40

Hardware\t: BCM2835
Revision\t: a02082
Serial\t\t: 00000000abcdef01
Model\t\t: Raspberry Pi 3 Model B Rev 1.2
`

describe("parseCpuInfo", () => {
  it("reads processor, vendor_id, model name, physical id and core id of each x86 CPU", () => {
    expect(parseCpuInfo(X86)).toEqual([
      {
        processor: "0",
        vendorId: "GenuineIntel",
        modelName: "Intel(R) Xeon(R) Processor",
        physicalId: "0",
        coreId: "0"
      },
      {
        processor: "1",
        vendorId: "GenuineIntel",
        modelName: "Intel(R) Xeon(R) Processor",
        physicalId: "0",
        coreId: "1"
      }
    ])
  })

  it("gives \"\" for the fields ARM does not have", () => {
    expect(parseCpuInfo(AARCH64)).toEqual([
      { processor: "0", vendorId: "", modelName: "", physicalId: "", coreId: "" },
      { processor: "1", vendorId: "", modelName: "", physicalId: "", coreId: "" }
    ])
  })

  it("skips blocks that are not CPUs (ARM's Hardware/Revision/Serial block)", () => {
    expect(parseCpuInfo(ARMV7).map((e) => [e.processor, e.modelName])).toEqual([
      ["0", "ARMv7 Processor rev 4 (v7l)"],
      ["1", "ARMv7 Processor rev 4 (v7l)"]
    ])
  })

  it("keeps colons inside a value and accepts blank lines made of spaces", () => {
    const text = "processor : 0\nmodel name : AMD EPYC: 64-Core\n  \nprocessor : 1\n"
    expect(parseCpuInfo(text).map((e) => e.modelName)).toEqual(["AMD EPYC: 64-Core", ""])
  })

  it("gives an empty list for an empty file", () => {
    expect(parseCpuInfo("")).toEqual([])
  })
})

describe("readCpuInfo", () => {
  it.scoped("parses <procfs>/cpuinfo", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      fs.writeFileSync(path.join(root, "cpuinfo"), X86)
      expect((yield* readCpuInfo(root)).map((e) => e.coreId)).toEqual(["0", "1"])
    }))

  it.scoped("a missing file is an empty list and one debug line naming it", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      const lines: Array<LogLine> = []
      const entries = yield* readCpuInfo(root).pipe(
        Effect.provide(capturingLogger(lines)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      expect(entries).toEqual([])
      expect(lines).toEqual([{
        level: "DEBUG",
        message: "no cpuinfo; kepler_node_cpu_info will be empty",
        annotations: { file: path.join(root, "cpuinfo"), reason: "ENOENT" }
      }])
    }))

  it.scoped("an unreadable cpuinfo (a directory) is an empty list and a warning", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      fs.mkdirSync(path.join(root, "cpuinfo"))
      const lines: Array<LogLine> = []
      const entries = yield* readCpuInfo(root).pipe(Effect.provide(capturingLogger(lines)))
      expect(entries).toEqual([])
      expect(lines.map((l) => [l.level, l.annotations["reason"]])).toEqual([["WARN", "EISDIR"]])
    }))

  it.scoped("a cpuinfo that is a symlink to /dev/zero is not read: an empty list and a warning saying why", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      fs.symlinkSync("/dev/zero", path.join(root, "cpuinfo"))
      const lines: Array<LogLine> = []
      const entries = yield* readCpuInfo(root).pipe(Effect.provide(capturingLogger(lines)))
      expect(entries).toEqual([])
      expect(lines.map((l) => [l.level, l.annotations["reason"]])).toEqual([[
        "WARN",
        "not a regular file (a character device)"
      ]])
    }))
})
