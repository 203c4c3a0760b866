import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { createHash } from "node:crypto"
import { attribute, initialMonitorState, type MonitorState } from "../../src/monitor/attribute.js"
import { initialIdleAllocation } from "../../src/monitor/idleAllocation.js"
import {
  decodeCounterFile,
  encodeCounterFile,
  FORMAT_VERSION,
  payloadOf,
  type RejectReason,
  resumeIdle,
  resumeState
} from "../../src/state/counterFile.js"
import { energy, J, node, proc, reading, SECOND, zoneMeta } from "../support/readings.js"

const config = { maxPlausibleWatts: 5000, maxTerminated: 500, minTerminatedEnergy: J(1), primaryZone: 0 }
const zones = [zoneMeta("package", J(1_000_000)), zoneMeta("dram", J(1_000_000), 1)]
const owner = { bootId: "6f1b2c3d-boot", nodeName: "worker-7" }
const CONTAINER = "c0ffee"
const GONE = "deadbeef"

const step = (
  state: MonitorState,
  at: number,
  processes: Parameters<typeof reading>[1],
  extra: Parameters<typeof reading>[2] = {}
) =>
  attribute(
    state,
    {
      nowNanos: BigInt(at) * SECOND,
      timestamp: at * 1000,
      zones,
      samples: [energy(J(100 * at + 1)), energy(J(20 * at + 1))],
      resources: reading(node(50, 100), processes, extra),
      clearTerminated: false,
      selfPids: [7]
    },
    config
  )

/** Three intervals: a container, a VM, a pod, joulemon itself (pid 7), and a container that terminates. */
const history = (): MonitorState => {
  const containers = [
    { id: CONTAINER, name: "web", runtime: "docker" as const, podId: "pod-1" },
    { id: GONE, name: "batch", runtime: "containerd" as const, podId: "" }
  ]
  const vms = [{ id: "vm-1", name: "guest", hypervisor: "kvm" as const }]
  const pods = [{ id: "pod-1", name: "web-0", namespace: "shop" }]
  const all = (t: number) => [
    proc(7, 10, { cpuTicksTotal: 10 * t }),
    proc(20, 30, { containerId: CONTAINER }),
    proc(21, 40, { containerId: GONE }),
    proc(30, 20, { vmId: "vm-1" })
  ]
  let state = step(initialMonitorState(2), 0, all(0), { containers, vms, pods }).state
  state = step(state, 1, all(1), { containers, vms, pods }).state
  state = step(state, 2, all(2), { containers, vms, pods }).state
  return step(state, 3, all(3).filter((p) => p.pid !== 21), {
    containers: containers.slice(0, 1),
    vms,
    pods,
    terminated: { processes: ["21:1"], containers: [GONE] }
  }).state
}

const reject = (text: string, who = owner): RejectReason => {
  const decoded = decodeCounterFile(text, who)
  if (Either.isRight(decoded)) throw new Error("expected the file to be rejected")
  return decoded.left.reason
}

