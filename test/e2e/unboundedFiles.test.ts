/**
 * The real binary over a synthetic /proc and powercap tree in which a process's `stat` and the
 * zone's `energy_uj` become symlinks to /dev/zero (issue 16, item 2: such a `stat` took the RSS
 * to 3 GB in 7 s, such an `energy_uj` to 625 MB). joulemon stays up, /metrics answers, the
 * process keeps its series, and the memory of joulemon and its collector process stays bounded.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cpuAfterRounds } from "../resource/procDir.js"
import { type Running, startOverTrees } from "../support/binary.js"
import { parseSamples } from "../support/exposition.js"
import { largestRss } from "../support/processMemory.js"
import { makeProcTree, type ProcTree } from "../support/procTree.js"

const CONTAINER_ID = "b176419186d75a44628851daf7841d3374a2ec56d0b038ee3bd1e0c6d331e5b1"

let tree: ProcTree
let joulemon: Running
let url = ""
let tmp = ""
let sysfs = ""
let energyFile = ""

let round = 0
const advance = (): void => {
  round++
  tree.setProcess({ pid: 90, comm: "app", utime: 10 * round, stime: 0, startTime: 300, exe: "/usr/bin/app" })
  tree.setProcess({ pid: 91, comm: "other", utime: 5 * round, stime: 0, startTime: 301, exe: "/usr/bin/other" })
  // a container whose HOSTNAME is 200 KB (issue 16, item 4)
  tree.setProcess({
    pid: 93,
    comm: "web",
    utime: 7 * round,
    stime: 0,
    startTime: 303,
    exe: "/usr/bin/web",
    cgroup: `0::/system.slice/docker-${CONTAINER_ID}.scope\n`,
    environ: [`HOSTNAME=${"h".repeat(200_000)}`, "PATH=/bin"]
  })
  tree.setCpu(cpuAfterRounds(round))
  if (!fs.lstatSync(energyFile).isSymbolicLink()) fs.writeFileSync(energyFile, `${1_000_000 * round}\n`)
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("stat and energy_uj symlinked to /dev/zero, through the real binary", () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-unbounded-"))
    sysfs = path.join(tmp, "sys")
    const zone = path.join(sysfs, "class", "powercap", "intel-rapl:0")
    fs.mkdirSync(zone, { recursive: true })
    fs.writeFileSync(path.join(zone, "name"), "package-0\n")
    fs.writeFileSync(path.join(zone, "max_energy_range_uj"), "262143328850\n")
    energyFile = path.join(zone, "energy_uj")
    fs.writeFileSync(energyFile, "0\n")
    tree = makeProcTree(cpuAfterRounds(0))
    advance()
    ;({ joulemon, url } = await startOverTrees(tmp, { sysfs, procfs: tree.procfs }))
  }, 60_000)

  afterAll(() => {
    joulemon?.child.kill("SIGTERM")
    tree?.remove()
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("stays up, answers /metrics, keeps the process and its memory bounded", async () => {
    const scrape = async () => {
      const res = await fetch(`${url}/metrics`)
      return { status: res.status, samples: parseSamples(await res.text()) }
    }
    await scrape()
    advance()
    await pause(30)
    expect((await scrape()).status).toBe(200)

    const stat = tree.statFile(90)
    fs.rmSync(stat)
    fs.symlinkSync("/dev/zero", stat)
    fs.rmSync(energyFile)
    fs.symlinkSync("/dev/zero", energyFile)

    let maxRss = 0
    for (let i = 0; i < 15; i++) {
      advance()
      await pause(30)
      const { status, samples } = await scrape()
      expect(status).toBe(200)
      // the process whose stat is /dev/zero is kept (its incarnation known), not dropped
      expect(samples.some((s) => s.name === "kepler_process_cpu_joules_total" && s.labels["pid"] === "90")).toBe(true)
      maxRss = Math.max(maxRss, largestRss(joulemon.child.pid ?? 0))
    }
    expect(joulemon.child.exitCode).toBeNull()
    expect(maxRss).toBeGreaterThan(0)
    expect(maxRss).toBeLessThan(400 * 1024 * 1024)
    expect(joulemon.output()).toContain("not a regular file (a character device)")
  }, 60_000)

  it("cuts a container name from a 200 KB HOSTNAME to 253 characters on /metrics", async () => {
    const samples = parseSamples(await fetch(`${url}/metrics`).then((res) => res.text()))
    const names = samples.filter((s) => s.labels["container_id"] === CONTAINER_ID && "container_name" in s.labels).map((
      s
    ) => s.labels["container_name"])
    expect(names.length).toBeGreaterThan(0)
    for (const name of names) expect(name).toBe("h".repeat(253))
  }, 60_000)
})
