/**
 * scripts/gpu-check (issue 12) as an operator runs it, over the fake NVML library: it agrees with
 * NVML while the energy counter advances under it, says DISAGREE (exit 1) when joulemon cannot
 * read a device NVML counts, and exits 2 naming the missing library when there is no NVML.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { buildFakeNvml, type FakeGpu, writeNvmlScript } from "../support/fakeNvml.js"

const SCRIPT = path.resolve(import.meta.dirname, "../../scripts/gpu-check")

let libDir = ""
let tmp = ""

beforeAll(async () => {
  libDir = await buildFakeNvml()
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-gpu-check-"))
}, 60_000)

afterAll(() => {
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
})

const run = (env: Record<string, string>, whileRunning?: () => void) =>
  new Promise<{ readonly code: number | null; readonly out: string }>((resolve) => {
    const child = spawn(SCRIPT, ["--interval", "500ms"], { env: { ...process.env, ...env } })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (out += d.toString()))
    const timer = whileRunning === undefined ? undefined : setInterval(whileRunning, 20)
    child.on("exit", (code) => {
      clearInterval(timer)
      resolve({ code, out })
    })
  })

const devices = (energyMj: bigint, lost1 = false): ReadonlyArray<FakeGpu> => [
  {
    index: 0,
    uuid: "GPU-check-0",
    name: "NVIDIA A100",
    powerMw: 250_000,
    energyMj,
    processes: [{ pid: process.pid, smUtil: 75 }, { pid: 999_999_999, smUtil: 25 }]
  },
  { index: 1, uuid: "GPU-check-1", name: "NVIDIA L4", computeMode: 3, powerMw: 70_000, energyMj: 5, lost: lost1 }
]

describe("scripts/gpu-check", () => {
  it("agrees with NVML while the energy counter advances, and lists the processes it found", async () => {
    const script = path.join(tmp, "advancing.txt")
    let energy = 1_000_000n
    writeNvmlScript(script, devices(energy))
    // The counter moves 5 J every 20 ms while the check runs, so joulemon's reading and the
    // check's own readings around it see different values.
    const { code, out } = await run({ LD_LIBRARY_PATH: libDir, FAKE_NVML_SCRIPT: script }, () => {
      energy += 5_000n
      writeNvmlScript(script, devices(energy))
    })
    expect(out).toContain("GPU 0 GPU-check-0 NVIDIA A100 [time-slicing, energy counter]")
    expect(out).toContain("GPU 1 GPU-check-1 NVIDIA L4 [exclusive, energy counter]")
    const booked = /GPU 0[^]*?energy {2}joulemon (\d+\.\d+) J/.exec(out)?.[1]
    expect(Number(booked), out).toBeGreaterThan(0)
    expect(out).toContain(`process ${process.pid} `)
    expect(out).toContain("process 999999999: not in this /proc")
    expect(out).toContain("result: joulemon and NVML agree")
    expect(code, out).toBe(0)
  }, 60_000)

  it("exits 1 with DISAGREE when joulemon cannot read a device NVML counts", async () => {
    const script = path.join(tmp, "lost.txt")
    writeNvmlScript(script, devices(1_000_000n, true))
    const { code, out } = await run({ LD_LIBRARY_PATH: libDir, FAKE_NVML_SCRIPT: script })
    expect(out).toContain("GPU skipped: it could not be read at startup")
    expect(out).toContain("result: DISAGREE")
    expect(out).toContain("NVML counts 2 GPUs, joulemon reads 1: GPU 1 could not be read at startup")
    expect(code, out).toBe(1)
  }, 60_000)

  it("exits 2 naming the library when NVML cannot be loaded", async () => {
    const { code, out } = await run({ LD_LIBRARY_PATH: tmp, FAKE_NVML_SCRIPT: "" })
    expect(out).toContain("NVML cannot be used here")
    expect(out).toContain("libnvidia-ml.so.1")
    expect(code).toBe(2)
  }, 60_000)
})