describe("counter file — encode, decode, resume", () => {
  const state = history()
  const text = encodeCounterFile(payloadOf(state, zones), owner, 1_700_000_000_000)

  it("keeps the idle allocation, resumed only under the policy it was saved with", () => {
    const idle = {
      policy: "cpu-share" as const,
      containers: new Map([[CONTAINER, [12_345_678_901_234_567n, 7n]]]),
      vms: new Map([["vm-1", [3n, 0n]]]),
      pods: new Map([["pod-1", [12_345_678_901_234_567n, 7n]]]),
      nodeLevel: [42n, 1n]
    }
    const decoded = decodeCounterFile(encodeCounterFile(payloadOf(state, zones, idle), owner, 0), owner)
    if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
    expect(resumeIdle(decoded.right, zones, "cpu-share")).toEqual(idle)
    // Under another policy the saved charges mean something else: a clean start.
    expect(resumeIdle(decoded.right, zones, "equal")).toEqual(initialIdleAllocation("equal"))
    // A file written without idle counters (older, or under none) still resumes, idle from 0.
    const plain = decodeCounterFile(text, owner)
    if (Either.isLeft(plain)) throw new Error(plain.left.message)
    expect(resumeIdle(plain.right, zones, "cpu-share")).toEqual(initialIdleAllocation("cpu-share"))
  })

  it("keeps the short-lived totals (monitor.shortLived: cgroup); an older file resumes without them", () => {
    const shortLived = {
      containers: new Map([[CONTAINER, [9_007_199_254_740_993n, 5n]], [GONE, [1n, 0n]]]),
      pods: new Map([["pod-1", [9_007_199_254_740_993n, 5n]]])
    }
    const decoded = decodeCounterFile(
      encodeCounterFile(payloadOf({ ...state, shortLived }, zones), owner, 0),
      owner
    )
    if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
    expect(resumeState(decoded.right, zones).shortLived).toEqual(shortLived)
    const plain = decodeCounterFile(text, owner)
    if (Either.isLeft(plain)) throw new Error(plain.left.message)
    expect(resumeState(plain.right, zones).shortLived).toBeUndefined()
  })

  it("round-trips exactly: the resumed state has every saved counter", () => {
    const decoded = decodeCounterFile(text, owner)
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isLeft(decoded)) return
    const resumed = resumeState(decoded.right, zones)
    expect(resumed.zones.map((z) => [z.energyTotal, z.activeEnergyTotal, z.idleEnergyTotal, z.unattributedEnergyTotal]))
      .toEqual(
        state.zones.map((z) => [z.energyTotal, z.activeEnergyTotal, z.idleEnergyTotal, z.unattributedEnergyTotal])
      )
    expect(resumed.zones[0]?.energyTotal).toBeGreaterThan(0n)
    expect(resumed.selfEnergy).toEqual(state.selfEnergy)
    expect(resumed.containers.get(CONTAINER)?.energy).toEqual(state.containers.get(CONTAINER)?.energy)
    expect(resumed.containerTicks.get(CONTAINER)).toBe(state.containerTicks.get(CONTAINER))
    expect(resumed.vms.get("vm-1")?.energy).toEqual(state.vms.get("vm-1")?.energy)
    expect(resumed.pods.get("pod-1")?.energy).toEqual(state.pods.get("pod-1")?.energy)
    expect(resumed.terminated.containers.map((c) => [c.id, c.energy])).toEqual(
      state.terminated.containers.map((c) => [c.id, c.energy])
    )
    expect(resumed.terminated.containers.map((c) => c.id)).toEqual([GONE])
    // Baselines unset: the first reading after the restart is a baseline again.
    expect(resumed.zones.every((z) => z.baseline === undefined)).toBe(true)
    // Processes are not kept (see counterFile.ts).
    expect(resumed.processes.size).toBe(0)
  })

  it("keeps big totals exact (bigint as decimal strings)", () => {
    const big = { ...state, zones: state.zones.map((z) => ({ ...z, energyTotal: 2n ** 70n + 1n })) }
    const decoded = decodeCounterFile(encodeCounterFile(payloadOf(big, zones), owner, 0), owner)
    expect(Either.map(decoded, (p) => p.zones.map((z) => z.energyTotal))).toEqual(
      Either.right([2n ** 70n + 1n, 2n ** 70n + 1n])
    )
  })

  it("a resumed state keeps counting up from the saved values", () => {
    const decoded = decodeCounterFile(text, owner)
    if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
    const resumed = resumeState(decoded.right, zones)
    const procs = [proc(7, 10), proc(20, 30, { containerId: CONTAINER }), proc(30, 20, { vmId: "vm-1" })]
    const extra = {
      containers: [{ id: CONTAINER, name: "web", runtime: "docker" as const, podId: "pod-1" }],
      vms: [{ id: "vm-1", name: "guest", hypervisor: "kvm" as const }],
      pods: [{ id: "pod-1", name: "web-0", namespace: "shop" }]
    }
    const first = step(resumed, 10, procs, extra)
    const second = step(first.state, 11, procs, extra).snapshot
    const before = (xs: ReadonlyArray<bigint> | undefined) => xs?.[0] ?? 0n
    expect(second.zones[0]?.energyTotal).toBeGreaterThan(state.zones[0]?.energyTotal ?? 0n)
    expect(before(second.containers.running.find((c) => c.id === CONTAINER)?.energy)).toBeGreaterThan(
      before(state.containers.get(CONTAINER)?.energy)
    )
    expect(before(second.pods.running.find((p) => p.id === "pod-1")?.energy)).toBeGreaterThan(
      before(state.pods.get("pod-1")?.energy)
    )
    expect(second.selfEnergy[0]).toBeGreaterThan(state.selfEnergy[0] ?? 0n)
    // The first snapshot after the restart already exports the saved totals.
    expect(first.snapshot.zones[0]?.energyTotal).toBe(state.zones[0]?.energyTotal)
  })

  it("matches zones by name and index: a zone the file does not know starts at 0", () => {
    const decoded = decodeCounterFile(text, owner)
    if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
    const other = [zoneMeta("core", 0n, 2), zoneMeta("package", J(1_000_000))]
    const resumed = resumeState(decoded.right, other)
    expect(resumed.zones.map((z) => z.energyTotal)).toEqual([0n, state.zones[0]?.energyTotal])
    expect(resumed.containers.get(CONTAINER)?.energy).toEqual([0n, state.containers.get(CONTAINER)?.energy[0]])
  })

  it("rejects a truncated file at every length", () => {
    for (const length of [0, 1, 20, Math.floor(text.length / 2), text.length - 3]) {
      expect(reject(text.slice(0, length))).toBe("truncated-or-corrupt")
    }
  })

  it("rejects a file whose payload was changed (checksum)", () => {
    const tampered = text.replace(
      /\\"energyTotal\\":\\"(\d)/,
      (_m, d: string) => `\\"energyTotal\\":\\"${(Number(d) + 1) % 10}`
    )
    expect(tampered).not.toBe(text)
    expect(reject(tampered)).toBe("checksum")
  })

  it("rejects garbage and a JSON document of another shape", () => {
    expect(reject("\u0000\u0000\u0000")).toBe("truncated-or-corrupt")
    expect(reject(JSON.stringify({ hello: "world" }))).toBe("truncated-or-corrupt")
  })

  it("rejects a file of another boot or another node, naming both", () => {
    expect(reject(text, { ...owner, bootId: "another-boot" })).toBe("foreign-boot")
    expect(reject(text, { ...owner, nodeName: "worker-8" })).toBe("foreign-node")
    const decoded = decodeCounterFile(text, { ...owner, bootId: "another-boot" })
    expect(Either.isLeft(decoded) ? decoded.left.message : "").toBe(
      "written during another boot (boot id 6f1b2c3d-boot, this boot another-boot)"
    )
  })

  it("rejects a newer format version, saying so", () => {
    const future = text.replace(`"version":${FORMAT_VERSION}`, `"version":${FORMAT_VERSION + 1}`)
    expect(future).not.toBe(text)
    expect(reject(future)).toBe("future-version")
  })

  it("rejects a payload that decodes but breaks the schema (a negative energy), even with a valid checksum", () => {
    const payload = payloadOf(state, zones)
    const good = encodeCounterFile(payload, owner, 0)
    const bad = good.replace(/\\"selfEnergy\\":\[\\"/, "\\\"selfEnergy\\\":[\\\"-")
    expect(bad).not.toBe(good)
    // Re-checksum so only the schema can catch it.
    const envelope = JSON.parse(bad) as { payload: string; sha256: string }
    envelope.sha256 = createHash("sha256").update(envelope.payload).digest("hex")
    expect(reject(JSON.stringify(envelope))).toBe("truncated-or-corrupt")
  })
})
