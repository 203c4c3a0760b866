/**
 * deploy/grafana/joulemon.json and deploy/prometheus/*.rules.yml against the real thing: joulemon
 * (RAPL from a synthetic powercap tree, a CPU burner and two idle processes of this machine shown
 * as a Kubernetes pod's container, another pod's container and a VM, a fake kubelet and API
 * server, a fake Redfish BMC, one GPU of the fake NVML library shared by the burner and another
 * pod) scraped every second by a real Prometheus that loads the rules. monitor.shortLived is on:
 * the burner's container's cgroup used more CPU than the burner (short-lived work, issue 15).
 * Every dashboard variable lists the value the test then substitutes, every panel query returns
 * data, and every rule evaluates without error and records data.
 */
import { Effect, Exit, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { containerIds, podUids, TEST_NODE } from "../k8s/fakeKube.js"
import { kubeletWorld, writeKubeconfig } from "../k8s/support.js"
import { fixtureTree, startRedfishServer } from "../platform/redfishServer.js"
import { ROOT, type Running, startJoulemon, waitForOutput } from "../support/binary.js"
import { spawnBurner } from "../support/burner.js"
import { buildFakeNvml, writeNvmlScript } from "../support/fakeNvml.js"
import { freePort } from "../support/ports.js"
import { makeProcOverlay, podContainerCgroup, type ProcOverlay } from "../support/procOverlay.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"
import { which } from "../support/which.js"

const PROMETHEUS = which("prometheus")
const DASHBOARD: unknown = JSON.parse(fs.readFileSync(path.join(ROOT, "deploy", "grafana", "joulemon.json"), "utf8"))
const RULES_DIR = path.join(ROOT, "deploy", "prometheus")

interface Target {
  readonly expr: string
}
interface Panel {
  readonly title: string
  readonly type: string
  readonly targets?: ReadonlyArray<Target>
}
interface Variable {
  readonly name: string
  readonly type: string
  readonly query: unknown
}
interface Dashboard {
  readonly panels: ReadonlyArray<Panel>
  readonly templating: { readonly list: ReadonlyArray<Variable> }
}
const isDashboard = (u: unknown): u is Dashboard =>
  typeof u === "object" && u !== null && "panels" in u && Array.isArray(u.panels) && "templating" in u

interface Vector {
  readonly metric: Record<string, string>
  readonly value: readonly [number, string]
}

let scope: Scope.CloseableScope
let rapl: RaplTree
let overlay: ProcOverlay
let joulemon: Running
let prometheus: ChildProcess
const children: Array<ChildProcess> = []
let burnerPid = 0
let cpuAccounting: ReturnType<typeof setInterval> | undefined
let instance = ""
let prometheusUrl = ""
let tmp = ""

const api = async (endpoint: string, params: URLSearchParams): Promise<unknown> => {
  const body: unknown = await fetch(`${prometheusUrl}/api/v1/${endpoint}?${params}`).then((r) => r.json())
  if (typeof body === "object" && body !== null && "status" in body && body.status === "success" && "data" in body) {
    return body.data
  }
  throw new Error(`Prometheus answered ${endpoint}?${params} with ${JSON.stringify(body)}`)
}
const query = async (promql: string): Promise<ReadonlyArray<Vector>> => {
  const data = await api("query", new URLSearchParams({ query: promql }))
  if (typeof data === "object" && data !== null && "result" in data && Array.isArray(data.result)) {
    return data.result as ReadonlyArray<Vector>
  }
  throw new Error(`not a vector: ${promql}: ${JSON.stringify(data)}`)
}
const until = async (what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> => {
  const started = Date.now()
  while (Date.now() - started < ms) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const web = { pod: "web-6c7f9d8b5-q2w4e", namespace: "default", container: "nginx" }

/** A process's CPU ticks (utime + stime, all its threads; 100 a second), from the live /proc. */
const cpuTicks = (pid: number): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the parenthesised comm: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return Number(fields[11]) + Number(fields[12])
}

const writeAtomically = (file: string, text: string) => {
  fs.writeFileSync(`${file}.tmp`, text)
  fs.renameSync(`${file}.tmp`, file)
}

/**
 * The node's CPU accounting under monitor.shortLived: cgroup, rewritten every 50 ms:
 *
 * - the container's cgroup v2 usage: `cgroup` is its `/proc/<pid>/cgroup` (one `0::<path>` line
 *   whose last component names the container, so joulemon reads
 *   `<sysfs>/fs/cgroup<path>/cpu.stat`), and its `usage_usec` is `pid`'s CPU time plus 0.2 s for
 *   every second since the start: work of processes in the container that joulemon never sees,
 *   i.e. short-lived work;
 * - the overlay's `/proc/stat` (no longer the machine's): its active ticks are the overlay's
 *   processes', that short-lived work and 0.02 s a second nobody's (the node residual), the rest
 *   of `cpus` × 100 ticks a second idle. The machine's own /proc/stat would put every other
 *   process of this shared machine (other test files, Prometheus, joulemon itself) in the
 *   residual, joulemon_unattributed_joules_total, and make JoulemonUnattributedEnergyHigh pend.
 *
 * joulemon reads the processes' ticks live, so an interval's seen ticks can be off those files by
 * up to 50 ms of the burner's CPU: a few ticks of noise in the short-lived and residual shares.
 */
const startCpuAccounting = (
  sysfs: string,
  procfs: string,
  container: { readonly cgroup: string; readonly pid: number },
  pids: ReadonlyArray<number>
): ReturnType<typeof setInterval> => {
  const line = container.cgroup.trim()
  if (!line.startsWith("0::")) throw new Error(`not a cgroup v2 line: ${line}`)
  const usageFile = path.join(sysfs, "fs", "cgroup", ...line.slice("0::".length).split("/"), "cpu.stat")
  fs.mkdirSync(path.dirname(usageFile), { recursive: true })
  const cpus = fs.readFileSync("/proc/stat", "utf8").split("\n").filter((l) => /^cpu\d+ /.test(l)).length
  const started = Date.now()
  let idle = 0
  let activeAtStart: number | undefined
  const write = () => {
    const elapsedMs = Date.now() - started
    const shortLivedUsec = elapsedMs * 200
    writeAtomically(
      usageFile,
      `usage_usec ${cpuTicks(container.pid) * 10_000 + shortLivedUsec}\nuser_usec 0\nsystem_usec 0\n`
    )
    const active = pids.reduce((sum, pid) => sum + cpuTicks(pid), 0) + Math.floor(shortLivedUsec / 10_000) +
      Math.floor(elapsedMs / 500)
    // The processes' ticks before the start are theirs (their lifetime), not this machine's time.
    activeAtStart ??= active
    idle = Math.max(idle, Math.floor((elapsedMs / 10) * cpus) - (active - activeAtStart))
    // user nice system idle iowait irq softirq steal guest guest_nice; the CPUs share alike.
    const fields = (user: number, idleTicks: number) => `${user} 0 0 ${idleTicks} 0 0 0 0 0 0`
    const lines = [
      `cpu  ${fields(active, idle)}`,
      ...Array.from({ length: cpus }, (_, i) =>
        `cpu${i} ${
          fields(
            Math.floor(active / cpus) + (i === 0 ? active % cpus : 0),
            Math.floor(idle / cpus) + (i === 0 ? idle % cpus : 0)
          )
        }`)
    ]
    writeAtomically(path.join(procfs, "stat"), `${lines.join("\n")}\n`)
  }
  write()
  return setInterval(write, 50)
}

/** The values the test gives the dashboard's variables, as Grafana would interpolate them. */
const substitutions = (): ReadonlyArray<readonly [string, string]> => [
  ["$__rate_interval", "10s"],
  ["$__range", "20s"],
  ["$__interval", "1s"],
  ["$node", TEST_NODE],
  ["$instance", instance],
  ["$zone", "package"],
  ["$namespace", web.namespace],
  ["$pod", web.pod],
  ["$container", web.container]
]
const substitute = (text: string): string => substitutions().reduce((t, [k, v]) => t.replaceAll(k, v), text)

const dashboard = (): Dashboard => {
  if (!isDashboard(DASHBOARD)) throw new Error("deploy/grafana/joulemon.json is not a dashboard")
  return DASHBOARD
}
const queryPanels = (): ReadonlyArray<Panel> => dashboard().panels.filter((p) => p.type !== "row")

describe("the Grafana dashboard and the Prometheus rules against joulemon and a real Prometheus", () => {
  beforeAll(async () => {
    if (PROMETHEUS === undefined) return
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-dashboard-"))
    scope = Effect.runSync(Scope.make())
    const world = await Effect.runPromise(Scope.extend(kubeletWorld, scope))
    const bmc = await Effect.runPromise(
      Scope.extend(startRedfishServer({ tree: fixtureTree("public-rackmount") }), scope)
    )

    const burner = spawnBurner()
    const idle = [spawn("sleep", ["600"], { stdio: "ignore" }), spawn("sleep", ["600"], { stdio: "ignore" })]
    children.push(burner, ...idle)
    burnerPid = burner.pid ?? 0
    const [corednsPid, vmPid] = idle.map((c) => c.pid ?? 0)
    const webCgroup = podContainerCgroup(podUids.web, containerIds.nginx)
    overlay = makeProcOverlay(
      new Map(
        [
          [burnerPid, { _tag: "Container", cgroup: webCgroup }],
          [corednsPid ?? 0, { _tag: "Container", cgroup: podContainerCgroup(podUids.coredns, containerIds.coredns) }],
          [
            vmPid ?? 0,
            {
              _tag: "Vm",
              comm: "qemu-system-x86",
              cmdline: [
                "/usr/bin/qemu-system-x86_64",
                "-name",
                "guest=e2e-vm,debug-threads=on",
                "-uuid",
                "df12672f-fedb-4f6f-9d51-0166868835fb"
              ]
            }
          ],
          [process.pid, { _tag: "Plain" }]
        ] as const
      )
    )
    rapl = startRaplTree({ package: 40, dram: 8 })
    // Only the burner's container has a cgroup file; coredns's is missing (no short-lived share).
    cpuAccounting = startCpuAccounting(rapl.sysfs, overlay.procfs, { cgroup: webCgroup, pid: burnerPid }, [
      burnerPid,
      corednsPid ?? 0,
      vmPid ?? 0,
      process.pid
    ])

    const kubeconfig = writeKubeconfig(tmp, world)
    const bmcFile = path.join(tmp, "bmc.yaml")
    fs.writeFileSync(bmcFile, `nodes:\n  ${TEST_NODE}: bmc-1\nbmcs:\n  bmc-1:\n    endpoint: ${bmc.endpoint}\n`)
    const config = path.join(tmp, "joulemon.yaml")
    fs.writeFileSync(
      config,
      [
        "cpu:\n  preferredMeters: [rapl]",
        "monitor:\n  interval: 1s\n  staleness: 200ms\n  idlePolicy: cpu-share\n  shortLived: cgroup",
        `kube:\n  enabled: true\n  config: ${kubeconfig}\n  nodeName: ${TEST_NODE}`,
        `experimental:\n  platform:\n    redfish:\n      enabled: true\n      configFile: ${bmcFile}\n  gpu:\n    enabled: true`,
        ""
      ].join("\n")
    )
    const jPort = await freePort()
    instance = `127.0.0.1:${jPort}`
    // One GPU of the fake NVML library, time-sliced by the burner (pod web) and coredns; power ×
    // time, so its energy grows without the script changing.
    const nvmlScript = path.join(tmp, "nvml.txt")
    writeNvmlScript(nvmlScript, [{
      index: 0,
      uuid: "GPU-dashboard-0",
      name: "NVIDIA L4",
      powerMw: 60_000,
      energyMj: 0,
      energySupported: false,
      processes: [{ pid: burnerPid, smUtil: 80 }, { pid: corednsPid ?? 0, smUtil: 20 }]
    }])
    joulemon = startJoulemon([
      `--config.file=${config}`,
      `--host.sysfs=${rapl.sysfs}`,
      `--host.procfs=${overlay.procfs}`,
      `--web.listen-address=${instance}`
    ], { LD_LIBRARY_PATH: await buildFakeNvml(), FAKE_NVML_SCRIPT: nvmlScript })
    await waitForOutput(joulemon, (o) => o.includes("message=listening"))

    // The rule files as shipped, except that the once-a-minute groups are evaluated every second.
    const rules = fs
      .readdirSync(RULES_DIR)
      .filter((f) => f.endsWith(".rules.yml"))
      .map((f) => {
        const copy = path.join(tmp, f)
        fs.writeFileSync(
          copy,
          fs.readFileSync(path.join(RULES_DIR, f), "utf8").replaceAll("interval: 1m", "interval: 1s")
        )
        return copy
      })
    const pPort = await freePort()
    prometheusUrl = `http://127.0.0.1:${pPort}`
    const promConfig = path.join(tmp, "prometheus.yml")
    fs.writeFileSync(
      promConfig,
      [
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s",
        `rule_files: ${JSON.stringify(rules)}`,
        `scrape_configs:\n  - job_name: joulemon\n    static_configs:\n      - targets: ["${instance}"]`,
        ""
      ].join("\n")
    )
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${path.join(tmp, "data")}`,
        `--web.listen-address=127.0.0.1:${pPort}`
      ],
      { stdio: "ignore" }
    )
    // Enough samples for rate() over 10 s, with the pods and the BMC's power present.
    await until(
      "12 s of scrapes with pods and platform power",
      async () =>
        (await query("count_over_time(kepler_pod_cpu_watts[15s])")).length > 0 &&
        (await query("count_over_time(kepler_platform_watts[15s])")).length > 0 &&
        Number((await query("count_over_time(up[15s])"))[0]?.value[1]) >= 12,
      90_000
    )
  }, 120_000)

  afterAll(async () => {
    prometheus?.kill("SIGTERM")
    joulemon?.child.kill("SIGTERM")
    if (cpuAccounting !== undefined) clearInterval(cpuAccounting)
    for (const c of children) c.kill("SIGKILL")
    rapl?.stop()
    overlay?.remove()
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("has Prometheus installed (Debian: apt-get install prometheus)", () => {
    expect(PROMETHEUS).toBeDefined()
  })

  it("is a dashboard with a datasource variable and node, namespace, pod and container variables", () => {
    const vars = dashboard().templating.list
    expect(vars.find((v) => v.name === "datasource")?.type).toBe("datasource")
    for (const name of ["node", "namespace", "pod", "container"]) {
      expect(vars.find((v) => v.name === name)?.type).toBe("query")
    }
    // Every query goes to the chosen data source.
    expect(JSON.stringify(dashboard().panels)).not.toMatch(/"uid":\s*"(?!\$\{datasource\})/)
  })

  it("lists, in each variable, the value the panels are tested with", async () => {
    const chosen = new Map(substitutions().map(([k, v]) => [k.slice(1), v]))
    for (const v of dashboard().templating.list.filter((x) => x.type === "query")) {
      const q = typeof v.query === "object" && v.query !== null && "query" in v.query
        ? String(v.query.query)
        : String(v.query)
      const m = /^label_values\((.*),\s*(\w+)\)$/.exec(substitute(q))
      expect(m, `${v.name}: ${q}`).not.toBeNull()
      const [, selector = "", label = ""] = m ?? []
      const series = await api(
        "series",
        new URLSearchParams({ "match[]": selector, start: String(Date.now() / 1000 - 30) })
      )
      const values = Array.isArray(series) ? series.map((s: Record<string, string>) => s[label]) : []
      expect(values, `${v.name}: ${selector}`).toContain(chosen.get(v.name))
    }
  })

  it("has data for every query of every panel", async () => {
    const panels = queryPanels()
    expect(panels.length).toBeGreaterThanOrEqual(20)
    const empty: Array<string> = []
    for (const p of panels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0)
      for (const t of p.targets ?? []) {
        const expr = substitute(t.expr)
        expect(expr, p.title).not.toContain("$")
        if ((await query(expr)).length === 0) empty.push(`${p.title}: ${expr}`)
      }
    }
    expect(empty).toEqual([])
  })

  it("shows the burner as the top process and its pod and namespace with power, on the CPU and the GPU", async () => {
    const panel = (title: string) => substitute(queryPanels().find((p) => p.title === title)?.targets?.[0]?.expr ?? "")
    const processes = await query(panel("Top processes by power"))
    const top = processes.reduce((a, b) => (Number(b.value[1]) > Number(a.value[1]) ? b : a))
    expect(top.metric["pid"]).toBe(String(burnerPid))
    const pods = await query(panel("Top pods by power"))
    expect(pods.map((v) => v.metric["pod_name"])).toEqual([web.pod])
    expect(Number(pods[0]?.value[1])).toBeGreaterThan(0)
    const containers = await query(panel("Top containers by power"))
    expect(containers.map((v) => [v.metric["pod_namespace"], v.metric["container_name"]])).toEqual([[
      web.namespace,
      web.container
    ]])
    const gpuPods = await query(panel("Top pods by GPU power"))
    expect(gpuPods.map((v) => v.metric["pod_name"])).toEqual([web.pod])
    const gpuProcesses = await query(panel("Top processes by GPU energy over the period"))
    const topGpu = gpuProcesses.reduce((a, b) => (Number(b.value[1]) > Number(a.value[1]) ? b : a))
    expect(topGpu.metric["pid"]).toBe(String(burnerPid))
    const measured = await query(panel("Measured or estimated"))
    expect(measured.map((v) => v.value[1])).toEqual(measured.map(() => "0"))
  })

  it("books the container cgroup's work beyond the burner as the web pod's short-lived energy", async () => {
    const panel = (title: string) => substitute(queryPanels().find((p) => p.title === title)?.targets?.[0]?.expr ?? "")
    const pods = await query(panel("Short-lived power by pod"))
    expect(pods.map((v) => [v.metric["pod_namespace"], v.metric["pod_name"]])).toEqual([[web.namespace, web.pod]])
    expect(Number(pods[0]?.value[1])).toBeGreaterThan(0)
    const shares = await query(panel("Short-lived share of container energy"))
    expect(shares.map((v) => [v.metric["pod_namespace"], v.metric["pod_name"], v.metric["container_name"]])).toEqual([
      [web.namespace, web.pod, web.container]
    ])
    // Part of the container's energy, not all of it: the burner's own ticks are the rest.
    expect(Number(shares[0]?.value[1])).toBeGreaterThan(0)
    expect(Number(shares[0]?.value[1])).toBeLessThan(1)
  })

  it("evaluates every shipped rule without error, and every recording rule records data", async () => {
    const data = await api("rules", new URLSearchParams())
    const groups = typeof data === "object" && data !== null && "groups" in data && Array.isArray(data.groups)
      ? data.groups
      : []
    const rules: Array<{ name: string; type: string; health: string; lastError?: string }> = groups.flatMap(
      (g: { rules: Array<{ name: string; type: string; health: string; lastError?: string }> }) => g.rules
    )
    expect(rules.length).toBe(22)
    await until("every rule evaluated", async () => {
      const d = await api("rules", new URLSearchParams())
      return JSON.stringify(d).includes("\"health\":\"unknown\"") === false
    })
    const after = await api("rules", new URLSearchParams())
    const evaluated: Array<{ name: string; type: string; health: string; lastError?: string }> = (
      typeof after === "object" && after !== null && "groups" in after && Array.isArray(after.groups)
        ? after.groups
        : []
    ).flatMap((g: { rules: Array<{ name: string; type: string; health: string; lastError?: string }> }) => g.rules)
    expect(evaluated.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.lastError ?? r.health}`)).toEqual([])
    const emptyRecordings: Array<string> = []
    for (const r of evaluated.filter((x) => x.type === "recording")) {
      if ((await query(r.name)).length === 0) emptyRecordings.push(r.name)
    }
    expect(emptyRecordings).toEqual([])
  })

  it("fires none of the alerts on a healthy joulemon", async () => {
    const alerts = await query("ALERTS")
    expect(alerts.map((a) => a.metric["alertname"])).toEqual([])
  })
})
