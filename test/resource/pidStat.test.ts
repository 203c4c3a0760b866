import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { statLine } from "../../scripts/lib/procfsTree.js"
import { emptyPidStatFields, parsePidStat, type PidStatFields, sameBytes } from "../../src/resource/pidStat.js"

const parse = (line: string): PidStatFields | false => {
  const bytes = Buffer.from(line, "utf8")
  const out = emptyPidStatFields()
  return parsePidStat(bytes, bytes.length, out) ? out : false
}

const commOf = (line: string): string => {
  const bytes = Buffer.from(line, "utf8")
  const out = emptyPidStatFields()
  if (!parsePidStat(bytes, bytes.length, out)) throw new Error("unparsable")
  return bytes.toString("utf8", out.commStart, out.commEnd)
}

describe("parsePidStat", () => {
  it("reads utime + stime and starttime from Kepler's fixture (pid 1337: 47 + 23 ticks)", () => {
    const line =
      "1188620 (nvim) S 919627 1188620 919627 34818 1188620 4194304 545 0 5 0 47 23 0 0 20 0 1 0 701135771 " +
      "242589696 1991 18446744073709551615 94631299678208 94631302444557 140734975571440 0 0 0 0 0 671175173 1 0 0 " +
      "17 15 0 0 0 0 0 94631303641872 94631303815056 94632051642368 140734975576353 140734975576358 " +
      "140734975576358 140734975590378 0\n"
    expect(parse(line)).toMatchObject({ cpuTicks: 70, startTime: 701135771 })
    expect(commOf(line)).toBe("nvim")
  })

  it("ignores children's times (cutime, cstime)", () => {
    expect(parse("7 (x) S 1 1 1 0 -1 0 0 0 0 0 5 6 1000 2000 20 0 1 0 99 0 0")).toMatchObject({
      cpuTicks: 11,
      startTime: 99
    })
  })

  it("counts fields from the LAST ')' so a comm with spaces and parentheses is one field", () => {
    for (const comm of ["a) (b", "tmux: server", "(sd-pam)", ") ) )", "x 1 2 3 4 5 6 7 8 9 10 11 12 13"]) {
      const line = `42 (${comm}) S 1 1 1 0 -1 0 0 0 0 0 300 400 0 0 20 0 1 0 123456 0 0 0\n`
      expect(parse(line)).toMatchObject({ cpuTicks: 700, startTime: 123456 })
      expect(commOf(line)).toBe(comm)
    }
  })

  it("accepts a line that ends right after starttime", () => {
    expect(parse("1 (init) S 0 1 1 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 17")).toMatchObject({ cpuTicks: 7, startTime: 17 })
  })

  it("looks only at the first `length` bytes of the buffer (stale bytes after them are ignored)", () => {
    const line = "5 (sh) S 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 9"
    const bytes = Buffer.from(`${line}99 (stale) 7 7 7 7`, "utf8")
    const out = emptyPidStatFields()
    expect(parsePidStat(bytes, line.length, out)).toBe(true)
    expect(out).toMatchObject({ cpuTicks: 3, startTime: 9 })
  })

  it("rejects what is not a stat line", () => {
    expect(parse("")).toBe(false)
    expect(parse("42 no parentheses 1 2 3")).toBe(false)
    expect(parse("42 (x) S 1 1 1 0 -1 0 0 0 0 0 1x 2 0 0 20 0 1 0 9")).toBe(false)
    expect(parse("42 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0")).toBe(false)
    expect(parse("42 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 ")).toBe(false)
    expect(parse("42 (x)")).toBe(false)
  })

  it("accepts utime, stime and starttime up to 2^64 − 1 and rejects each past it (issue 16: 1.1e19 s was accepted)", () => {
    const at = (utime: string, stime: string, start: string) =>
      `42 (x) S 1 1 1 0 -1 0 0 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 ${start} 5 6\n`
    const MAX = "18446744073709551615"
    expect(parse(at(MAX, "0", "9"))).toMatchObject({ cpuTicks: 18446744073709551615 })
    expect(parse(at("0", "0", MAX))).toMatchObject({ startTime: 18446744073709551615 })
    // leading zeros are not digits of the value (Go's ParseUint reads them the same way)
    expect(parse(at(`000${MAX}`, "0", "9"))).toMatchObject({ cpuTicks: 18446744073709551615 })
    for (
      const big of [
        "18446744073709551616",
        "18446744073709551620",
        "20000000000000000000",
        "110000000000000000000",
        `1${MAX}`
      ]
    ) {
      expect({ big, utime: parse(at(big, "0", "9")) }).toEqual({ big, utime: false })
      expect({ big, stime: parse(at("0", big, "9")) }).toEqual({ big, stime: false })
      expect({ big, start: parse(at("0", "0", big)) }).toEqual({ big, start: false })
    }
    // a line that ends right after an oversized starttime
    expect(parse(`42 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 18446744073709551616`)).toBe(false)
  })

  it("round-trips every generated stat line (any comm the kernel allows, any tick counts)", () => {
    // The kernel's comm is up to 15 bytes of anything but NUL; newline and ')' included.
    const comm = FastCheck.string({
      unit: FastCheck.constantFrom("a", " ", "(", ")", ":", "/", "\n", "é", "0", "-"),
      maxLength: 15
    })
    const ticks = FastCheck.integer({ min: 0, max: 2 ** 40 })
    FastCheck.assert(
      FastCheck.property(
        comm,
        ticks,
        ticks,
        FastCheck.integer({ min: 0, max: 2 ** 50 }),
        (c, utime, stime, startTime) => {
          const line = statLine({
            pid: 4242,
            ppid: 1,
            comm: c,
            kind: "regular",
            exe: "/bin/x",
            startTime,
            utime,
            stime,
            containerId: "",
            vmId: ""
          })
          const parsed = parse(line)
          expect(parsed).toMatchObject({ cpuTicks: utime + stime, startTime })
          expect(commOf(line)).toBe(c)
        }
      ),
      { seed: 42, numRuns: 500 }
    )
  })
})

describe("sameBytes", () => {
  it("compares bytes to a latin1 string exactly", () => {
    const bytes = Buffer.from("xx(nginx)yy", "latin1")
    expect(sameBytes(bytes, 3, 8, "nginx")).toBe(true)
    expect(sameBytes(bytes, 3, 8, "nginy")).toBe(false)
    expect(sameBytes(bytes, 3, 8, "nginxx")).toBe(false)
    expect(sameBytes(bytes, 3, 3, "")).toBe(true)
  })

  it("is byte-exact for UTF-8 comms stored as latin1", () => {
    const bytes = Buffer.from("(café)", "utf8")
    const asLatin1 = bytes.toString("latin1", 1, bytes.length - 1)
    expect(sameBytes(bytes, 1, bytes.length - 1, asLatin1)).toBe(true)
    expect(sameBytes(bytes, 1, bytes.length - 1, "café")).toBe(false)
  })
})
