import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Duration, Effect, HashMap, Layer, Logger, LogLevel } from "effect"
import * as path from "node:path"
import { AppConfig, type JoulemonConfig } from "../../src/config/Config.js"
import { platformFamilies } from "../../src/exporter/prometheus/platformFamilies.js"
import { renderFamilies } from "../../src/exporter/prometheus/render.js"
import type { BmcDetail } from "../../src/platform/bmcConfig.js"
import {
  makeRedfishPlatformPower,
  PlatformPower,
  PlatformPowerLive,
  type PlatformReading,
  redfishNodeName,
  type RedfishPlatformOptions,
  redfishTimings
} from "../../src/platform/PlatformPower.js"
import { makeTree } from "../device/tempTree.js"
import { testConfig } from "../support/config.js"
import { fixtureTree, type RedfishServer, startRedfishServer } from "./redfishServer.js"

const CREDS = { username: "kepler-reader", password: "s3cr3t-Pa55w0rd" }

interface LogLine {
  readonly level: string
  readonly text: string
}

/** Every log line at every level, message, cause and annotations flattened to text. */
const recordLogs = (lines: Array<LogLine>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message, annotations, cause }) => {
      const parts = [
        ...(Array.isArray(message) ? message : [message]).map(String),
        Cause.pretty(cause),
        JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))
      ]
      lines.push({ level: logLevel.label, text: parts.join(" | ") })
    })
  )

const options = (
  server: RedfishServer,
  over: Partial<RedfishPlatformOptions> = {},
  bmc: Partial<BmcDetail> = {}
): RedfishPlatformOptions => ({
  nodeName: "worker-1",
  bmcId: "bmc-1",
  bmc: {
    endpoint: server.endpoint,
    username: CREDS.username,
    password: CREDS.password,
    insecure: false,
    auth: "session",
    ...bmc
  },
  httpTimeout: Duration.millis(300),
  pollEvery: Duration.millis(100),
  expireAfter: Duration.seconds(30),
  backoff: { initial: Duration.millis(50), max: Duration.millis(200) },
  ...over
})

/** Real-time polling until `check` holds (the BMC is a real server). */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.repeat(Effect.zipRight(Effect.sleep(Duration.millis(20)), check), { until: (ok) => ok }).pipe(
    Effect.timeout(Duration.seconds(15)),
    Effect.orDie
  )

const wattsSeries = (readings: ReadonlyArray<PlatformReading>) =>
  Array.from(
    platformFamilies(readings).find((f) => f.name === "kepler_platform_watts")?.samples ?? [],
    (s) => [...s.labels, s.value]
  )

