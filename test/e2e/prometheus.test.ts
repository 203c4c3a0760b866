/**
 * joulemon scraped by a real Prometheus (Debian's `prometheus` package; .ci/run installs it):
 * the stored series agree with joulemon's own numbers, Prometheus parses both exposition formats
 * (it negotiates OpenMetrics), and promtool finds nothing to complain about in the text format.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Running, startJoulemon, waitForOutput } from "../support/binary.js"
import { freePort } from "../support/ports.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"
import { which } from "../support/which.js"

const PROMETHEUS = which("prometheus")
const PROMTOOL = which("promtool")
const missing = [PROMETHEUS === undefined ? "prometheus" : "", PROMTOOL === undefined ? "promtool" : ""].filter((x) =>
  x !== ""
)

interface Vector {
  readonly metric: Record<string, string>
  readonly value: readonly [number, string]
}

let rapl: RaplTree
let joulemon: Running
let prometheus: ChildProcess
let joulemonUrl = ""
let prometheusUrl = ""
let tmp = ""

const query = async (promql: string, time?: number): Promise<ReadonlyArray<Vector>> => {
  const params = new URLSearchParams({ query: promql })
  if (time !== undefined) params.set("time", String(time))
  const body: unknown = await fetch(`${prometheusUrl}/api/v1/query?${params}`).then((r) => r.json())
  if (typeof body === "object" && body !== null && "data" in body) {
    const data = body.data
    if (typeof data === "object" && data !== null && "result" in data && Array.isArray(data.result)) {
      return data.result as ReadonlyArray<Vector>
    }
  }
  throw new Error(`unexpected answer to ${promql}: ${JSON.stringify(body)}`)
}
const scalar = (
  v: ReadonlyArray<Vector>
): number => (v.length === 1 && v[0] !== undefined ? Number(v[0].value[1]) : Number.NaN)

const until = async (what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> => {
  const started = Date.now()
  while (Date.now() - started < ms) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe("end to end with a real Prometheus", () => {
  beforeAll(async () => {
    if (missing.length > 0) return
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-prom-"))
    rapl = startRaplTree({ package: 50, dram: 10 })
    const config = path.join(tmp, "joulemon.yaml")
    fs.writeFileSync(config, "cpu:\n  preferredMeters: [rapl]\nmonitor:\n  interval: 1s\n  staleness: 200ms\n")
    const jPort = await freePort()
    joulemonUrl = `http://127.0.0.1:${jPort}`
    joulemon = startJoulemon([
      `--config.file=${config}`,
      `--host.sysfs=${rapl.sysfs}`,
      `--web.listen-address=127.0.0.1:${jPort}`
    ])
    await waitForOutput(joulemon, (o) => o.includes("message=listening"))

    const pPort = await freePort()
    prometheusUrl = `http://127.0.0.1:${pPort}`
    const promConfig = path.join(tmp, "prometheus.yml")
    fs.writeFileSync(
      promConfig,
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: joulemon\n    static_configs:\n      - targets: ["127.0.0.1:${jPort}"]\n`
    )
    prometheus = spawn(
      PROMETHEUS ?? "prometheus",
      [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${path.join(tmp, "data")}`,
        `--web.listen-address=127.0.0.1:${pPort}`
      ],
      { stdio: "ignore" }
    )
    // Enough samples for rate() over 10 s.
    await until("12 s of scrapes", async () => scalar(await query("count_over_time(up[15s])")) >= 12, 90_000)
  }, 120_000)

  afterAll(() => {
    prometheus?.kill("SIGTERM")
    joulemon?.child.kill("SIGTERM")
    rapl?.stop()
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("has what it needs installed (Debian: apt-get install prometheus)", () => {
    expect(missing).toEqual([])
  })

  it("scrapes joulemon successfully over OpenMetrics", async () => {
    const body: unknown = await fetch(`${prometheusUrl}/api/v1/targets`).then((r) => r.json())
    const text = JSON.stringify(body)
    expect(text).toContain("\"health\":\"up\"")
    expect(text).toContain("\"lastError\":\"\"")
    expect(scalar(await query("up"))).toBe(1)
  })

  it("stores kepler_node_cpu_watts at the powers the counters advance by", async () => {
    // One interval's watts carries the fake tree's write lag (a 20 ms timer in this busy test
    // process, 50 ms seen under CI load: 5 % of a 1 s interval). Over ten intervals the lags
    // telescope, so the average is what shows joulemon's own accuracy.
    const watts = await query("avg_over_time(kepler_node_cpu_watts[10s])")
    const byZone = Object.fromEntries(watts.map((v) => [v.metric["zone"], Number(v.value[1])]))
    expect(byZone["package"]).toBeGreaterThan(50 * 0.95)
    expect(byZone["package"]).toBeLessThan(50 * 1.05)
    expect(byZone["dram"]).toBeGreaterThan(10 * 0.95)
    expect(byZone["dram"]).toBeLessThan(10 * 1.05)
  })

  it("rate(kepler_node_cpu_joules_total[10s]) agrees with the watts", async () => {
    const rate = scalar(await query("rate(kepler_node_cpu_joules_total{zone=\"package\"}[10s])"))
    expect(rate).toBeGreaterThan(50 * 0.95)
    expect(rate).toBeLessThan(50 * 1.05)
  })

  it("sum(kepler_process_cpu_watts) equals node active watts at every stored scrape", async () => {
    const now = Date.now() / 1000
    for (const t of [now - 6, now - 4, now - 2, now]) {
      const processes = scalar(await query("sum(kepler_process_cpu_watts{zone=\"package\",state=\"running\"})", t))
      const active = scalar(await query("kepler_node_cpu_active_watts{zone=\"package\"}", t))
      const unattributedRate = scalar(await query("rate(joulemon_unattributed_joules_total{zone=\"package\"}[3s])", t))
      // Equal to float rounding, unless no process used CPU in that interval (then it is unattributed).
      if (unattributedRate === 0) expect(Math.abs(processes - active)).toBeLessThan(1e-6 * Math.max(1, active))
      expect(active).toBeGreaterThanOrEqual(0)
    }
  })

  it("promtool check metrics finds nothing in the Prometheus text format", async () => {
    const body = await fetch(`${joulemonUrl}/metrics`).then((r) => r.text())
    const r = spawnSync(PROMTOOL ?? "promtool", ["check", "metrics"], { input: body, encoding: "utf8" })
    expect(`${r.stdout}${r.stderr}`).toBe("")
    expect(r.status).toBe(0)
  })

  it("is scraped over OpenMetrics, which Prometheus's own parser accepts (promtool 2.42 lints only the text format)", async () => {
    // Prometheus asks for OpenMetrics first; joulemon counts scrapes by the format it served.
    // The series being stored at all means Prometheus parsed those bodies.
    const om = scalar(await query("joulemon_scrapes_total{format=\"openmetrics\"}"))
    expect(om).toBeGreaterThanOrEqual(10)
    const body = await fetch(`${joulemonUrl}/metrics`, {
      headers: { accept: "application/openmetrics-text;version=1.0.0" }
    }).then((r) => r.text())
    expect(body.endsWith("# EOF\n")).toBe(true)
  })
})
