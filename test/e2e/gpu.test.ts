/**
 * GPU power through the real binary and the real FFI path (issue 12): joulemon loads the fake
 * NVML library (test/support/fakeNvml) by its soname through LD_LIBRARY_PATH, exactly as it would
 * load the driver's, over synthetic /proc and powercap trees.
 *
 * Two GPUs: GPU 0 time-sliced by two processes at 3:1 utilisation (in two containers), GPU 1
 * exclusive to one process. The containers belong to two pods a fake kubelet serves. Over several
 * intervals GPU 0's counter stops advancing once and GPU 1 is lost and found again; node, process,
 * container and pod GPU energy stay exact to the µJ, with Kepler's families, labels and help, and
 * promtool finds nothing.
 */
import { Effect, Exit, Scope } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { containerIds, podUids, TEST_NODE } from "../k8s/fakeKube.js"
import { kubeletWorld, writeKubeconfig } from "../k8s/support.js"
import { cpuAfterRounds } from "../resource/procDir.js"
import { type Running, startOverTrees, waitForOutput } from "../support/binary.js"
import { type ParsedSample, parseSamples } from "../support/exposition.js"
import { buildFakeNvml, type FakeGpu, writeNvmlScript } from "../support/fakeNvml.js"
import { podContainerCgroup } from "../support/procOverlay.js"
import { makeProcTree, type ProcTree } from "../support/procTree.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"
import { micro, onlyValue } from "../support/samples.js"
import { which } from "../support/which.js"

const PROMTOOL = which("promtool")
// pids 100 and 101 in pod "web" (two containers), 200 in pod "coredns".
const C1 = containerIds.nginx
const C2 = containerIds.logShipper
const C3 = containerIds.coredns

let rapl: RaplTree
let tree: ProcTree
let tmp = ""
let libDir = ""
const started: Array<Running> = []
let kubeScope: Scope.CloseableScope | undefined

let round = 0
const advance = (): void => {
  round++
  const utime = 10 * round
  tree.setProcess({
    pid: 100,
    comm: "train",
    utime,
    stime: 0,
    startTime: 300,
    exe: "/usr/bin/python3",
    cgroup: podContainerCgroup(podUids.web, C1)
  })
  tree.setProcess({
    pid: 101,
    comm: "infer",
    utime,
    stime: 0,
    startTime: 301,
    exe: "/usr/bin/python3",
    cgroup: podContainerCgroup(podUids.web, C2)
  })
  tree.setProcess({
    pid: 200,
    comm: "render",
    utime,
    stime: 0,
    startTime: 302,
    exe: "/usr/bin/blender",
    cgroup: podContainerCgroup(podUids.coredns, C3)
  })
  tree.setCpu(cpuAfterRounds(round))
}

const gpus = (o: {
  readonly e0: bigint
  readonly e1: bigint
  readonly busy: boolean
  readonly lost1?: boolean
}): ReadonlyArray<FakeGpu> => [
  {
    index: 0,
    uuid: "GPU-0000-aaaa",
    name: "NVIDIA A100-SXM4-80GB",
    powerMw: o.busy ? 300_000 : 1_000,
    energyMj: o.e0,
    processes: o.busy ? [{ pid: 100, smUtil: 75 }, { pid: 101, smUtil: 25 }] : []
  },
  {
    index: 1,
    uuid: "GPU-0001-bbbb",
    name: "NVIDIA L4",
    computeMode: 3,
    powerMw: o.busy ? 70_000 : 1_000,
    energyMj: o.e1,
    lost: o.lost1 ?? false,
    processes: o.busy ? [{ pid: 200, smUtil: 90 }] : []
  }
]