describe("PlatformPower over a Redfish BMC", () => {
  it.scopedLive("public-rackmount: kepler_platform_watts per power supply, joules growing", () =>
    Effect.gen(function*() {
      const server = yield* startRedfishServer({ tree: fixtureTree("public-rackmount"), credentials: CREDS })
      const service = yield* makeRedfishPlatformPower(options(server))
      yield* eventually(Effect.map(service.readings, (r) => r.length > 0))
      const first = yield* service.readings
      expect(wattsSeries(first)).toEqual([
        ["redfish", "worker-1", "bmc-1", "1U", "PS1", "Power Supply 1", "PowerSupply", 268],
        ["redfish", "worker-1", "bmc-1", "1U", "PS2", "Power Supply 2", "PowerSupply", 25],
        ["redfish", "worker-1", "bmc-1", "2U", "PS1", "Power Supply 1", "PowerSupply", 378],
        ["redfish", "worker-1", "bmc-1", "2U", "PS2", "Power Supply 2", "PowerSupply", 25],
        ["redfish", "worker-1", "bmc-1", "4U", "PS1", "Power Supply 1", "PowerSupply", 488],
        ["redfish", "worker-1", "bmc-1", "4U", "PS2", "Power Supply 2", "PowerSupply", 25]
      ])
      // The counter integrates between polls; exact values depend on real time, so check growth
      // and that it is consistent with the watts (µJ exact, joules derived).
      yield* eventually(Effect.map(service.readings, (r) => (r[0]?.microjoulesTotal ?? 0n) > 0n))
      const later = yield* service.readings
      later.forEach((r, i) => {
        expect(r.microjoulesTotal).toBeGreaterThanOrEqual(first[i]?.microjoulesTotal ?? 0n)
        expect(r.joulesTotal).toBe(Number(r.microjoulesTotal) / 1e6)
      })
      const ps1 = later[0]?.microjoulesTotal ?? 0n
      const ps2 = later[1]?.microjoulesTotal ?? 0n
      // Same intervals, 268 W vs 25 W: PS1's energy is 268/25 of PS2's, to within one µJ per poll.
      expect(Number(ps1) / Number(ps2)).toBeCloseTo(268 / 25, 2)
    }))

  it.scopedLive("legacy-only: the fallback gives PowerControl series", () =>
    Effect.gen(function*() {
      const server = yield* startRedfishServer({ tree: fixtureTree("legacy-only"), credentials: CREDS })
      const service = yield* makeRedfishPlatformPower(options(server))
      yield* eventually(Effect.map(service.readings, (r) => r.length > 0))
      expect(wattsSeries(yield* service.readings)).toEqual([
        ["redfish", "worker-1", "bmc-1", "1U", "0", "Server Power Control", "PowerControl", 344],
        ["redfish", "worker-1", "bmc-1", "1U", "1", "Chassis Power Control", "PowerControl", 45],
        ["redfish", "worker-1", "bmc-1", "2U", "0", "Server Power Control", "PowerControl", 450],
        ["redfish", "worker-1", "bmc-1", "2U", "1", "Chassis Power Control", "PowerControl", 65],
        ["redfish", "worker-1", "bmc-1", "4U", "0", "Server Power Control", "PowerControl", 750],
        ["redfish", "worker-1", "bmc-1", "4U", "1", "Chassis Power Control", "PowerControl", 95]
      ])
    }))

  it.scopedLive("a hung BMC: readings answers at once (empty, then the cache) while requests hang; the timeout is logged", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const server = yield* startRedfishServer({ tree: fixtureTree("public-rackmount"), credentials: CREDS })
      server.misbehave("hang", (p) => p.startsWith("/redfish/v1/Chassis"))
      // A longer timeout than the other tests, so "still hanging" checks are far from its end.
      const service = yield* makeRedfishPlatformPower(options(server, { httpTimeout: Duration.seconds(1) })).pipe(
        Effect.provide(recordLogs(lines))
      )

      // Before any data: a request is held by the BMC, and readings returns regardless.
      yield* eventually(Effect.sync(() => server.hanging() > 0))
      expect(yield* service.readings).toEqual([])
      expect(server.hanging()).toBeGreaterThan(0)
      // The poll gives up after httpTimeout, says why, and retries.
      yield* eventually(Effect.sync(() => lines.some((l) => l.text.includes("no answer within 1s"))))
      expect(lines.find((l) => l.text.includes("no answer within 1s"))?.level).toBe("WARN")
      // The timed-out request was aborted: the BMC sees the connection close.
      yield* eventually(Effect.sync(() => server.abandoned() > 0))

      // The BMC recovers: readings fill, the recovery is logged.
      server.release()
      yield* eventually(Effect.map(service.readings, (r) => r.length === 6))
      yield* eventually(
        Effect.sync(() => lines.some((l) => l.text.includes("Redfish platform power readings restored")))
      )

      // It hangs again with data cached: readings keeps answering with the last values.
      const cached = yield* service.readings
      server.misbehave("hang", (p) => p.startsWith("/redfish/v1/Chassis"))
      yield* eventually(Effect.sync(() => server.hanging() > 0))
      const during = yield* service.readings
      expect(server.hanging()).toBeGreaterThan(0)
      expect(during.map((r) => [r.chassisId, r.sourceId, r.watts])).toEqual(
        cached.map((r) => [r.chassisId, r.sourceId, r.watts])
      )
      server.release()
    }))

  it.scopedLive("series disappear once the last good poll is older than expireAfter", () =>
    Effect.gen(function*() {
      const server = yield* startRedfishServer({ tree: fixtureTree("public-rackmount") })
      const service = yield* makeRedfishPlatformPower(
        options(server, { expireAfter: Duration.millis(400) }, { username: "", password: "" })
      )
      yield* eventually(Effect.map(service.readings, (r) => r.length === 6))
      server.misbehave("not-found")
      yield* eventually(Effect.map(service.readings, (r) => r.length === 0))
      server.misbehave(undefined)
      yield* eventually(Effect.map(service.readings, (r) => r.length === 6))
    }))

  const failing = [
    ["answers 401", "unauthorized", "authentication failed (HTTP 401): check the username and password of BMC bmc-1"],
    ["returns garbage", "garbage", "the answer is not valid JSON"]
  ] as const
  for (const [what, how, reason] of failing) {
    it.scopedLive(`a BMC that ${what}: no series, the reason logged`, () =>
      Effect.gen(function*() {
        const lines: Array<LogLine> = []
        const server = yield* startRedfishServer({ tree: fixtureTree("public-rackmount"), credentials: CREDS })
        server.misbehave(how, (p) => p.startsWith("/redfish/v1/Chassis"))
        const service = yield* makeRedfishPlatformPower(options(server)).pipe(
          Effect.provide(recordLogs(lines)),
          Logger.withMinimumLogLevel(LogLevel.Debug)
        )
        yield* eventually(Effect.sync(() => lines.some((l) => l.text.includes(reason))))
        expect(yield* service.readings).toEqual([])
        expect(platformFamilies(yield* service.readings)).toEqual([])
        // A repeated failure is logged once at WARN, then at DEBUG.
        yield* eventually(Effect.sync(() => lines.filter((l) => l.text.includes(reason)).length >= 3))
        expect(lines.filter((l) => l.text.includes(reason) && l.level === "WARN")).toHaveLength(1)
      }))
  }

  it.scopedLive("credentials and session tokens never reach logs, errors or metrics", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const server = yield* startRedfishServer({ tree: fixtureTree("public-rackmount"), credentials: CREDS })
      yield* Effect.gen(function*() {
        // Session auth that works, a session that expires, a BMC that refuses, then recovers.
        const service = yield* makeRedfishPlatformPower(options(server))
        yield* eventually(Effect.map(service.readings, (r) => r.length === 6))
        server.expireSessions()
        server.misbehave("unauthorized", (p) => p.startsWith("/redfish/v1/Chassis"))
        yield* eventually(Effect.sync(() => lines.some((l) => l.text.includes("authentication failed"))))
        server.misbehave(undefined)
        yield* eventually(Effect.sync(() => lines.some((l) => l.text.includes("restored"))))
        const readings = yield* service.readings
        const text = yield* Effect.promise(() => renderFamilies(platformFamilies(readings), "prometheus"))
        expect(text).toContain(
          "kepler_platform_watts{source=\"redfish\",node_name=\"worker-1\",bmc_id=\"bmc-1\",chassis_id=\"1U\",source_id=\"PS1\""
        )
        for (const secret of [CREDS.password, CREDS.username, ...server.issuedTokens()]) {
          expect(text).not.toContain(secret)
        }
      }).pipe(Effect.provide(recordLogs(lines)), Logger.withMinimumLogLevel(LogLevel.All))

      expect(server.issuedTokens().length).toBeGreaterThanOrEqual(2)
      expect(lines.some((l) => l.level === "DEBUG" || l.level === "WARN")).toBe(true)
      for (const line of lines) {
        for (const secret of [CREDS.password, CREDS.username, ...server.issuedTokens()]) {
          expect(line.text).not.toContain(secret)
        }
      }
    }))
})

