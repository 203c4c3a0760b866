/**
 * monitor.shortLived through the real binary (issue 13): containers — in a cgroup v2 scope, in
 * a cgroup v1 cpuacct hierarchy, and one whose only visible process is an idle shell while its
 * children spawn and exit between every reading — whose cgroups used more CPU than the processes
 * joulemon sees. The last gets its whole cgroup CPU time and the energy of a process as busy as
 * its children were. Their short-lived energy is
 * in joulemon_container_short_lived_joules_total, Kepler's container family is Σ its processes +
 * that share, and Σ processes + Σ short-lived + joulemon_unattributed_joules_total is the node's
 * active energy, to the µJ, over the worker collector. An unknown mode stops joulemon at start.
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
import { matching, micro, onlyValue } from "../support/samples.js"

const V2 = "a".repeat(64)
const V1 = "b".repeat(64)
const JOBS = "d".repeat(64)
let rapl: RaplTree
let tree: ProcTree
let tmp = ""
const started: Array<Running> = []

const writeAtomically = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(`${file}.tmp`, text)
  fs.renameSync(`${file}.tmp`, file)
}

/**
 * Per round: /proc/stat 40 active ticks; seen processes 10 (v2 container) + 5 (v1 container)
 * + 5 (no container) + 0 (the jobs container's shell); unseen work 5 ticks in the v2 cgroup, 3 in
 * the v1 one and 10 in the jobs one; 2 ticks nobody's.
 */
const cpuAt = (n: number) => ({
  ...cpuAfterRounds(0),
  user: cpuAfterRounds(0).user + 40 * n,
  idle: cpuAfterRounds(0).idle + 10 * n
})
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
    cgroup: `0::/system.slice/docker-${V2}.scope\n`
  })
  tree.setProcess({
    pid: 102,
    comm: "worker",
    utime: 5 * round,
    stime: 0,
    startTime: 302,
    exe: "/usr/bin/worker",
    cgroup: `4:memory:/docker/${V1}\n3:cpu,cpuacct:/docker/${V1}\n1:name=systemd:/system.slice/docker-${V1}.scope\n`
  })
  tree.setProcess({ pid: 101, comm: "cron", utime: 5 * round, stime: 0, startTime: 301, exe: "/usr/sbin/cron" })
  tree.setProcess({
    pid: 103,
    comm: "sh",
    utime: 1,
    stime: 0,
    startTime: 303,
    exe: "/bin/sh",
    cgroup: `0::/system.slice/docker-${JOBS}.scope\n`
  })
  const cgroupfs = path.join(rapl.sysfs, "fs", "cgroup")
  writeAtomically(
    path.join(cgroupfs, "system.slice", `docker-${JOBS}.scope`, "cpu.stat"),
    `usage_usec ${(1 + 10 * round) * 10_000}\n`
  )
  writeAtomically(
    path.join(cgroupfs, "system.slice", `docker-${V2}.scope`, "cpu.stat"),
    `usage_usec ${(10 + 5) * round * 10_000 + 1234}\nuser_usec 0\nsystem_usec 0\n`
  )
  writeAtomically(
    path.join(cgroupfs, "cpu,cpuacct", "docker", V1, "cpuacct.usage"),
    `${(5 + 3) * round * 10_000_000 + 999}\n`
  )
  tree.setCpu(cpuAt(round))
}

const one = (samples: ReadonlyArray<ParsedSample>, name: string, labels: Record<string, string>): bigint =>
  micro(onlyValue(samples, name, labels))
const total = (samples: ReadonlyArray<ParsedSample>, name: string, labels: Record<string, string>): bigint =>
  matching(samples, name, labels).reduce((sum, s) => sum + micro(s.value), 0n)

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-short-lived-"))
  rapl = startRaplTree({ package: 50 })
  tree = makeProcTree(cpuAt(0))
  advance()
})

afterAll(() => {
  for (const r of started) r.child.kill("SIGTERM")
  rapl?.stop()
  tree?.remove()
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
})

describe("monitor.shortLived through the real binary", () => {
  it("cgroup: unseen work is the containers', the rest the node's, and everything adds up to the µJ", async () => {
    const { joulemon, url } = await startOverTrees(tmp, { sysfs: rapl.sysfs, procfs: tree.procfs }, {
      yaml: "  shortLived: cgroup\n"
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
    const zone = { zone: "package" }
    const active = one(samples, "kepler_node_cpu_active_joules_total", zone)
    expect(active).toBeGreaterThan(0n)
    const processes = total(samples, "kepler_process_cpu_joules_total", zone)
    const unseen = total(samples, "joulemon_container_short_lived_joules_total", zone)
    const residual = one(samples, "joulemon_unattributed_joules_total", zone)
    expect(processes + unseen + residual).toBe(active)

    for (const [id, pid, ratio] of [[V2, "100", 5 / 10], [V1, "102", 3 / 5]] as const) {
      const shortLived = one(samples, "joulemon_container_short_lived_joules_total", {
        ...zone,
        container_id: id,
        state: "running"
      })
      const process = one(samples, "kepler_process_cpu_joules_total", { ...zone, pid })
      expect(one(samples, "kepler_container_cpu_joules_total", { ...zone, container_id: id }))
        .toBe(process + shortLived)
      // The unseen share follows the cgroup's extra ticks (whole ticks of each interval).
      expect(Number(shortLived) / Number(process)).toBeCloseTo(ratio, 1)
    }
    expect(residual).toBeGreaterThan(0n)
    expect(Number(residual) / Number(active)).toBeCloseTo(2 / 40, 1)

    // The jobs container: its whole cgroup CPU time (the shell's tick and every child's), and as
    // much energy as pid 100, which used as many ticks in every interval (the largest-remainder
    // split can round each of their shares differently by 1 µJ per interval).
    const jobs = { container_id: JOBS }
    const seconds = matching(samples, "kepler_container_cpu_seconds_total", { ...jobs, state: "running" })
    expect(seconds.map((s) => s.value)).toEqual([(1 + 10 * round) / 100])
    const jobsEnergy = one(samples, "kepler_container_cpu_joules_total", { ...zone, ...jobs })
    const busy = one(samples, "kepler_process_cpu_joules_total", { ...zone, pid: "100" })
    expect(jobsEnergy).toBeGreaterThan(0n)
    const gap = jobsEnergy - busy
    expect(gap >= -4n && gap <= 4n, `${jobsEnergy} vs ${busy}`).toBe(true)
    expect(one(samples, "joulemon_container_short_lived_joules_total", { ...zone, ...jobs, state: "running" }))
      .toBe(jobsEnergy)
  }, 60_000)

  it("refuses a mode it does not know, naming the key and the choices", async () => {
    const r = startJoulemon([`--host.procfs=${tree.procfs}`, "--monitor.short-lived=cgroups"])
    started.push(r)
    const exit = await withTimeout(r.exited, 20_000, "process exit")
    expect(exit.code).not.toBe(0)
    expect(r.output()).toContain("invalid monitor short-lived accounting: \"cgroups\" (one of none, cgroup)")
  }, 30_000)
})
