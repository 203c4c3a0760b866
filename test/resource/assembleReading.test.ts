import { describe, expect, it } from "@effect/vitest"
import { assembleReading, type InformerState, initialInformerState } from "../../src/resource/assembleReading.js"
import type { Classification } from "../../src/resource/classify.js"
import type { ScanOutcome, TrackedProcess, UnreadableFile } from "../../src/resource/procfsScan.js"
import type { CpuTimes } from "../../src/resource/procStat.js"

const CID = "c".repeat(64)
const OTHER_CID = "d".repeat(64)

const container = (id: string, name: string): Classification => ({
  type: "container",
  container: { runtime: "docker", id, name }
})
const vm = (id: string, name: string): Classification => ({ type: "vm", vm: { hypervisor: "kvm", id, name } })
const regular: Classification = { type: "regular" }

const tracked = (
  pid: number,
  startTime: number,
  delta: number,
  classification: Classification = regular
): TrackedProcess => ({
  info: {
    key: `${pid}:${startTime}`,
    pid,
    startTime,
    comm: `p${pid}`,
    exe: "",
    type: classification.type,
    containerId: classification.type === "container" ? classification.container.id : "",
    vmId: classification.type === "vm" ? classification.vm.id : "",
    cpuTicksTotal: 1000 + delta,
    cpuTicksDelta: delta,
    firstSeen: false
  },
  statPath: `/proc/${pid}/stat`,
  statComm: `p${pid}`,
  classification,
  cgroup: undefined
})

const running = (p: TrackedProcess, unreadable: ReadonlyArray<UnreadableFile> = []): ScanOutcome => ({
  _tag: "Running",
  process: p,
  unreadable
})

const cpu = (active: number, total: number): CpuTimes => ({ activeTicks: active, totalTicks: total, cpuCount: 2 })

/** Feeds successive scans through the assembler, as the informer does. */
const sequence = (scans: ReadonlyArray<{ cpu: CpuTimes; outcomes: ReadonlyArray<ScanOutcome> }>) => {
  let state: InformerState = initialInformerState
  return scans.map(({ cpu: c, outcomes }) => {
    const a = assembleReading(state, c, outcomes)
    state = a.next
    return a
  })
}