describe("PlatformPowerLive", () => {
  const withRedfish = (
    over: Partial<JoulemonConfig["experimental"]["platform"]["redfish"]>,
    kubeNodeName = "worker-1"
  ) =>
    testConfig({
      kube: { nodeName: kubeNodeName },
      experimental: { platform: { redfish: { enabled: true, ...over } } }
    })

  /** Builds the layer in the test's scope, so its polling fiber lives as long as the test. */
  const build = (config: JoulemonConfig) =>
    Effect.map(
      Layer.build(PlatformPowerLive.pipe(Layer.provide(Layer.succeed(AppConfig, config)))),
      (ctx) => Context.get(ctx, PlatformPower)
    )

  it.scopedLive("disabled: a no-op that returns no readings", () =>
    Effect.gen(function*() {
      const service = yield* build(testConfig())
      expect(yield* service.readings).toEqual([])
    }))

  it.scopedLive("enabled: reads the BMC file, picks the node's BMC (kube.nodeName) and polls it", () =>
    Effect.gen(function*() {
      const server = yield* startRedfishServer({ tree: fixtureTree("legacy-only"), credentials: CREDS })
      const root = yield* makeTree({
        "bmc.yaml": [
          "nodes:",
          "  worker-1: lab-bmc",
          "bmcs:",
          "  lab-bmc:",
          `    endpoint: ${server.endpoint}`,
          `    username: ${CREDS.username}`,
          `    password: ${CREDS.password}`
        ].join("\n")
      })
      const lines: Array<LogLine> = []
      const service = yield* build(withRedfish({ configFile: path.join(root, "bmc.yaml") })).pipe(
        Effect.provide(recordLogs(lines))
      )
      yield* eventually(Effect.map(service.readings, (r) => r.length === 6))
      const [first] = yield* service.readings
      expect([first?.nodeName, first?.bmcId, first?.sourceType]).toEqual(["worker-1", "lab-bmc", "PowerControl"])
      const started = lines.find((l) => l.text.startsWith("using EXPERIMENTAL Redfish platform power"))
      expect(started?.text).toContain(`"endpoint":"${server.endpoint}"`)
      expect(started?.text).not.toContain(CREDS.password)
    }))

  it.scopedLive("a BMC file problem or an unknown node stops startup with its message", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({
        "bad.yaml": `nodes: {worker-1: b}\nbmcs: {b: {endpoint: 'https://x', username: u}}\n`,
        "other.yaml": `nodes: {worker-9: b}\nbmcs: {b: {endpoint: 'https://x'}}\n`
      })
      const bad = yield* Effect.flip(build(withRedfish({ configFile: path.join(root, "bad.yaml") })))
      expect(bad.message).toBe(
        `Redfish BMC file ${
          path.join(root, "bad.yaml")
        }: invalid BMC configuration: BMC b configuration invalid: password is required when username is provided`
      )
      const other = yield* Effect.flip(
        build(withRedfish({ configFile: path.join(root, "other.yaml"), nodeName: "rack-3" }))
      )
      expect(other.message).toContain(
        "failed to get BMC configuration for node rack-3: node rack-3 not found in BMC configuration (nodes: worker-9)"
      )
    }))

  it("node name: experimental.platform.redfish.nodeName, else kube.nodeName", () => {
    expect(redfishNodeName(withRedfish({ nodeName: "rack-3" }))).toBe("rack-3")
    expect(redfishNodeName(withRedfish({ nodeName: "" }, "worker-7"))).toBe("worker-7")
  })

  it("timings: poll every max(staleness, 1s); httpTimeout 0 means the 5s default; expiry 3 × (poll + timeout)", () => {
    const t = redfishTimings(Duration.millis(500), Duration.seconds(5))
    expect([Duration.toMillis(t.pollEvery), Duration.toMillis(t.httpTimeout), Duration.toMillis(t.expireAfter)])
      .toEqual([1000, 5000, 18000])
    expect([Duration.toMillis(t.backoff.initial), Duration.toMillis(t.backoff.max)]).toEqual([1000, 30000])
    const slow = redfishTimings(Duration.seconds(60), Duration.zero)
    expect([
      Duration.toMillis(slow.pollEvery),
      Duration.toMillis(slow.httpTimeout),
      Duration.toMillis(slow.backoff.max)
    ]).toEqual([
      60000,
      5000,
      60000
    ])
  })
})
