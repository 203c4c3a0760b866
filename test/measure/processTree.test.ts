import { describe, expect, it } from "vitest"
import {
  entryKey,
  initialTree,
  parseChildTicks,
  parseStatLine,
  type StatEntry,
  trackTree
} from "../../src/measure/processTree.js"

/** A stat line with the given fields (the rest zeros), comm as the kernel writes it. */
const statLine = (pid: number, comm: string, ppid: number, startTime: number, cutime = 0, cstime = 0): string => {
  const fields = Array.from({ length: 50 }, () => "0")
  fields[0] = "S" // field 3
  fields[1] = String(ppid) // field 4
  fields[13] = String(cutime) // field 16
  fields[14] = String(cstime) // field 17
  fields[19] = String(startTime) // field 22
  return `${pid} (${comm}) ${fields.join(" ")}\n`
}

const e = (pid: number, ppid: number, startTime = 100 + pid): StatEntry => ({ pid, ppid, startTime })

describe("parseStatLine", () => {
  it("reads pid, ppid and starttime, counting fields from the last ')'", () => {
    expect(parseStatLine(statLine(42, "a) (b", 7, 12345))).toEqual({ pid: 42, ppid: 7, startTime: 12345 })
    expect(parseChildTicks(statLine(42, "sh", 7, 1, 150, 25))).toBe(175)
  })

  it("rejects what is not a stat line", () => {
    expect(parseStatLine("")).toBeUndefined()
    expect(parseStatLine("42 no parentheses 1 2 3")).toBeUndefined()
    expect(parseStatLine("42 (sh) S x")).toBeUndefined()
    expect(parseStatLine("x (sh) S 1")).toBeUndefined()
  })
})

describe("trackTree", () => {
  it("the root and its descendants, in any scan order; not its parent or siblings", () => {
    const scan = [e(5, 1), e(12, 11), e(11, 10), e(10, 5), e(20, 5), e(30, 1), e(10_000, 12)]
    const tree = trackTree(initialTree(10), scan)
    expect([...tree.members].sort()).toEqual(
      [e(10, 5), e(11, 10), e(12, 11), e(10_000, 12)].map(entryKey).sort()
    )
  })

  it("a child stays a member after it exits, and after its parent dies and it is reparented to init", () => {
    const first = trackTree(initialTree(10), [e(1, 0), e(10, 1), e(11, 10), e(12, 11)])
    // 11 exited; 12 now has ppid 1.
    const second = trackTree(first, [e(1, 0), e(10, 1), e(12, 1), e(13, 12)])
    expect(second.members).toEqual(new Set([e(10, 1), e(11, 10), e(12, 11), e(13, 12)].map(entryKey)))
  })

  it("a later process reusing a member's or the root's pid is not a member", () => {
    const first = trackTree(initialTree(10), [e(10, 1), e(11, 10)])
    const second = trackTree(first, [e(10, 1, 999), e(11, 1, 998), e(12, 11)])
    expect(second.members).toEqual(new Set([e(10, 1), e(11, 10)].map(entryKey)))
  })

  it("an empty scan (unreadable process table) keeps the tree as it was", () => {
    const first = trackTree(initialTree(10), [e(10, 1)])
    expect(trackTree(first, [])).toBe(first)
  })

  it("a parent cycle (a scan is not one instant) ends the walk instead of looping", () => {
    const tree = trackTree(initialTree(10), [e(20, 21), e(21, 20), e(10, 1)])
    expect(tree.members).toEqual(new Set([entryKey(e(10, 1))]))
  })
})
