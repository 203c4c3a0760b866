import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { parseUint64, readFailure, readSysfsText, readSysfsUint64 } from "../../src/device/sysfsFile.js"
import { makeTree } from "./tempTree.js"

const errno = (code: string): Error => Object.assign(new Error(`${code}: something, open '/x'`), { code })

describe("parseUint64", () => {
  it("accepts decimal digits up to 2^64 − 1", () => {
    expect(parseUint64("0")).toBe(0n)
    expect(parseUint64("262143328850")).toBe(262143328850n)
    expect(parseUint64("18446744073709551615")).toBe(2n ** 64n - 1n)
  })

  it("rejects anything else", () => {
    for (const bad of ["", "-1", "+1", "1.5", "1e9", "abc", "18446744073709551616", " 1"]) {
      expect(parseUint64(bad)).toBeUndefined()
    }
  })
})

describe("readFailure", () => {
  it("keeps the errno code and names it once", () => {
    const e = readFailure("/sys/x/energy_uj", errno("EACCES"))
    expect(e.code).toBe("EACCES")
    expect(e.message).toBe("cannot read /sys/x/energy_uj: EACCES (permission denied)")
  })

  it("falls back to the cause's message for unknown codes and non-errno causes", () => {
    expect(readFailure("/f", errno("EWEIRD")).reason).toBe("EWEIRD: something, open '/x'")
    expect(readFailure("/f", "boom")).toMatchObject({ path: "/f", reason: "boom" })
    expect(readFailure("/f", "boom").code).toBeUndefined()
  })
})

describe("reading files", () => {
  it.scoped("trims the content and parses counters", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({ "a/name": "package-0\n", "a/energy_uj": "  42\n", "a/bad": "4 2\n" })
      expect(yield* readSysfsText(path.join(root, "a/name"))).toBe("package-0")
      expect(yield* readSysfsUint64(path.join(root, "a/energy_uj"))).toBe(42n)
      const bad = yield* Effect.flip(readSysfsUint64(path.join(root, "a/bad")))
      expect(bad.message).toBe(`cannot read ${path.join(root, "a/bad")}: not an unsigned 64-bit integer: "4 2"`)
    }))

  it.scoped("reports ENOENT and EISDIR with their codes", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({ "dir/": "" })
      const missing = yield* Effect.flip(readSysfsText(path.join(root, "nope")))
      expect(missing.code).toBe("ENOENT")
      const dir = yield* Effect.flip(readSysfsText(path.join(root, "dir")))
      expect(dir.code).toBe("EISDIR")
      expect(dir.message).toContain("is a directory")
    }))

  it.scoped("refuses a symlink to /dev/zero and a file past one page (64 KiB) as unreadable, without reading them", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({ "z/name": "package-0\n" })
      const zero = path.join(root, "z/energy_uj")
      fs.symlinkSync("/dev/zero", zero)
      const huge = path.join(root, "z/max_energy_range_uj")
      fs.writeFileSync(huge, `${"1".repeat(64 * 1024)}\n`)
      const fromZero = yield* Effect.flip(readSysfsUint64(zero))
      expect(fromZero.message).toBe(`cannot read ${zero}: not a regular file (a character device)`)
      expect(fromZero.code).toBeUndefined()
      const fromHuge = yield* Effect.flip(readSysfsUint64(huge))
      expect(fromHuge.message).toBe(`cannot read ${huge}: malformed: 65537 bytes, larger than 65536 bytes`)
    }))
})