const scrape = async (url: string): Promise<{ readonly body: string; readonly samples: Array<ParsedSample> }> => {
  const res = await fetch(`${url}/metrics`)
  expect(res.status).toBe(200)
  const body = await res.text()
  return { body, samples: parseSamples(body) }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("GPU power through the fake NVML library and the real binary", () => {
  let joulemon: Running
  let url = ""
  let script = ""

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-gpu-"))
    libDir = await buildFakeNvml()
    rapl = startRaplTree({ package: 50 })
    tree = makeProcTree(cpuAfterRounds(0))
    advance()
    script = path.join(tmp, "nvml.txt")
    writeNvmlScript(script, gpus({ e0: 1_000_000n, e1: 5_000_000_000n, busy: false }))
    const scope = Effect.runSync(Scope.make())
    kubeScope = scope
    const world = await Effect.runPromise(Scope.extend(kubeletWorld, scope))
    const kube = `kube:\n  enabled: true\n  config: ${writeKubeconfig(tmp, world)}\n  nodeName: ${TEST_NODE}\n`
    ;({ joulemon, url } = await startOverTrees(tmp, { sysfs: rapl.sysfs, procfs: tree.procfs }, {
      yaml: `experimental:\n  gpu:\n    enabled: true\n${kube}`,
      env: { LD_LIBRARY_PATH: libDir, FAKE_NVML_SCRIPT: script }
    }))
    started.push(joulemon)
  }, 60_000)

  afterAll(async () => {
    for (const r of started) r.child.kill("SIGTERM")
    rapl?.stop()
    tree?.remove()
    if (kubeScope !== undefined) await Effect.runPromise(Scope.close(kubeScope, Exit.void))
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("logs the GPUs it found, with their sharing modes", () => {
    expect(joulemon.output()).toMatch(
      /GPU meter ready.*0:GPU-0000-aaaa NVIDIA A100-SXM4-80GB \[time-slicing, energy counter\]; 1:GPU-0001-bbbb NVIDIA L4 \[exclusive/
    )
  })

  it("books exact node, process, container and pod GPU energy over intervals with a stalled counter and a lost GPU", async () => {
    const step = async (o: Parameters<typeof gpus>[0]) => {
      advance()
      writeNvmlScript(script, gpus(o))
      // Long enough that the energy below implies plausible power (≤ 10 kW per GPU).
      await pause(100)
      return scrape(url)
    }
    // Baseline: both idle (the idle detector learns 1 W each: small against the energy below, however
    // long a slow machine takes between scrapes, so every interval has active energy to split).
    await step({ e0: 1_000_000n, e1: 5_000_000_000n, busy: false })
    // GPU 0 +20 J, GPU 1 +10 J.
    await step({ e0: 1_020_000n, e1: 5_000_010_000n, busy: true })
    // GPU 0's counter stops; GPU 1 is lost.
    const stalled = await step({ e0: 1_020_000n, e1: 5_000_010_000n, busy: true, lost1: true })
    expect(onlyValue(stalled.samples, "joulemon_node_gpu_lost_total", { gpu: "1" })).toBe(1)
    // GPU 0 +15 J; GPU 1 back with +3 J since its last good reading.
    const { body, samples } = await step({ e0: 1_035_000n, e1: 5_000_013_000n, busy: true })

    const node = (name: string, gpu: string) => micro(onlyValue(samples, name, { gpu }))
    expect(node("kepler_node_gpu_joules_total", "0")).toBe(35_000_000n)
    expect(node("kepler_node_gpu_joules_total", "1")).toBe(13_000_000n)
    for (const gpu of ["0", "1"]) {
      expect(node("kepler_node_gpu_idle_joules_total", gpu) + node("kepler_node_gpu_active_joules_total", gpu))
        .toBe(node("kepler_node_gpu_joules_total", gpu))
    }
    const process = (pid: string) =>
      micro(onlyValue(samples, "kepler_process_gpu_joules_total", { pid, state: "running" }))
    // GPU 0: the two processes take all its active energy, 3:1 to within the largest remainder.
    const p100 = process("100")
    const p101 = process("101")
    expect(p100 + p101 + node("joulemon_node_gpu_unattributed_joules_total", "0"))
      .toBe(node("kepler_node_gpu_active_joules_total", "0"))
    expect(node("joulemon_node_gpu_unattributed_joules_total", "0")).toBe(0n)
    // Each split interval rounds each share by less than 1 µJ, so p100 − 3 × p101 is within
    // (−4, 4) µJ per interval; two intervals had active energy on GPU 0.
    const threeTimes = p100 - 3n * p101
    expect(threeTimes > -8n && threeTimes < 8n, `${p100} vs 3 × ${p101}`).toBe(true)
    // GPU 1: exclusive, the whole active energy to its one process.
    expect(process("200")).toBe(node("kepler_node_gpu_active_joules_total", "1"))
    // Containers = Σ their processes.
    const container = (id: string) =>
      micro(onlyValue(samples, "kepler_container_gpu_joules_total", { container_id: id, state: "running" }))
    expect(container(C1)).toBe(p100)
    expect(container(C2)).toBe(p101)
    expect(container(C3)).toBe(process("200"))
    // Pods = Σ their containers.
    const pod = (id: string) =>
      micro(onlyValue(samples, "kepler_pod_gpu_joules_total", { pod_id: id, state: "running" }))
    expect(pod(podUids.web)).toBe(p100 + p101)
    expect(pod(podUids.coredns)).toBe(process("200"))
    expect(
      onlyValue(samples, "kepler_pod_gpu_watts", {
        pod_id: podUids.web,
        pod_name: "web-6c7f9d8b5-q2w4e",
        pod_namespace: "default"
      })
    )
      .toBeGreaterThan(0)

    expect(
      onlyValue(samples, "kepler_node_gpu_info", {
        gpu: "1",
        gpu_uuid: "GPU-0001-bbbb",
        gpu_name: "NVIDIA L4",
        vendor: "nvidia"
      })
    )
      .toBe(1)
    expect(onlyValue(samples, "kepler_node_gpu_watts", { gpu: "0" })).toBe(300)
    expect(onlyValue(samples, "kepler_node_gpu_idle_watts", { gpu: "0" })).toBe(1)
    expect(onlyValue(samples, "kepler_node_gpu_active_watts", { gpu: "0" })).toBe(299)
    expect(onlyValue(samples, "kepler_process_gpu_watts", { pid: "100" })).toBeGreaterThan(0)
    for (
      const help of [
        "# HELP kepler_node_gpu_info GPU device information for mapping index to UUID/name",
        "# HELP kepler_node_gpu_watts Total GPU power consumption in watts",
        "# HELP kepler_node_gpu_idle_watts GPU idle power (auto-detected minimum) in watts",
        "# HELP kepler_node_gpu_active_watts GPU active power (total - idle) in watts",
        "# HELP kepler_node_gpu_joules_total Energy consumption of gpu at node level in joules",
        "# HELP kepler_node_gpu_active_joules_total Energy consumption of gpu in active state at node level in joules",
        "# HELP kepler_node_gpu_idle_joules_total Energy consumption of gpu in idle state at node level in joules",
        "# HELP kepler_process_gpu_joules_total Energy consumption of gpu at process level in joules",
        "# HELP kepler_process_gpu_watts Power consumption of gpu at process level in watts",
        "# HELP kepler_container_gpu_joules_total Energy consumption of gpu at container level in joules",
        "# HELP kepler_container_gpu_watts Power consumption of gpu at container level in watts",
        "# HELP kepler_pod_gpu_joules_total Energy consumption of gpu at pod level in joules",
        "# HELP kepler_pod_gpu_watts Power consumption of gpu at pod level in watts"
      ]
    ) expect(body).toContain(help)
    // Only GPU users get workload GPU series (Kepler: only when > 0).
    expect(samples.filter((s) => s.name === "kepler_process_gpu_joules_total").map((s) => s.labels["pid"]).sort())
      .toEqual(["100", "101", "200"])
    expect(joulemon.output()).toContain("GPU lost")
    expect(joulemon.output()).toContain("GPU answers again")

    expect(PROMTOOL, "promtool (apt-get install prometheus)").toBeDefined()
    const lint = spawnSync(PROMTOOL ?? "promtool", ["check", "metrics"], { input: body, encoding: "utf8" })
    expect(`${lint.stdout}${lint.stderr}`.trim()).toBe("")
    expect(lint.status).toBe(0)
  })
})

describe("GPU power on but not readable", () => {
  afterAll(() => {
    for (const r of started) r.child.kill("SIGTERM")
  })

  const startWith = async (env: Record<string, string | undefined>) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-gpu-off-"))
    const r = startRaplTree({ package: 50 })
    const t = makeProcTree(cpuAfterRounds(1))
    t.setProcess({ pid: 100, comm: "app", utime: 10, stime: 0, startTime: 300, exe: "/usr/bin/app" })
    const run = await startOverTrees(dir, { sysfs: r.sysfs, procfs: t.procfs }, {
      yaml: "experimental:\n  gpu:\n    enabled: true\n",
      env
    })
    started.push(run.joulemon)
    return { ...run, cleanup: () => (r.stop(), t.remove(), fs.rmSync(dir, { recursive: true, force: true })) }
  }

  it("without the library: one warning naming it and the fix, the CPU side unchanged and /readyz ready", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-no-nvml-"))
    const { joulemon, url, cleanup } = await startWith({ LD_LIBRARY_PATH: empty, FAKE_NVML_SCRIPT: undefined })
    try {
      const { samples } = await scrape(url)
      await scrape(url)
      expect(samples.some((s) => s.name === "kepler_node_cpu_joules_total")).toBe(true)
      expect(samples.some((s) => s.name.includes("_gpu_"))).toBe(false)
      expect((await fetch(`${url}/readyz`)).status).toBe(200)
      const warnings = joulemon.output().split("\n").filter((l) => l.includes("NVML cannot be used"))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain("libnvidia-ml.so.1")
      expect(warnings[0]).toContain("LD_LIBRARY_PATH")
    } finally {
      cleanup()
      fs.rmSync(empty, { recursive: true, force: true })
    }
  }, 60_000)

  it("with the library but no driver: the warning carries NVML's reason", async () => {
    const dir = await buildFakeNvml()
    const scriptDir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-nvml-nodriver-"))
    const script = path.join(scriptDir, "nvml.txt")
    writeNvmlScript(script, [], { initError: 9 })
    const { joulemon, url, cleanup } = await startWith({ LD_LIBRARY_PATH: dir, FAKE_NVML_SCRIPT: script })
    try {
      await waitForOutput(joulemon, (o) => o.includes("NVML cannot be used"))
      expect(joulemon.output()).toMatch(/nvmlInit_v2: Driver Not Loaded \(NVML code 9\)/)
      // Ready once a refresh has succeeded, as without GPU power.
      await scrape(url)
      expect((await fetch(`${url}/readyz`)).status).toBe(200)
    } finally {
      cleanup()
      fs.rmSync(scriptDir, { recursive: true, force: true })
    }
  }, 60_000)
})
