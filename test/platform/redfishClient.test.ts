import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Scope } from "effect"
import type { BmcDetail } from "../../src/platform/bmcConfig.js"
import { makeRedfishClient, SESSIONS_PATH } from "../../src/platform/redfishClient.js"
import { fixtureTree, type RedfishServerOptions, startRedfishServer } from "./redfishServer.js"

const CREDS = { username: "monitor", password: "s3cr3t-Pa55w0rd" }
const CHASSIS = "/redfish/v1/Chassis/1U"

const bmcFor = (endpoint: string, over: Partial<BmcDetail> = {}): BmcDetail => ({
  endpoint,
  username: CREDS.username,
  password: CREDS.password,
  insecure: false,
  auth: "session",
  ...over
})

const setup = (
  server: Omit<Partial<RedfishServerOptions>, "credentials"> & { readonly anonymous?: boolean } = {},
  bmc: Partial<BmcDetail> = {},
  timeout = Duration.seconds(5)
) =>
  Effect.gen(function*() {
    const { anonymous = false, ...rest } = server
    const bmcServer = yield* startRedfishServer({
      tree: fixtureTree("public-rackmount"),
      ...(anonymous ? {} : { credentials: CREDS }),
      ...rest
    })
    const client = yield* makeRedfishClient({ bmcId: "bmc-1", bmc: bmcFor(bmcServer.endpoint, bmc), timeout })
    return { server: bmcServer, client }
  })

/** Polls (real time) until `check` holds; the HTTP server answers on the event loop. */
const eventually = (check: () => boolean) =>
  Effect.repeat(Effect.sleep(Duration.millis(10)), { until: check }).pipe(
    Effect.timeout(Duration.seconds(10)),
    Effect.orDie
  )

describe("RedfishClient authentication", () => {
  it.scopedLive("creates one session and sends its token; the password goes only to the session service", () =>
    Effect.gen(function*() {
      const { server, client } = yield* setup()
      const [a, b] = yield* Effect.all([client.get(CHASSIS), client.get("/redfish/v1/Chassis/2U")], { concurrency: 2 })
      expect([a["Id"], b["Id"]]).toEqual(["1U", "2U"])
      // Two concurrent first requests still make one login.
      const [login, ...gets] = server.requests()
      expect(login).toEqual({ method: "POST", path: SESSIONS_PATH, auth: "none" })
      expect(gets.map((r) => `${r.method} ${r.path} ${r.auth}`).sort()).toEqual([
        `GET ${CHASSIS} token`,
        "GET /redfish/v1/Chassis/2U token"
      ])
      expect(server.activeSessions()).toBe(1)
    }))

  it.live("logs in again once when the session expires, and logs out when its scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { server, client } = yield* Scope.extend(setup(), scope)
      yield* client.get(CHASSIS)
      server.expireSessions()
      expect((yield* client.get(CHASSIS))["Id"]).toBe("1U")
      expect(server.requests().map((r) => `${r.method} ${r.path} ${r.auth}`)).toEqual([
        `POST ${SESSIONS_PATH} none`,
        `GET ${CHASSIS} token`,
        `GET ${CHASSIS} token`, // 401: the session is gone
        `POST ${SESSIONS_PATH} none`,
        `GET ${CHASSIS} token`
      ])
      expect(server.activeSessions()).toBe(1)
      yield* Scope.close(scope, Exit.void)
      expect(server.requests().at(-1)?.method).toBe("DELETE")
      expect(server.activeSessions()).toBe(0)
    }))

  it.scopedLive("basic auth when configured", () =>
    Effect.gen(function*() {
      const { server, client } = yield* setup({}, { auth: "basic" })
      yield* client.get(CHASSIS)
      expect(server.requests()).toEqual([{ method: "GET", path: CHASSIS, auth: "basic" }])
    }))

  it.scopedLive("falls back to basic auth when the BMC has no session service", () =>
    Effect.gen(function*() {
      const { server, client } = yield* setup({ sessions: false })
      expect((yield* client.get(CHASSIS))["Id"]).toBe("1U")
      yield* client.get(CHASSIS)
      expect(server.requests().map((r) => `${r.method} ${r.auth}`)).toEqual(["POST none", "GET basic", "GET basic"])
    }))

  it.scopedLive("no credentials: plain requests", () =>
    Effect.gen(function*() {
      const { server, client } = yield* setup({ anonymous: true }, { username: "", password: "" })
      yield* client.get(CHASSIS)
      expect(server.requests()).toEqual([{ method: "GET", path: CHASSIS, auth: "none" }])
    }))

  it.scopedLive("wrong credentials: an error that names the BMC and the status, never the credentials", () =>
    Effect.gen(function*() {
      const session = yield* setup({}, { password: "wrong-Pa55" })
      const e1 = yield* Effect.flip(session.client.get(CHASSIS))
      expect(e1.message).toBe(
        `Redfish ${SESSIONS_PATH}: authentication failed (HTTP 401): check the username and password of BMC bmc-1`
      )
      const basic = yield* setup({}, { password: "wrong-Pa55", auth: "basic" })
      const e2 = yield* Effect.flip(basic.client.get(CHASSIS))
      expect(e2.message).toBe(
        `Redfish ${CHASSIS}: authentication failed (HTTP 401): check the username and password of BMC bmc-1`
      )
      for (const e of [e1, e2]) {
        expect(JSON.stringify(e)).not.toContain("wrong-Pa55")
        expect(JSON.stringify(e)).not.toContain(CREDS.username)
      }
    }))
})