describe("assembleReading", () => {
  it("node: first reading is 0/0 with ratio 0, then deltas of the aggregate line", () => {
    const [first, second] = sequence([
      { cpu: cpu(1000, 5000), outcomes: [] },
      { cpu: cpu(1600, 6000), outcomes: [] }
    ])
    expect(first?.reading.node).toEqual({ first: true, activeTicks: 0, totalTicks: 0, usageRatio: 0, cpuCount: 2 })
    expect(second?.reading.node).toEqual({
      first: false,
      activeTicks: 600,
      totalTicks: 1000,
      usageRatio: 0.6,
      cpuCount: 2
    })
  })

  it("a process, container and VM that go away are terminated for exactly one refresh", () => {
    const a = tracked(10, 1, 5)
    const b = tracked(20, 1, 10, container(CID, "web"))
    const c = tracked(30, 1, 7, vm("vm-1", "guest"))
    const readings = sequence([
      { cpu: cpu(0, 0), outcomes: [running(a), running(b), running(c)] },
      { cpu: cpu(0, 0), outcomes: [running(a)] },
      { cpu: cpu(0, 0), outcomes: [running(a)] }
    ]).map((x) => x.reading)
    expect(readings[0]?.terminated).toEqual({ processes: [], containers: [], vms: [], pods: [] })
    expect(readings[1]?.terminated).toEqual({ processes: ["20:1", "30:1"], containers: [CID], vms: ["vm-1"], pods: [] })
    expect(readings[2]?.terminated).toEqual({ processes: [], containers: [], vms: [], pods: [] })
    expect([...(readings[1]?.containers.keys() ?? [])]).toEqual([])
  })

  it("a container's info is fixed when first seen, even after its first process exits", () => {
    const first = tracked(10, 1, 1, container(CID, "named-by-10"))
    const second = tracked(11, 1, 1, container(CID, "named-by-11"))
    const readings = sequence([
      { cpu: cpu(0, 0), outcomes: [running(first), running(second)] },
      { cpu: cpu(0, 0), outcomes: [running(second)] }
    ]).map((x) => x.reading)
    const expected = { id: CID, name: "named-by-10", runtime: "docker", podId: "" }
    expect(readings[0]?.containers.get(CID)).toEqual(expected)
    expect(readings[1]?.containers.get(CID)).toEqual(expected)
    expect(readings[1]?.terminated.containers).toEqual([])
  })

  it("the lowest pid names a container seen for the first time", () => {
    const [r] = sequence([{
      cpu: cpu(0, 0),
      outcomes: [
        running(tracked(5, 1, 0, container(OTHER_CID, "five"))),
        running(tracked(9, 1, 0, container(OTHER_CID, "nine")))
      ]
    }])
    expect(r?.reading.containers.get(OTHER_CID)?.name).toBe("five")
  })

  it("PID reuse: the old key is terminated while the pid runs on under a new key", () => {
    const readings = sequence([
      { cpu: cpu(0, 0), outcomes: [running(tracked(10, 1, 5))] },
      { cpu: cpu(0, 0), outcomes: [running(tracked(10, 2, 3))] }
    ]).map((x) => x.reading)
    expect(readings[1]?.terminated.processes).toEqual(["10:1"])
    expect(readings[1]?.processes.map((p) => p.key)).toEqual(["10:2"])
  })

  it("counts vanished processes and unreadable files", () => {
    const [r] = sequence([{
      cpu: cpu(0, 0),
      outcomes: [
        running(tracked(1, 1, 0), [{ file: "environ", reason: "EACCES" }, { file: "exe", reason: "EACCES" }]),
        { _tag: "Vanished" },
        { _tag: "Unidentified", pid: 3, unreadable: { file: "stat", reason: "EACCES" } },
        { _tag: "Vanished" }
      ]
    }])
    expect(r?.reading.stats).toEqual({ processesScanned: 4, processesVanished: 2, unreadableFiles: 3 })
    expect(r?.reading.processes.map((p) => p.pid)).toEqual([1])
  })

  it("asks to log an unreadable file once per (process, file), and again for a new incarnation", () => {
    const environ: UnreadableFile = { file: "environ", reason: "EACCES" }
    const exe: UnreadableFile = { file: "exe", reason: "EPERM" }
    const logged = sequence([
      { cpu: cpu(0, 0), outcomes: [running(tracked(7, 1, 0), [environ])] },
      { cpu: cpu(0, 0), outcomes: [running(tracked(7, 1, 0), [environ, exe])] },
      // readable this time: the marks stay while the process runs
      { cpu: cpu(0, 0), outcomes: [running(tracked(7, 1, 0))] },
      { cpu: cpu(0, 0), outcomes: [running(tracked(7, 1, 0), [environ, exe])] },
      // the pid now belongs to another process: its files are news
      { cpu: cpu(0, 0), outcomes: [running(tracked(7, 2, 0), [environ])] }
    ]).map((x) => x.toLog.map((e) => `${e.key} ${e.file} ${e.reason}`))
    expect(logged).toEqual([["7:1 environ EACCES"], ["7:1 exe EPERM"], [], [], ["7:2 environ EACCES"]])
  })

  it("forgets the marks of processes that are gone", () => {
    const environ: UnreadableFile = { file: "environ", reason: "EACCES" }
    const results = sequence([
      { cpu: cpu(0, 0), outcomes: [running(tracked(7, 1, 0), [environ])] },
      { cpu: cpu(0, 0), outcomes: [] }
    ])
    expect(results[0]?.next.logged.size).toBe(1)
    expect(results[1]?.next.logged.size).toBe(0)
  })

  it("logs a pid whose stat is unreadable once while it stays unidentified", () => {
    const unidentified: ScanOutcome = { _tag: "Unidentified", pid: 9, unreadable: { file: "stat", reason: "EACCES" } }
    const results = sequence([
      { cpu: cpu(0, 0), outcomes: [unidentified] },
      { cpu: cpu(0, 0), outcomes: [unidentified] },
      { cpu: cpu(0, 0), outcomes: [] },
      { cpu: cpu(0, 0), outcomes: [unidentified] }
    ])
    expect(results.map((r) => r.toLog.length)).toEqual([1, 0, 0, 1])
    expect(results.map((r) => r.reading.stats.unreadableFiles)).toEqual([1, 1, 0, 1])
  })
})
