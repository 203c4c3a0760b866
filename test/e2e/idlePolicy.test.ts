/**
 * monitor.idlePolicy through the real binary (issue 13): with `cpu-share`, a container and a
 * plain process equally busy each take half of the node's idle energy — the container's in
 * joulemon_container_cpu_idle_joules_total, the plain process's part in
 * joulemon_node_cpu_idle_unallocated_joules_total — and the two add up to Kepler's
 * kepler_node_cpu_idle_joules_total to the µJ; pods follow their containers; a policy joulemon
 * does not know stops it at start with the key and the choices named.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cpuAfterRounds } from "../resource/procDir.js"
import { type Running, startJoulemon, startOverTrees, withTimeout } from "../support/binary.js"
import { type ParsedSample, parseSamples } from "../support/exposition.js"
import { makeProcTree, type ProcTree } from "../support/procTree.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"
import { micro, onlyValue } from "../support/samples.js"

const C1 = "c".repeat(64)
let rapl: RaplTree
let tree: ProcTree
let tmp = ""
const started: Array<Running> = []

let round = 0
const advance = () => {
  round++
  tree.setProcess({
    pid: 100,
    comm: "app",
    utime: 10 * round,
    stime: 0,
    startTime: 300,
    exe: "/usr/bin/app",
    cgroup: `0::/system.slice/docker-${C1}.scope\n`
  })
  tree.setProcess({ pid: 101, comm: "cron", utime: 10 * round, stime: 0, startTime: 301, exe: "/usr/sbin/cron" })
  tree.setCpu(cpuAfterRounds(round))
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-idle-"))
  rapl = startRaplTree({ package: 50 })
  tree = makeProcTree(cpuAfterRounds(0))
  advance()
})

afterAll(() => {
  for (const r of started) r.child.kill("SIGTERM")
  rapl?.stop()
  tree?.remove()
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
})

describe("monitor.idlePolicy through the real binary", () => {
  it("cpu-share: the container's and the node level's idle energy add up to the node's, to the µJ", async () => {
    const { joulemon, url } = await startOverTrees(tmp, { sysfs: rapl.sysfs, procfs: tree.procfs }, {
      args: ["--monitor.idle-policy=cpu-share"]
    })
    started.push(joulemon)
    let samples: Array<ParsedSample> = []
    for (let i = 0; i < 4; i++) {
      advance()
      await new Promise((r) => setTimeout(r, 100))
      const res = await fetch(`${url}/metrics`)
      expect(res.status).toBe(200)
      samples = parseSamples(await res.text())
    }
    const nodeIdle = micro(onlyValue(samples, "kepler_node_cpu_idle_joules_total", { zone: "package" }))
    expect(nodeIdle).toBeGreaterThan(0n)
    const container = micro(
      onlyValue(samples, "joulemon_container_cpu_idle_joules_total", {
        container_id: C1,
        zone: "package",
        policy: "cpu-share",
        state: "running"
      })
    )
    const nodeLevel = micro(
      onlyValue(samples, "joulemon_node_cpu_idle_unallocated_joules_total", { zone: "package", policy: "cpu-share" })
    )
    expect(container + nodeLevel).toBe(nodeIdle)
    // Equal CPU time: half each, to within the rounding of each interval's split (< 1 µJ each).
    const diff = container - nodeLevel
    expect(diff >= -4n && diff <= 4n, `${container} vs ${nodeLevel}`).toBe(true)
    // Kepler's families keep their meaning: the container's Kepler energy is active energy only.
    expect(samples.some((s) => s.name === "kepler_container_cpu_joules_total" && s.labels["container_id"] === C1))
      .toBe(true)
  }, 60_000)

  it("refuses a policy it does not know, naming the key and the choices", async () => {
    const r = startJoulemon([`--host.procfs=${tree.procfs}`, "--monitor.idle-policy=fair"])
    started.push(r)
    const exit = await withTimeout(r.exited, 20_000, "process exit")
    expect(exit.code).not.toBe(0)
    expect(r.output()).toContain("invalid monitor idle policy: \"fair\" (one of none, cpu-share, equal, requests)")
  }, 30_000)
})
