import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readBounded, readBoundedSync, readRecordSync, ReadRefused, ScratchBuffer } from "../../src/io/boundedRead.js"

let dir = ""
const file = (name: string) => path.join(dir, name)

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-bounded-"))
  fs.writeFileSync(file("ten"), "0123456789")
  fs.writeFileSync(file("eleven"), "0123456789A")
  fs.writeFileSync(file("big"), Buffer.alloc(9000, 0x41))
  fs.symlinkSync("/dev/zero", file("zero"))
  fs.mkdirSync(file("dir"))
  execFileSync("mkfifo", [file("fifo")])
})

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const refusal = (f: () => unknown): string => {
  try {
    f()
  } catch (error) {
    if (error instanceof ReadRefused) return error.reason
    throw error
  }
  throw new Error("not refused")
}

const asyncRefusal = async (p: Promise<unknown>): Promise<string> => {
  const error: unknown = await p.then(() => new Error("not refused"), (e: unknown) => e)
  if (error instanceof ReadRefused) return error.reason
  throw error
}

describe("readBoundedSync / readRecordSync", () => {
  for (const [name, read] of [["readBoundedSync", readBoundedSync], ["readRecordSync", readRecordSync]] as const) {
    it(`${name}: a file up to the limit reads whole; one byte more is malformed`, () => {
      const s = new ScratchBuffer(4)
      expect(read(file("ten"), s, 10)).toBe(10)
      expect(s.bytes.toString("latin1", 0, 10)).toBe("0123456789")
      expect(refusal(() => read(file("eleven"), new ScratchBuffer(4), 10))).toBe(
        "malformed: 11 bytes, larger than 10 bytes"
      )
    })

    it(`${name}: a symlink to /dev/zero and a FIFO are refused before any read, without blocking`, () => {
      const s = new ScratchBuffer(16)
      expect(refusal(() => read(file("zero"), s, 1 << 20))).toBe("not a regular file (a character device)")
      expect(refusal(() => read(file("fifo"), s, 1 << 20))).toBe("not a regular file (a FIFO)")
      // the buffer was never grown: nothing was read
      expect(s.bytes.length).toBe(16)
    })

    it(`${name}: a directory fails as read(2) would, with EISDIR`, () => {
      expect(() => read(file("dir"), new ScratchBuffer(16), 100)).toThrow(expect.objectContaining({ code: "EISDIR" }))
    })
  }

  it("grows the buffer to fit, never past limit + 1 bytes", () => {
    const s = new ScratchBuffer(1024)
    expect(readBoundedSync(file("big"), s, 9000)).toBe(9000)
    expect(s.bytes.length).toBeLessThanOrEqual(9001)
    expect(s.bytes.subarray(0, 9000).every((b) => b === 0x41)).toBe(true)
  })

  it("readRecordSync: a file exactly the size of the buffer reads on to find its end", () => {
    const s = new ScratchBuffer(10)
    expect(readRecordSync(file("ten"), s, 64)).toBe(10)
    expect(readRecordSync(file("eleven"), new ScratchBuffer(10), 64)).toBe(11)
  })

  it("a file whose size is unknown (procfs says 0) is cut off at the first byte past the limit", () => {
    // /proc/self/environ of this process: size 0 in stat, content far above 8 bytes
    expect(fs.statSync("/proc/self/environ").size).toBe(0)
    expect(refusal(() => readBoundedSync("/proc/self/environ", new ScratchBuffer(4), 8))).toBe(
      "malformed: larger than 8 bytes"
    )
    expect(readBoundedSync("/proc/self/stat", new ScratchBuffer(4096), 4096)).toBeGreaterThan(0)
  })
})

describe("readBounded (async)", () => {
  it("reads a file up to the limit and refuses one byte more", async () => {
    expect((await readBounded(file("ten"), 10)).toString()).toBe("0123456789")
    expect(await asyncRefusal(readBounded(file("eleven"), 10))).toBe("malformed: 11 bytes, larger than 10 bytes")
    expect((await readBounded(file("big"), 9000)).length).toBe(9000)
  })

  it("refuses /dev/zero, a FIFO and an oversized procfs file; a directory is EISDIR", async () => {
    expect(await asyncRefusal(readBounded(file("zero"), 1 << 20))).toBe("not a regular file (a character device)")
    expect(await asyncRefusal(readBounded(file("fifo"), 1 << 20))).toBe("not a regular file (a FIFO)")
    expect(await asyncRefusal(readBounded("/proc/self/environ", 8))).toBe("malformed: larger than 8 bytes")
    await expect(readBounded(file("dir"), 100)).rejects.toMatchObject({ code: "EISDIR" })
  })
})
