/**
 * The shipped build (scripts/bundle.mjs), which every end-to-end test runs: the parts only a
 * bundle can break, each checked by name — the version found from inside a chunk, the collector
 * worker process and the bcrypt worker thread found beside their chunks under the shipped
 * flags, and koffi (left out of the bundle) loaded lazily for GPU power.
 */
import bcrypt from "bcryptjs"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { SHIPPED_NODE_FLAGS } from "../../src/nodeFlags.js"
import { cpuAfterRounds } from "../resource/procDir.js"
import {
  bundleDir,
  ROOT,
  type Running,
  shippedEntry,
  startJoulemon,
  startOverTrees,
  waitForOutput
} from "../support/binary.js"
import { parseSamples } from "../support/exposition.js"
import { buildFakeNvml, writeNvmlScript } from "../support/fakeNvml.js"
import { freePort } from "../support/ports.js"
import { makeProcTree, type ProcTree } from "../support/procTree.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"

// The test run's bundle (test/support/bundleSetup.ts builds it with scripts/bundle.mjs, inside
// the checkout: it finds package.json upwards and koffi in node_modules, as from dist/).
let outdir = ""
let entry: ReadonlyArray<string> = []
const started: Array<Running> = []
const cleanups: Array<() => void> = []

beforeAll(() => {
  outdir = bundleDir()
  entry = shippedEntry()
  expect(entry).toEqual([...SHIPPED_NODE_FLAGS, path.join(outdir, "main.js")])
})

afterEach(() => {
  for (const r of started.splice(0)) if (r.child.exitCode === null) r.child.kill("SIGKILL")
  for (const clean of cleanups.splice(0)) clean()
})

const trees = (): { readonly rapl: RaplTree; readonly tree: ProcTree } => {
  const rapl = startRaplTree({ package: 40 })
  const tree = makeProcTree(cpuAfterRounds(1))
  tree.setProcess({ pid: 100, comm: "app", utime: 10, stime: 0, startTime: 300, exe: "/usr/bin/app" })
  cleanups.push(() => (rapl.stop(), tree.remove()))
  return { rapl, tree }
}

const tmpDir = (prefix: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The command lines of a process's children (the collector worker is the only one). */
const childCommands = (pid: number): ReadonlyArray<string> =>
  fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").filter(Boolean).map((child) =>
    fs.readFileSync(`/proc/${child}/cmdline`, "utf8").split("\0").join(" ")
  )

describe("the bundled build", () => {
  it("reports package.json's version, found upwards from a chunk", () => {
    const pkg: unknown = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"))
    const version = typeof pkg === "object" && pkg !== null && "version" in pkg ? String(pkg.version) : ""
    const r = spawnSync(process.execPath, [...entry, "--version"], { cwd: os.tmpdir(), encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    expect(version).not.toBe("")
    expect(r.stdout.trim()).toBe(version)
  })

  it("refreshes through the collector worker process forked from the bundle's worker.js", async () => {
    const { rapl, tree } = trees()
    const { joulemon, url } = await startOverTrees(tmpDir("joulemon-bundle-"), {
      sysfs: rapl.sysfs,
      procfs: tree.procfs
    }, { entry })
    started.push(joulemon)
    const pid = joulemon.child.pid ?? 0
    // The worker runs under the shipped flags too: it is half of joulemon's memory.
    expect(childCommands(pid)).toEqual([
      expect.stringContaining(`${SHIPPED_NODE_FLAGS.join(" ")} ${path.join(outdir, "worker.js")}`)
    ])
    const samples = parseSamples(await fetch(`${url}/metrics`).then((res) => res.text()))
    expect(samples.filter((s) => s.name === "kepler_node_cpu_joules_total").map((s) => s.labels["zone"])).toEqual([
      "package"
    ])
    expect(samples.some((s) => s.name === "kepler_process_cpu_joules_total" && s.labels["pid"] === "100")).toBe(true)
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
    joulemon.child.kill("SIGTERM")
    expect(await joulemon.exited).toEqual({ code: 0, signal: null })
  }, 60_000)

  it("checks basic-auth passwords on the bundle's bcrypt worker thread", async () => {
    const { rapl, tree } = trees()
    const dir = tmpDir("joulemon-bundle-auth-")
    const webConfig = path.join(dir, "web.yaml")
    fs.writeFileSync(webConfig, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync("s3cret", 4)}\n`)
    const { joulemon, url } = await startOverTrees(dir, { sysfs: rapl.sysfs, procfs: tree.procfs }, {
      entry,
      args: [`--web.config-file=${webConfig}`, "--log.level=debug"]
    })
    started.push(joulemon)
    const basic = (password: string) => ({
      headers: { authorization: `Basic ${Buffer.from(`prometheus:${password}`).toString("base64")}` }
    })
    expect((await fetch(`${url}/metrics`, basic("wrong"))).status).toBe(401)
    expect((await fetch(`${url}/metrics`, basic("s3cret"))).status).toBe(200)
    await waitForOutput(joulemon, (o) => o.includes("bcrypt worker thread started"))
  }, 60_000)

  it("loads koffi, left out of the bundle, for GPU power", async () => {
    const { rapl, tree } = trees()
    const dir = tmpDir("joulemon-bundle-gpu-")
    const libDir = await buildFakeNvml()
    const script = path.join(dir, "nvml.txt")
    writeNvmlScript(script, [{ index: 0, uuid: "GPU-bundle-0", name: "NVIDIA L4", powerMw: 70_000, energyMj: 5 }])
    const { joulemon, url } = await startOverTrees(dir, { sysfs: rapl.sysfs, procfs: tree.procfs }, {
      entry,
      yaml: "experimental:\n  gpu:\n    enabled: true\n",
      env: { LD_LIBRARY_PATH: libDir, FAKE_NVML_SCRIPT: script }
    })
    started.push(joulemon)
    await waitForOutput(joulemon, (o) => o.includes("GPU meter ready"))
    const samples = parseSamples(await fetch(`${url}/metrics`).then((res) => res.text()))
    expect(samples.some((s) => s.name === "kepler_node_gpu_joules_total" && s.labels["gpu_uuid"] === "GPU-bundle-0"))
      .toBe(true)
  }, 60_000)
})

describe("the bundled build without RAPL", () => {
  it("starts on the model meter, as `npm start` does on this machine", async () => {
    const r = startJoulemon(
      [
        `--web.listen-address=127.0.0.1:${await freePort()}`,
        `--host.sysfs=${path.join(ROOT, "test", "fixtures", "device", "bad_sysfs")}`
      ],
      {},
      entry
    )
    started.push(r)
    await waitForOutput(r, (o) => o.includes("message=listening"))
    expect(r.output()).toContain("meter=model")
  }, 60_000)
})
