/**
 * `joulemon record` with Kubernetes on, through the real binary (issue 14): a fake API server and
 * kubelet serve the pod list, two pods' containers burn CPU time and one pod ends mid-recording.
 * The replay applies the pods the informer answered as the live run did, so the pod families,
 * the terminated pod and the `requests` idle split replay byte for byte, twice, and equal the
 * live scrapes.
 */
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { containerIds, podUids, TEST_NODE } from "../k8s/fakeKube.js"
import { kubeletWorld, writeKubeconfig } from "../k8s/support.js"
import { cpuAfterRounds } from "../resource/procDir.js"
import { type Running, startOverTrees, withTimeout } from "../support/binary.js"
import { parseSamples } from "../support/exposition.js"
import { podContainerCgroup } from "../support/procOverlay.js"
import { makeProcTree, type ProcTree } from "../support/procTree.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"
import { bySeries, refreshesOf, replayTo } from "../support/replay.js"

let rapl: RaplTree
let tree: ProcTree
let tmp = ""
let scope: Scope.CloseableScope
let kubeconfig = ""
const started: Array<Running> = []

let round = 0
const advance = () => {
  round++
  tree.setProcess({
    pid: 200,
    comm: "nginx",
    utime: 6 * round,
    stime: round,
    startTime: 300,
    exe: "/usr/sbin/nginx",
    cgroup: podContainerCgroup(podUids.web, containerIds.nginx)
  })
  // coredns's pod ends after round 2: its container's last process exits.
  if (round <= 2) {
    tree.setProcess({
      pid: 201,
      comm: "coredns",
      utime: 3 * round,
      stime: 0,
      startTime: 301,
      exe: "/coredns",
      cgroup: podContainerCgroup(podUids.coredns, containerIds.coredns)
    })
  } else fs.rmSync(path.join(tree.procfs, "201"), { recursive: true, force: true })
  tree.setProcess({ pid: 202, comm: "cron", utime: 2 * round, stime: 0, startTime: 302, exe: "/usr/sbin/cron" })
  tree.setCpu(cpuAfterRounds(round))
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-record-pods-"))
  scope = Effect.runSync(Scope.make())
  const world = await Effect.runPromise(Scope.extend(kubeletWorld, scope))
  kubeconfig = writeKubeconfig(tmp, world)
  rapl = startRaplTree({ package: 30 })
  tree = makeProcTree(cpuAfterRounds(0))
  advance()
})

afterAll(async () => {
  for (const r of started) r.child.kill("SIGKILL")
  rapl?.stop()
  tree?.remove()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
})

describe("joulemon record and replay with Kubernetes on", () => {
  it("records the pods the informer found and replays pod attribution as it was live", async () => {
    const recording = path.join(tmp, "pods.jl.gz")
    const { joulemon, url } = await startOverTrees(tmp, { sysfs: rapl.sysfs, procfs: tree.procfs }, {
      yaml:
        `  idlePolicy: requests\n  minTerminatedEnergyThreshold: 0\nkube:\n  enabled: true\n  config: ${kubeconfig}\n  nodeName: ${TEST_NODE}\n`,
      args: ["record", "--out", recording]
    })
    started.push(joulemon)
    const live: Array<string> = []
    for (let i = 0; i < 4; i++) {
      advance()
      const res = await fetch(`${url}/metrics`)
      expect(res.status).toBe(200)
      live.push(await res.text())
    }
    joulemon.child.kill("SIGTERM")
    expect((await withTimeout(joulemon.exited, 10_000, "record exit")).code, joulemon.output()).toBe(0)
    const raw = zlib.gunzipSync(fs.readFileSync(recording)).toString("utf8")
    expect(raw).toContain(`"podName":"web-6c7f9d8b5-q2w4e"`)

    const first = await replayTo(recording, path.join(tmp, "pods-1.prom"), started)
    expect(await replayTo(recording, path.join(tmp, "pods-2.prom"), started)).toBe(first)
    const replayed = refreshesOf(first)
    expect(replayed.length).toBe(live.length + 1)
    const families = new Set(parseSamples(first).map((s) => s.name))
    for (const [i, scrape] of live.entries()) {
      expect(bySeries(replayed[i + 1] ?? ""), `scrape ${i + 1}`).toEqual(bySeries(scrape, families))
    }
    const podSeries = (text: string, name: string, pod: string, state: string) =>
      parseSamples(text).filter((s) => s.name === name && s.labels["pod_name"] === pod && s.labels["state"] === state)
    const last = replayed.at(-1) ?? ""
    expect(podSeries(last, "kepler_pod_cpu_joules_total", "web-6c7f9d8b5-q2w4e", "running").length).toBeGreaterThan(0)
    // coredns's process exits before the second scrape (replayed[0] is the startup refresh).
    const ended = replayed[2] ?? ""
    expect(podSeries(ended, "kepler_pod_cpu_joules_total", "coredns-5d78c9869d-7xk2p", "running")).toEqual([])
    expect(podSeries(ended, "kepler_pod_cpu_joules_total", "coredns-5d78c9869d-7xk2p", "terminated").length)
      .toBeGreaterThan(0)
    // Idle by CPU requests: the web pod's share is in the replay, so the requests were replayed.
    const webIdle = podSeries(last, "joulemon_pod_cpu_idle_joules_total", "web-6c7f9d8b5-q2w4e", "running")
    expect(webIdle.length).toBeGreaterThan(0)
    expect(webIdle.every((s) => s.value > 0)).toBe(true)
  }, 90_000)
})
