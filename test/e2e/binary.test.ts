import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { ROOT, type Running, startJoulemon, waitForOutput, withTimeout } from "../support/binary.js"
import { parseSamples } from "../support/exposition.js"
import { freePort } from "../support/ports.js"

const running: Array<Running> = []
const start = (args: ReadonlyArray<string>) => {
  const r = startJoulemon(args)
  running.push(r)
  return r
}
afterEach(() => {
  for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill("SIGKILL")
})

const fixtureSys = path.join(ROOT, "test", "fixtures", "device", "sys")
const noPowercapSys = path.join(ROOT, "test", "fixtures", "device", "bad_sysfs")

const writeConfig = (yaml: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-e2e-"))
  const file = path.join(dir, "config.yaml")
  fs.writeFileSync(file, yaml)
  return file
}

/** The exit code once the process has stopped, bounded so a hang fails the test. */
const exitOf = (r: Running, ms = 5000) => withTimeout(r.exited, ms, "process exit")

describe("the joulemon binary", () => {
  it("runs without RAPL: estimates with the model, says why RAPL was skipped, serves /metrics", async () => {
    const port = await freePort()
    const r = start([`--web.listen-address=127.0.0.1:${port}`, `--host.sysfs=${noPowercapSys}`])
    await waitForOutput(r, (o) => o.includes("message=listening"))
    const body = await fetch(`http://127.0.0.1:${port}/metrics`).then((res) => res.text())
    expect(body).toMatch(
      /^kepler_node_cpu_joules_total\{zone="package",path="estimated:linear-model",node_name="[^"]+"\} /m
    )
    expect(body).toContain("joulemon_meter_info{meter=\"model\",estimated=\"true\"} 1")
    expect(r.output()).toMatch(
      /message="skipping cpu power meter" reason="no RAPL zones found under [^"]*bad_sysfs\/class\/powercap"/
    )
    expect(r.output()).toContain("ESTIMATED")
    r.child.kill("SIGTERM")
    expect(await exitOf(r)).toEqual({ code: 0, signal: null })
    expect(r.output()).toContain("message=\"shutdown complete\"")
  })

  it("reads the RAPL fixture tree: core and the aggregated package, joules from 0", async () => {
    const port = await freePort()
    const config = writeConfig("cpu:\n  preferredMeters: [rapl]\n")
    const r = start([`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, `--host.sysfs=${fixtureSys}`])
    await waitForOutput(r, (o) => o.includes("message=listening"))
    const body = await fetch(`http://127.0.0.1:${port}/metrics`).then((res) => res.text())
    expect(body).toMatch(
      /^kepler_node_cpu_joules_total\{zone="core",path="[^"]*intel-rapl:0:0",node_name="[^"]+"\} 0$/m
    )
    expect(body).toMatch(
      /^kepler_node_cpu_joules_total\{zone="package",path="aggregated-package",node_name="[^"]+"\} 0$/m
    )
    expect(body).not.toContain("mmio")
    r.child.kill("SIGTERM")
    expect((await exitOf(r)).code).toBe(0)
  })

  it("shuts down cleanly on SIGTERM during a scrape storm", async () => {
    const port = await freePort()
    const r = start([
      `--web.listen-address=127.0.0.1:${port}`,
      `--host.sysfs=${noPowercapSys}`,
      "--monitor.interval=0s"
    ])
    await waitForOutput(r, (o) => o.includes("message=listening"))
    let stop = false
    const results = { ok: 0, closed: 0, other: 0 }
    const storm = Array.from({ length: 20 }, async () => {
      while (!stop) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`)
          await res.text()
          if (res.status === 200) results.ok++
          else results.other++
        } catch {
          results.closed++ // connection refused or reset once the server is closing: clean for a scraper
          return
        }
      }
    })
    await new Promise((res) => setTimeout(res, 500))
    r.child.kill("SIGTERM")
    const exit = await exitOf(r)
    stop = true
    await Promise.all(storm)
    expect(exit).toEqual({ code: 0, signal: null })
    expect(results.ok).toBeGreaterThan(0)
    expect(results.other).toBe(0)
  })

  it("logs SIGHUP and keeps running (Node's default is to die of it: exit 129, no log)", async () => {
    const port = await freePort()
    const r = start([`--web.listen-address=127.0.0.1:${port}`, `--host.sysfs=${noPowercapSys}`])
    await waitForOutput(r, (o) => o.includes("message=listening"))
    r.child.kill("SIGHUP")
    await waitForOutput(
      r,
      (o) => o.includes("level=WARN fiber=") && o.includes("message=\"received SIGHUP; ignoring it")
    )
    r.child.kill("SIGHUP")
    await waitForOutput(r, (o) => (o.match(/received SIGHUP/g) ?? []).length === 2)
    const res = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(res.status).toBe(200)
    expect(r.child.exitCode).toBeNull()
    r.child.kill("SIGTERM")
    expect(await exitOf(r)).toEqual({ code: 0, signal: null })
    expect(r.output().match(/received SIGHUP/g)).toHaveLength(2)
  })

  it("never exports NaN nor the 9223372036.85 sentinel in nodejs_eventloop_lag_* when scrapes come < 1 s apart", async () => {
    const port = await freePort()
    const r = start([
      `--web.listen-address=127.0.0.1:${port}`,
      `--host.sysfs=${noPowercapSys}`,
      "--monitor.interval=0s"
    ])
    await waitForOutput(r, (o) => o.includes("message=listening"))
    const lags: Array<number> = []
    const check = async () => {
      const samples = parseSamples(await fetch(`http://127.0.0.1:${port}/metrics`).then((res) => res.text()))
      for (const s of samples) {
        expect({ name: s.name, finite: Number.isFinite(s.value) }).toEqual({ name: s.name, finite: true })
      }
      const lag = samples.filter((s) => s.name.startsWith("nodejs_eventloop_lag_"))
      expect(lag.map((s) => s.name).sort()).toEqual([
        "nodejs_eventloop_lag_max_seconds",
        "nodejs_eventloop_lag_mean_seconds",
        "nodejs_eventloop_lag_min_seconds",
        "nodejs_eventloop_lag_p50_seconds",
        "nodejs_eventloop_lag_p90_seconds",
        "nodejs_eventloop_lag_p99_seconds",
        "nodejs_eventloop_lag_seconds",
        "nodejs_eventloop_lag_stddev_seconds"
      ])
      lags.push(...lag.map((s) => s.value))
    }
    // back to back, then across a sampling tick, then back to back again
    for (let i = 0; i < 5; i++) await check()
    await new Promise((res) => setTimeout(res, 1200))
    for (let i = 0; i < 5; i++) await check()
    for (const v of lags) {
      expect(v).toBeGreaterThanOrEqual(0)
      expect(v).toBeLessThan(60)
    }
  })

  it("exits non-zero with a clear message when the port is in use", async () => {
    const blocker = net.createServer()
    await new Promise<void>((res) => blocker.listen(0, "127.0.0.1", () => res()))
    const address = blocker.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    try {
      const r = start([`--web.listen-address=127.0.0.1:${port}`, `--host.sysfs=${noPowercapSys}`])
      const exit = await withTimeout(r.exited, 20_000, "process exit")
      expect(exit.code).toBe(1)
      expect(r.output()).toContain(`cannot listen on 127.0.0.1:${port}: address already in use`)
    } finally {
      blocker.close()
    }
  })

  it("rejects an invalid configuration before starting anything, listing every violation", async () => {
    const config = writeConfig("log:\n  level: loud\nmonitor:\n  interval: -1s\n")
    const r = start([`--config.file=${config}`, "--web.listen-address=:99999"])
    const exit = await withTimeout(r.exited, 20_000, "process exit")
    expect(exit.code).toBe(1)
    const out = r.output()
    expect(out).toContain("invalid configuration:")
    expect(out).toContain("invalid log level: \"loud\"")
    expect(out).toContain("invalid monitor interval: -1s can't be negative")
    expect(out).toContain("port must be between 1 and 65535, got 99999")
    expect(out).not.toContain("listening")
  })

  it("refuses a config file over 1 MiB, naming the file and its size, without starting", async () => {
    const config = writeConfig("")
    fs.truncateSync(config, 50_000_000)
    const r = start([`--config.file=${config}`])
    const exit = await withTimeout(r.exited, 20_000, "process exit")
    expect(exit.code).toBe(1)
    expect(r.output()).toContain(
      `failed to open config file ${
        JSON.stringify(config)
      }: the file is 50000000 bytes, over the 1 MiB (1048576 bytes) limit for config files; refused without reading it`
    )
    expect(r.output()).not.toContain("listening")
  })

  it("prints its version", async () => {
    const r = start(["--version"])
    const exit = await withTimeout(r.exited, 20_000, "process exit")
    const pkg: unknown = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"))
    expect(exit.code).toBe(0)
    expect(typeof pkg === "object" && pkg !== null && "version" in pkg ? r.output() : "").toContain(
      String((pkg as { version: string }).version)
    )
  })
})
