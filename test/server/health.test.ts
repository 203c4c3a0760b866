import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Layer, Option, Ref } from "effect"
import type { NodeZone, Snapshot } from "../../src/monitor/snapshot.js"
import { readiness } from "../../src/server/health.js"
import { testConfig } from "../support/config.js"
import { freePort, waitForHttp } from "../support/ports.js"
import { makeCoreControls, webUnderTest } from "../support/webHarness.js"

const zone = (name: string, status: NodeZone["status"], error = ""): NodeZone => ({
  name,
  index: 0,
  path: name,
  estimated: false,
  energyTotal: 0n,
  activeEnergyTotal: 0n,
  idleEnergyTotal: 0n,
  unattributedEnergyTotal: 0n,
  watts: 0,
  activeWatts: 0,
  idleWatts: 0,
  intervalEnergy: 0n,
  intervalActiveEnergy: 0n,
  intervalSeconds: 0,
  status,
  error,
  wraps: 0,
  glitches: 0,
  readErrors: 0,
  resets: 0
})
const snap = (timestamp: number, zones: ReadonlyArray<NodeZone>): Snapshot => ({
  timestamp,
  sequence: 1,
  usageRatio: 0,
  zones,
  primaryZone: 0,
  processes: { running: [], terminated: [] },
  containers: { running: [], terminated: [] },
  vms: { running: [], terminated: [] },
  pods: { running: [], terminated: [] },
  selfEnergy: [],
  scan: { processesScanned: 0, processesVanished: 0, unreadableFiles: 0 }
})
const ok = { lastError: Option.none<string>() }

describe("readiness", () => {
  it("is not ready before the first snapshot", () => {
    expect(readiness(Option.none(), ok, 0, 5000)).toEqual({
      ready: false,
      reason: "no snapshot yet: the first refresh has not completed"
    })
  })
  it("is ready with a recent snapshot whose zones answer", () => {
    expect(readiness(Option.some(snap(1000, [zone("package", "ok")])), ok, 6000, 5000)).toEqual({
      ready: true,
      reason: "ok"
    })
  })
  it("is not ready when the snapshot is more than three intervals old", () => {
    const r = readiness(Option.some(snap(0, [zone("package", "ok")])), ok, 16_001, 5000)
    expect(r.ready).toBe(false)
    expect(r.reason).toBe("the latest snapshot is 16.0s old (monitor.interval is 5s)")
  })
  it("ignores age in on-demand mode (interval 0)", () => {
    expect(readiness(Option.some(snap(0, [zone("package", "ok")])), ok, 10_000_000, 0).ready).toBe(true)
  })
  it("is not ready when the last refresh failed", () => {
    const r = readiness(
      Option.some(snap(0, [zone("package", "ok")])),
      { lastError: Option.some("cannot read /proc/stat: EACCES") },
      1,
      5000
    )
    expect(r).toEqual({ ready: false, reason: "last refresh failed: cannot read /proc/stat: EACCES" })
  })
  it("is not ready when no zone can be read, ready but degraded when some can", () => {
    expect(
      readiness(
        Option.some(snap(0, [zone("package", "read-error", "EIO"), zone("dram", "read-error", "EIO")])),
        ok,
        1,
        5000
      )
    ).toEqual({
      ready: false,
      reason: "no energy zone could be read: package: EIO; dram: EIO"
    })
    expect(readiness(Option.some(snap(0, [zone("package", "ok"), zone("dram", "read-error", "EIO")])), ok, 1, 5000))
      .toEqual({
        ready: true,
        reason: "degraded: dram: EIO"
      })
  })
})

describe("/healthz and /readyz over a real socket", () => {
  it.live("/readyz goes 503 → 200 as the first snapshot lands, and 503 when the device stops answering", () =>
    Effect.gen(function*() {
      const controls = yield* makeCoreControls
      const gate = yield* Deferred.make<void>()
      yield* Ref.set(controls.informer.gate, Option.some(gate))
      const port = yield* Effect.promise(freePort)
      const base = `http://127.0.0.1:${port}`
      const config = testConfig({
        web: { listenAddresses: [`127.0.0.1:${port}`] },
        monitor: { interval: Duration.millis(200), staleness: Duration.millis(100) }
      })
      yield* Layer.launch(webUnderTest(config, controls)).pipe(Effect.forkScoped)
      yield* waitForHttp(`${base}/healthz`)
      const get = (path: string) =>
        Effect.promise(() => fetch(`${base}${path}`).then(async (r) => ({ status: r.status, body: await r.text() })))

      expect(yield* get("/healthz")).toEqual({ status: 200, body: "ok\n" })
      const before = yield* get("/readyz")
      expect(before.status).toBe(503)
      expect(before.body).toContain("no snapshot yet")

      yield* Ref.set(controls.informer.gate, Option.none())
      yield* Deferred.succeed(gate, undefined)
      const poll = (until: number) =>
        get("/readyz").pipe(
          Effect.tap(() => Effect.sleep("20 millis")),
          Effect.repeat({ until: (r) => r.status === until, times: 200 })
        )
      expect((yield* poll(200)).status).toBe(200)

      yield* Ref.set(controls.deviceBroken, true)
      const broken = yield* poll(503)
      expect(broken.status).toBe(503)
      expect(broken.body).toBe(
        "no energy zone could be read: package: cannot read zone package (/fake/package): EIO: device not answering; dram: cannot read zone dram (/fake/dram): EIO: device not answering\n"
      )
    }).pipe(Effect.scoped))
})