describe("RedfishClient failures", () => {
  it.scopedLive("a BMC that answers 401 to everything", () =>
    Effect.gen(function*() {
      const { server, client } = yield* setup({}, { auth: "basic" })
      server.misbehave("unauthorized")
      const error = yield* Effect.flip(client.get(CHASSIS))
      expect(error.reason).toBe("authentication failed (HTTP 401): check the username and password of BMC bmc-1")
    }))

  it.scopedLive("garbage instead of JSON, and a missing resource", () =>
    Effect.gen(function*() {
      const { server, client } = yield* setup()
      server.misbehave("garbage", (p) => p === CHASSIS)
      expect((yield* Effect.flip(client.get(CHASSIS))).message).toBe(`Redfish ${CHASSIS}: the answer is not valid JSON`)
      server.misbehave(undefined)
      expect((yield* Effect.flip(client.get("/redfish/v1/Nope"))).message).toBe("Redfish /redfish/v1/Nope: HTTP 404")
    }))

  it.scopedLive("a hung BMC: the request is abandoned (socket closed) after the timeout", () =>
    Effect.gen(function*() {
      const { server, client } = yield* setup({}, { auth: "basic" }, Duration.millis(200))
      server.misbehave("hang", (p) => p.startsWith("/redfish/v1/Chassis"))
      const fiber = yield* Effect.fork(Effect.flip(client.get(CHASSIS)))
      yield* eventually(() => server.hanging() === 1)
      const error = yield* Fiber.join(fiber)
      expect(error.reason).toBe("no answer within 200ms (experimental.platform.redfish.httpTimeout)")
      yield* eventually(() => server.abandoned() === 1)
      expect(server.hanging()).toBe(0)
      // The BMC recovers: the same client works again.
      server.misbehave(undefined)
      expect((yield* client.get(CHASSIS))["Id"]).toBe("1U")
    }))

  it.scopedLive("an unreachable BMC", () =>
    Effect.gen(function*() {
      const client = yield* makeRedfishClient({
        bmcId: "b",
        bmc: bmcFor("http://127.0.0.1:1"),
        timeout: Duration.seconds(5)
      })
      const error = yield* Effect.flip(client.get(CHASSIS))
      expect(error.message).toMatch(
        /^Redfish \/redfish\/v1\/SessionService\/Sessions: cannot reach the BMC: connect ECONNREFUSED 127\.0\.0\.1:1/
      )
    }))
})

describe("RedfishClient over TLS", () => {
  it.scopedLive("insecure: true accepts the BMC's self-signed certificate", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ tls: true }, { insecure: true })
      expect((yield* client.get(CHASSIS))["Id"]).toBe("1U")
    }))

  it.scopedLive("insecure: false verifies it, refuses, and says how to opt out", () =>
    Effect.gen(function*() {
      const { server, client } = yield* setup({ tls: true }, { insecure: false })
      const error = yield* Effect.flip(client.get(CHASSIS))
      expect(error.reason).toBe(
        "cannot reach the BMC: self-signed certificate (set insecure: true for this BMC to skip certificate verification)"
      )
      expect(server.requests()).toEqual([])
    }))
})
