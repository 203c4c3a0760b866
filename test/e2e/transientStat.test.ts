/**
 * The real binary over a synthetic /proc whose per-process `stat` is damaged for one reading
 * at a time (missing, empty, truncated, garbage, a directory): every process, container and VM
 * counter on /metrics keeps its series and never decreases across the damaged reading
 * (issue 16, item 1: one bad read used to restart a process's joules from ~0).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cpuAfterRounds } from "../resource/procDir.js"
import { type Running, startOverTrees } from "../support/binary.js"
import { type ParsedSample, parseSamples } from "../support/exposition.js"
import { makeProcTree, type ProcTree, qemuCmdline, withStatField } from "../support/procTree.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"

const CONTAINER_ID = "b176419186d75a44628851daf7841d3374a2ec56d0b038ee3bd1e0c6d331e5b1"
const VM_ID = "df12672f-fedb-4f6f-9d51-0166868835fb"

let rapl: RaplTree
let tree: ProcTree
let joulemon: Running
let url = ""
let tmp = ""

let round = 0
/** Every process used 10 ticks since the previous round. */
const advance = (): void => {
  round++
  const utime = 10 * round
  tree.setProcess({ pid: 90, comm: "app", utime, stime: 0, startTime: 300, exe: "/usr/bin/app" })
  tree.setProcess({
    pid: 91,
    comm: "nginx",
    utime,
    stime: 0,
    startTime: 301,
    exe: "/usr/sbin/nginx",
    cgroup: `0::/system.slice/docker-${CONTAINER_ID}.scope\n`
  })
  tree.setProcess({
    pid: 92,
    comm: "qemu-system-x86",
    utime,
    stime: 0,
    startTime: 302,
    exe: "/usr/bin/qemu-system-x86_64",
    cmdline: qemuCmdline("web", VM_ID)
  })
  tree.setCpu(cpuAfterRounds(round))
}

const scrape = async (): Promise<Array<ParsedSample>> => {
  const res = await fetch(`${url}/metrics`)
  expect(res.status).toBe(200)
  return parseSamples(await res.text())
}

const seriesKey = (s: ParsedSample): string => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`
const WORKLOAD_COUNTERS = /^kepler_(process|container|vm)_cpu_joules_total$/

const workloadCounters = (samples: ReadonlyArray<ParsedSample>): Map<string, number> =>
  new Map(
    samples.filter((s) => WORKLOAD_COUNTERS.test(s.name) && s.labels["state"] !== "terminated").map((
      s
    ) => [seriesKey(s), s.value])
  )

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("a process whose stat is damaged for one reading, through /metrics of the real binary", () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-transient-"))
    rapl = startRaplTree({ package: 50 })
    tree = makeProcTree(cpuAfterRounds(0))
    advance()
    ;({ joulemon, url } = await startOverTrees(tmp, { sysfs: rapl.sysfs, procfs: tree.procfs }))
  }, 60_000)

  afterAll(() => {
    joulemon?.child.kill("SIGTERM")
    rapl?.stop()
    tree?.remove()
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  })

  const damages: ReadonlyArray<readonly [string, (file: string) => void]> = [
    ["missing", (f) => fs.rmSync(f)],
    ["empty", (f) => fs.writeFileSync(f, "")],
    ["truncated", (f) => fs.writeFileSync(f, fs.readFileSync(f, "latin1").slice(0, 40))],
    ["garbage", (f) => fs.writeFileSync(f, "\u0001\u00fe garbage (not) a stat line")],
    ["a directory", (f) => (fs.rmSync(f), fs.mkdirSync(f))]
  ]

  it("keeps every process, container and VM series and never decreases it", async () => {
    // Two readings to get past the baseline, so every workload has booked energy.
    await scrape()
    advance()
    await pause(30)
    let before = workloadCounters(await scrape())
    const watched = [...before.keys()]
    expect(watched.filter((k) => k.includes("\"pid\",\"90\"") || k.includes(CONTAINER_ID) || k.includes(VM_ID)).length)
      .toBeGreaterThanOrEqual(3)
    for (const [what, damage] of damages) {
      advance()
      for (const pid of [90, 91, 92]) damage(tree.statFile(pid))
      await pause(30)
      const damaged = workloadCounters(await scrape())
      advance()
      await pause(30)
      const repaired = workloadCounters(await scrape())
      for (const key of watched) {
        expect({ what, key, present: damaged.has(key) && repaired.has(key) }).toEqual({ what, key, present: true })
        const [b = Number.NaN, d = Number.NaN, r = Number.NaN] = [before.get(key), damaged.get(key), repaired.get(key)]
        expect({ what, key, notDecreasing: b <= d && d <= r }).toEqual({ what, key, notDecreasing: true })
        // The repaired reading books the process's ticks again.
        if (key.includes("\"pid\",\"90\"")) expect(r).toBeGreaterThan(d)
      }
      before = repaired
    }
  }, 60_000)

  const cpuSeconds = (samples: ReadonlyArray<ParsedSample>): number =>
    samples.find((s) => s.name === "kepler_process_cpu_seconds_total" && s.labels["pid"] === "90")?.value ?? Number.NaN

  it(
    "ticks past 2^64 in a process's stat or in /proc/stat are malformed, never a value (issue 16, item 4)",
    async () => {
      advance()
      await pause(30)
      const before = await scrape()
      const beforeSeconds = cpuSeconds(before)
      expect(beforeSeconds).toBeGreaterThan(0)
      const seen: Array<number> = [beforeSeconds]
      // 2^64 (one past the largest u64) and the 1.1e19, in utime; then the same in /proc/stat
      for (const big of ["18446744073709551616", "11000000000000000000000"]) {
        advance()
        const stat = tree.statFile(90)
        fs.writeFileSync(stat, withStatField(fs.readFileSync(stat, "latin1"), 14, big))
        await pause(30)
        const damaged = await scrape()
        seen.push(cpuSeconds(damaged))
        advance()
        fs.writeFileSync(
          path.join(tree.procfs, "stat"),
          `cpu  ${big} 0 1000 10000 0 0 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\n`
        )
        await pause(30)
        const nodeDamaged = await scrape()
        seen.push(cpuSeconds(nodeDamaged))
        // a malformed /proc/stat fails that reading: /metrics serves the previous one (a ratio of
        // 0.75 = 30 active of 40 ticks a round), not a usage of ~1 from 1.1e22 "user" ticks
        const ratio = (samples: ReadonlyArray<ParsedSample>) =>
          samples.find((x) => x.name === "kepler_node_cpu_usage_ratio")?.value
        expect(ratio(damaged)).toBeCloseTo(0.75, 6)
        expect(ratio(nodeDamaged)).toBeCloseTo(0.75, 6)
        advance()
        await pause(30)
        seen.push(cpuSeconds(await scrape()))
      }
      // pid 90 used 10 ticks (0.1 s) a round: never 1.8e17 s, never decreasing, and still counting
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] ?? Number.NaN)
      expect(Math.max(...seen)).toBeLessThan(beforeSeconds + 10)
      expect(seen[seen.length - 1]).toBeGreaterThan(beforeSeconds)
    },
    60_000
  )
})
