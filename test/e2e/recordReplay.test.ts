/**
 * `joulemon record` → `joulemon replay` through the real binary (issue 14): recording a
 * synthetic host (RAPL, containers with cgroup usage, short-lived work, idle charged by CPU
 * share) while scraping it, then replaying the file twice, gives identical bytes, and every
 * sample of the replayed families equals the live scrape of the same refresh. A process's
 * environment is not recorded beyond the container-name key. The committed fixture (a recorded
 * bug report, test/fixtures/recordings/) replays to its committed exposition on any machine.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cpuAfterRounds } from "../resource/procDir.js"
import { ROOT, type Running, startJoulemon, startOverTrees, withTimeout } from "../support/binary.js"
import { parseSamples } from "../support/exposition.js"
import { freePort } from "../support/ports.js"
import { makeProcTree, type ProcTree } from "../support/procTree.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"
import { bySeries, refreshesOf, replayTo } from "../support/replay.js"

const C1 = "e".repeat(64)
let rapl: RaplTree
let tree: ProcTree
let tmp = ""
const started: Array<Running> = []

let round = 0
const advance = () => {
  round++
  tree.setProcess({
    pid: 100,
    comm: "api",
    utime: 7 * round,
    stime: round,
    startTime: 300,
    exe: "/usr/bin/api",
    cgroup: `0::/system.slice/docker-${C1}.scope\n`,
    environ: ["HOSTNAME=api-7f9c", "DB_PASSWORD=hunter2", "PATH=/usr/bin"]
  })
  tree.setProcess({ pid: 101, comm: "cron", utime: 4 * round, stime: 0, startTime: 301, exe: "/usr/sbin/cron" })
  // A process that exits after round 2 (terminated lists) and one that starts at round 3.
  if (round <= 2) {
    tree.setProcess({ pid: 102, comm: "job", utime: 9 * round, stime: 0, startTime: 302, exe: "/bin/job" })
  } else fs.rmSync(path.join(tree.procfs, "102"), { recursive: true, force: true })
  if (round >= 3) {
    tree.setProcess({ pid: 103, comm: "late", utime: 3 * round, stime: 0, startTime: 900, exe: "/bin/late" })
  }
  const cgroup = path.join(rapl.sysfs, "fs", "cgroup", "system.slice", `docker-${C1}.scope`)
  fs.mkdirSync(cgroup, { recursive: true })
  fs.writeFileSync(path.join(cgroup, "cpu.stat"), `usage_usec ${(8 + 4) * round * 10_000 + 77}\n`)
  tree.setCpu(cpuAfterRounds(round))
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-record-"))
  rapl = startRaplTree({ package: 40, dram: 6 })
  tree = makeProcTree(cpuAfterRounds(0))
  advance()
})

afterAll(() => {
  for (const r of started) r.child.kill("SIGKILL")
  rapl?.stop()
  tree?.remove()
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
})

describe("joulemon record and replay through the real binary", () => {
  const recording = () => path.join(tmp, "capture.jl.gz")
  const live: Array<string> = []

  it("records while serving /metrics live, and finishes the file on SIGTERM", async () => {
    const { joulemon, url } = await startOverTrees(tmp, { sysfs: rapl.sysfs, procfs: tree.procfs }, {
      yaml: "  shortLived: cgroup\n  idlePolicy: cpu-share\n",
      args: ["record", "--out", recording()]
    })
    started.push(joulemon)
    expect(joulemon.output()).toContain("message=recording")
    for (let i = 0; i < 4; i++) {
      advance()
      const res = await fetch(`${url}/metrics`)
      expect(res.status).toBe(200)
      live.push(await res.text())
    }
    joulemon.child.kill("SIGTERM")
    const exit = await withTimeout(joulemon.exited, 10_000, "record exit")
    expect(exit.code, joulemon.output()).toBe(0)
    expect(fs.existsSync(recording())).toBe(true)
    expect(fs.existsSync(`${recording()}.partial`)).toBe(false)
    const text = zlib.gunzipSync(fs.readFileSync(recording())).toString("latin1")
    expect(text).toContain("HOSTNAME=api-7f9c")
    expect(text).not.toContain("hunter2")
    expect(text).not.toContain("PATH=/usr/bin")
  }, 60_000)

  it("replays to identical bytes twice, and to the live scrapes' samples", async () => {
    const first = await replayTo(recording(), path.join(tmp, "replay-1.prom"), started)
    const second = await replayTo(recording(), path.join(tmp, "replay-2.prom"), started)
    expect(second).toBe(first)
    const replayed = refreshesOf(first)
    // The monitor's first refresh at start, then one per scrape (monitor.interval 0).
    expect(replayed.length).toBe(live.length + 1)
    const families = new Set(parseSamples(first).map((s) => s.name))
    for (
      const name of [
        "kepler_process_cpu_joules_total",
        "kepler_container_cpu_joules_total",
        "joulemon_container_short_lived_joules_total",
        "joulemon_container_cpu_idle_joules_total"
      ]
    ) expect(families.has(name), name).toBe(true)
    for (const [i, scrape] of live.entries()) {
      expect(bySeries(replayed[i + 1] ?? ""), `scrape ${i + 1}`).toEqual(bySeries(scrape, families))
    }
    // The terminated job and the late starter are in the replay as they were live.
    expect(first).toContain("comm=\"job\"")
    expect(first).toContain("comm=\"late\"")
  }, 90_000)

  it("parses the recorded powercap text again: a counter's text edited in the file changes the replay", async () => {
    const lines = zlib.gunzipSync(fs.readFileSync(recording())).toString("utf8").trimEnd().split("\n")
    const header: unknown = JSON.parse(lines[0] ?? "")
    expect(header).toMatchObject({ version: 2, sysfsMeter: { name: "rapl" } })
    const packageCounter = path.join(rapl.sysfs, "class", "powercap", "intel-rapl:0", "energy_uj")
    // Refresh 3's package counter becomes text that is not a number; its recorded reading stays.
    const edited = lines.map((line, i) => {
      if (i !== 3) return line
      const refresh = JSON.parse(line) as {
        procStat: string
        sysfs: Array<{ op: string; path: string; text?: string }>
      }
      // /proc/stat is in the recording as read, too.
      expect(refresh.procStat).toMatch(/^cpu {2}\d+ /)
      const read = refresh.sysfs.find((op) => op.op === "text" && op.path === packageCounter)
      expect(read?.text).toMatch(/^\d+\n$/)
      if (read !== undefined) read.text = "garbage\n"
      return JSON.stringify(refresh)
    })
    const file = path.join(tmp, "edited.jl.gz")
    fs.writeFileSync(file, zlib.gzipSync(`${edited.join("\n")}\n`))
    const original = refreshesOf(fs.readFileSync(path.join(tmp, "replay-1.prom"), "utf8"))
    const replayed = refreshesOf(await replayTo(file, path.join(tmp, "edited.prom"), started))
    const nodePackage = (text: string | undefined) =>
      parseSamples(text ?? "").find((s) => s.name === "kepler_node_cpu_joules_total" && s.labels["zone"] === "package")
        ?.value
    expect(replayed.slice(0, 2)).toEqual(original.slice(0, 2))
    // The unreadable interval books nothing, and the next good one books the whole delta.
    expect(nodePackage(replayed[2])).toBe(nodePackage(original[1]))
    expect(nodePackage(replayed[2])).toBeLessThan(nodePackage(original[2]) ?? 0)
    expect(nodePackage(replayed[3])).toBe(nodePackage(original[3]))
  }, 60_000)

  it("serves the recording at /metrics, one refresh per scrape, the last one staying", async () => {
    const port = await freePort()
    const r = startJoulemon(["replay", `--listen=127.0.0.1:${port}`, recording()])
    started.push(r)
    await withTimeout(
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (r.output().includes("message=replaying")) {
            clearInterval(poll)
            resolve()
          }
        }, 50)
      }),
      30_000,
      "replay listening"
    )
    const expected = refreshesOf(fs.readFileSync(path.join(tmp, "replay-1.prom"), "utf8"))
    const bodies: Array<string> = []
    for (let i = 0; i < expected.length + 1; i++) {
      bodies.push(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())
    }
    expect(bodies).toEqual([...expected, expected.at(-1)])
    r.child.kill("SIGTERM")
    expect((await withTimeout(r.exited, 10_000, "replay exit")).code).toBe(0)
  }, 60_000)

  it("with --pace recorded, advances by itself and draws each refresh's view with --exporter.stdout", async () => {
    const port = await freePort()
    const r = startJoulemon([
      "replay",
      "--pace",
      "recorded",
      "--exporter.stdout",
      `--listen=127.0.0.1:${port}`,
      recording()
    ])
    started.push(r)
    const expected = refreshesOf(fs.readFileSync(path.join(tmp, "replay-1.prom"), "utf8"))
    const scrape = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`)
        return { at: res.headers.get("x-joulemon-replay-refresh"), body: await res.text() }
      } catch {
        return undefined
      }
    }
    // Nobody scrapes in between, yet the replay reaches its last refresh (the recording spans ~2 s).
    const last = await withTimeout(
      (async () => {
        for (;;) {
          const got = await scrape()
          if (got?.at === `${expected.length}/${expected.length}`) return got
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      })(),
      30_000,
      "replay at its last refresh"
    )
    expect(last.body).toBe(expected.at(-1))
    // Scrapes do not advance it: the last one stays.
    expect((await scrape())?.at).toBe(`${expected.length}/${expected.length}`)
    const frames = [...r.output().matchAll(/joulemon · \S+ · refresh #(\d+) ·/g)].map((m) => Number(m[1]))
    expect(frames).toEqual(expected.map((_, i) => i + 1))
    r.child.kill("SIGTERM")
    expect((await withTimeout(r.exited, 10_000, "replay exit")).code).toBe(0)
  }, 60_000)

  it("refuses --output - with --exporter.stdout, which would both write to stdout", async () => {
    const r = startJoulemon(["replay", "--output", "-", "--exporter.stdout", recording()])
    started.push(r)
    expect((await withTimeout(r.exited, 30_000, "replay exit")).code).toBe(1)
    expect(r.output()).toContain("--output - and --exporter.stdout would both write to stdout")
  }, 40_000)

  it("refuses a file that is not a recording, naming it", async () => {
    const bogus = path.join(tmp, "bogus.gz")
    fs.writeFileSync(bogus, zlib.gzipSync("{\"format\":\"something-else\"}\n"))
    const r = startJoulemon(["replay", "--output", path.join(tmp, "x.prom"), bogus])
    started.push(r)
    const exit = await withTimeout(r.exited, 30_000, "replay exit")
    expect(exit.code).toBe(1)
    expect(r.output()).toContain(`${bogus}: not a joulemon recording: line 1 (header)`)
  }, 40_000)
})

describe("recorded bug reports as fixtures", () => {
  const fixture = (name: string) => path.join(ROOT, "test", "fixtures", "recordings", `${name}.jl.gz`)

  for (const name of ["containers-short-lived", "rapl-two-sockets-bad-read"]) {
    it(`${name} replays on any machine to the exposition committed beside it`, async () => {
      const out = await replayTo(fixture(name), path.join(tmp, `${name}.prom`), started)
      expect(out).toBe(fs.readFileSync(fixture(name).replace(/\.jl\.gz$/, ".prom"), "utf8"))
    }, 40_000)
  }

  // Format version 2: two sockets aggregated into one package zone, socket 0's counter wrapping
  // between refreshes 3 and 4 and reading "energy_uj: no data" at refresh 5 — all from the text.
  it(
    "rapl-two-sockets-bad-read: the wrap books 30 J, the bad read nothing, the next read the whole delta",
    async () => {
      const out = await replayTo(fixture("rapl-two-sockets-bad-read"), path.join(tmp, "bad-read.prom"), started)
      const packageJoules = refreshesOf(out).map((text) =>
        parseSamples(text).find((s) => s.name === "kepler_node_cpu_joules_total" && s.labels["zone"] === "package")
          ?.value
      )
      expect(packageJoules).toEqual([0, 30, 60, 90, 90, 170])
      const header: unknown = JSON.parse(
        zlib.gunzipSync(fs.readFileSync(fixture("rapl-two-sockets-bad-read"))).toString("utf8").split("\n")[0] ?? ""
      )
      expect(header).toMatchObject({ version: 2, sysfsMeter: { name: "rapl" } })
    },
    40_000
  )
})
