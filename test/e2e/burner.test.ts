/**
 * joulemon on this machine's real /proc with a CPU-burning child: the burner is the process
 * with the largest kepler_process_cpu_watts, and the running processes' watts add up to the
 * node's active watts per zone (kepler-behaviour.md §8.1 invariants, exactly here: DESIGN.md §3).
 */
import type { ChildProcess } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Running, startJoulemon, waitForOutput } from "../support/binary.js"
import { spawnBurner } from "../support/burner.js"
import { type ParsedSample, parseSamples } from "../support/exposition.js"
import { freePort } from "../support/ports.js"

let burner: ChildProcess
let joulemon: Running
let url = ""

const scrape = async (): Promise<Array<ParsedSample>> =>
  parseSamples(await fetch(`${url}/metrics`).then((r) => r.text()))

describe("a CPU-burning process on the real /proc", () => {
  beforeAll(async () => {
    burner = spawnBurner()
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    joulemon = startJoulemon([`--web.listen-address=127.0.0.1:${port}`, "--monitor.interval=1s"])
    await waitForOutput(joulemon, (o) => o.includes("message=listening"))
    // Past the baseline and the start-up of joulemon itself (tsx compiling its sources).
    await new Promise((r) => setTimeout(r, 4000))
  }, 60_000)

  afterAll(() => {
    burner?.kill("SIGKILL")
    joulemon?.child.kill("SIGTERM")
  })

  it("attributes the most power to the burner", async () => {
    const samples = await scrape()
    const running = samples.filter((s) => s.name === "kepler_process_cpu_watts" && s.labels["state"] === "running")
    expect(running.length).toBeGreaterThan(1)
    for (const zone of new Set(running.map((s) => s.labels["zone"]))) {
      const inZone = running.filter((s) => s.labels["zone"] === zone)
      const top = inZone.reduce((a, b) => (b.value > a.value ? b : a))
      expect(top.labels["pid"]).toBe(String(burner.pid))
      expect(top.value).toBeGreaterThan(0)
    }
  })

  it("adds the running processes' watts up to the node's active watts, per zone", async () => {
    const samples = await scrape()
    const active = samples.filter((s) => s.name === "kepler_node_cpu_active_watts")
    expect(active.length).toBeGreaterThan(0)
    for (const node of active) {
      const zone = node.labels["zone"]
      const sum = samples
        .filter((s) =>
          s.name === "kepler_process_cpu_watts" && s.labels["state"] === "running" && s.labels["zone"] === zone
        )
        .reduce((a, s) => a + s.value, 0)
      // The burner always uses CPU, so nothing is unattributed: equal to float rounding.
      expect(Math.abs(sum - node.value)).toBeLessThan(1e-9 * Math.max(1, node.value))
      expect(node.value).toBeGreaterThan(0)
    }
  })
})
