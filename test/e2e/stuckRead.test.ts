/**
 * The real binary over a synthetic /proc whose `<pid>/stat` is on a hung FUSE mount (a read that
 * never returns, as a `/proc/<pid>/cmdline` of a process stuck on a hung NFS mount does): joulemon's
 * health check keeps answering, `/metrics` keeps serving the last snapshot, `/readyz` says
 * which file hung, a fresh worker takes over without that process, and SIGTERM still ends it
 * (issue 11, items 1–2).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type HangFs, mountHangFs } from "../../scripts/lib/hangFs.js"
import { BASE_CPU } from "../resource/procDir.js"
import { type Running, startJoulemon, waitForOutput, withTimeout } from "../support/binary.js"
import { parseSamples } from "../support/exposition.js"
import { freePort } from "../support/ports.js"
import { makeProcTree, type ProcTree } from "../support/procTree.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"

let rapl: RaplTree
let tree: ProcTree
let joulemon: Running
let url = ""
let tmp = ""
let hang: HangFs | undefined

/**
 * A request that must be answered within `ms` (a bound for a hang, not a speed test). The
 * probes never wait for a refresh; a scrape waits for the refresh in flight up to its deadline
 * (5 s here, the floor), then serves the last snapshot.
 */
const get = async (p: string, ms = 3_000) => {
  const res = await fetch(`${url}${p}`, { signal: AbortSignal.timeout(ms) })
  return { status: res.status, body: await res.text() }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

const snapshotTime = (body: string): number | undefined =>
  parseSamples(body).find((s) => s.name === "joulemon_snapshot_timestamp_seconds")?.value

describe("a /proc file whose read never returns, through the real binary", () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-stuck-"))
    rapl = startRaplTree({ package: 50 })
    tree = makeProcTree(BASE_CPU)
    tree.setProcess({ pid: 90, comm: "app", utime: 10, stime: 0, startTime: 300, exe: "/usr/bin/app" })
    tree.setProcess({ pid: 91, comm: "nfs-victim", utime: 10, stime: 0, startTime: 301, exe: "/usr/bin/ls" })
    const config = path.join(tmp, "joulemon.yaml")
    fs.writeFileSync(config, "cpu:\n  preferredMeters: [rapl]\nmonitor:\n  interval: 1s\n  staleness: 500ms\n")
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    joulemon = startJoulemon([
      `--config.file=${config}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--host.sysfs=${rapl.sysfs}`,
      `--host.procfs=${tree.procfs}`
    ])
    await waitForOutput(joulemon, (o) => o.includes("message=listening"), 40_000)
  }, 60_000)

  afterAll(() => {
    joulemon?.child.kill("SIGKILL")
    hang?.unmount()
    rapl?.stop()
    tree?.remove()
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("keeps /healthz and /metrics answering, reports the file on /readyz, recovers, and stops on SIGTERM", async () => {
    await waitForOutput(joulemon, () => true)
    const first = await get("/metrics")
    expect(first.status).toBe(200)
    expect(first.body).toContain("kepler_process_cpu_joules_total{")
    expect(first.body).toContain("comm=\"nfs-victim\"")
    const before = snapshotTime(first.body)
    expect(before).toBeTypeOf("number")

    // pid 91's directory becomes a FUSE mount whose stat read never returns.
    fs.rmSync(path.dirname(tree.statFile(91)), { recursive: true, force: true })
    hang = await mountHangFs(path.dirname(tree.statFile(91)))
    const file = hang.file

    let notReady = ""
    const health: Array<number> = []
    const metrics: Array<number> = []
    for (let i = 0; i < 120 && notReady === ""; i++) {
      health.push((await get("/healthz")).status)
      const m = await get("/metrics", 10_000)
      metrics.push(m.status)
      const ready = await get("/readyz")
      if (ready.status === 503 && ready.body.includes(file)) notReady = ready.body
      await pause(100)
    }
    expect(notReady).toContain(`blocked reading ${file} (pid 91)`)
    expect(notReady).toContain("deadline")
    expect(new Set(health)).toEqual(new Set([200]))
    expect(new Set(metrics)).toEqual(new Set([200]))

    // A fresh worker takes over without pid 91: ready again, and the snapshots move on.
    let ready = 0
    for (let i = 0; i < 150 && ready !== 200; i++) {
      await pause(100)
      ready = (await get("/readyz")).status
      health.push((await get("/healthz")).status)
    }
    expect(ready).toBe(200)
    expect(new Set(health)).toEqual(new Set([200]))
    await pause(600)
    const after = (await get("/metrics", 10_000)).body
    expect(snapshotTime(after)).toBeGreaterThan(before ?? Number.POSITIVE_INFINITY)
    // The stuck process is reported as last seen, not dropped.
    expect(after).toContain("comm=\"nfs-victim\"")

    joulemon.child.kill("SIGTERM")
    const exit = await withTimeout(joulemon.exited, 20_000, "exit after SIGTERM")
    expect(exit).toEqual({ code: 0, signal: null })
    expect(joulemon.output()).toContain("shutdown complete")
  }, 90_000)
})
