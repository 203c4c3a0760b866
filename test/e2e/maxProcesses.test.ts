/** exporter.prometheus.maxProcesses through the real binary and its HTTP server, on this machine's /proc. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { ROOT, type Running, startJoulemon, waitForOutput, withTimeout } from "../support/binary.js"
import { parseSamples } from "../support/exposition.js"
import { freePort } from "../support/ports.js"

const running: Array<Running> = []
afterEach(() => {
  for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill("SIGKILL")
})

const noPowercapSys = path.join(ROOT, "test", "fixtures", "device", "bad_sysfs")

describe("exporter.prometheus.maxProcesses", () => {
  it("serves the top process and one comm=\"other\" series per state and zone, every label set once", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-maxproc-"))
    const config = path.join(dir, "config.yaml")
    fs.writeFileSync(config, "exporter:\n  prometheus:\n    maxProcesses: 1\nmonitor:\n  interval: 1s\n")
    const port = await freePort()
    const r = startJoulemon([
      `--config.file=${config}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--host.sysfs=${noPowercapSys}`
    ])
    running.push(r)
    await waitForOutput(r, (o) => o.includes("message=listening"))
    // The host has more than one process: the test runner and joulemon itself at least.
    expect(fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e)).length).toBeGreaterThan(1)
    const body = await fetch(`http://127.0.0.1:${port}/metrics`).then((res) => res.text())
    const samples = parseSamples(body)
    const joules = samples.filter((s) => s.name === "kepler_process_cpu_joules_total")
    const zones = new Set(samples.filter((s) => s.name === "kepler_node_cpu_joules_total").map((s) => s.labels["zone"]))
    expect(zones.size).toBeGreaterThan(0)
    expect(new Set(joules.map((s) => s.labels["pid"]).filter((pid) => pid !== "")).size).toBe(1)
    const other = joules.filter((s) => s.labels["comm"] === "other" && s.labels["pid"] === "")
    expect(new Set(other.map((s) => s.labels["zone"]))).toEqual(zones)
    for (const s of other) expect(s.labels).toMatchObject({ exe: "", type: "other", container_id: "", vm_id: "" })
    expect(samples.filter((s) => s.name === "kepler_process_cpu_seconds_total" && s.labels["pid"] === "")).toHaveLength(
      1
    )
    const keys = samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`)
    expect(new Set(keys).size).toBe(keys.length)
    r.child.kill("SIGTERM")
    expect((await withTimeout(r.exited, 5000, "process exit")).code).toBe(0)
  })
})
