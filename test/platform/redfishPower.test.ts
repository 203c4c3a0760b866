import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { makeRedfishClient } from "../../src/platform/redfishClient.js"
import {
  discoverPlatformPower,
  powerControlReadings,
  readPlan,
  type SourceReading,
  supplyIdentity,
  textOf,
  wattsOf
} from "../../src/platform/redfishPower.js"
import { fixtureTree, startRedfishServer } from "./redfishServer.js"

const reading = (
  chassisId: string,
  sourceType: SourceReading["sourceType"],
  sourceId: string,
  sourceName: string,
  watts: number
) => ({
  chassisId,
  sourceId,
  sourceName,
  sourceType,
  watts
})

describe("Redfish power parsing", () => {
  it("PowerControl entries: PowerConsumedWatts above 0, MemberId (else position), Name", () => {
    const power = {
      PowerControl: [
        { MemberId: "0", Name: "Server Power Control", PowerConsumedWatts: 344 },
        { MemberId: "1", Name: "Idle", PowerConsumedWatts: 0 },
        { Name: "No id", PowerConsumedWatts: 12.5 },
        { MemberId: 7, PowerConsumedWatts: -3 },
        { MemberId: "8", PowerConsumedWatts: "100" },
        "not an object"
      ]
    }
    expect(powerControlReadings("1U", power)).toEqual([
      reading("1U", "PowerControl", "0", "Server Power Control", 344),
      reading("1U", "PowerControl", "2", "No id", 12.5)
    ])
    expect(powerControlReadings("1U", {})).toEqual([])
  })

  it("helpers", () => {
    expect([wattsOf(1), wattsOf(0), wattsOf(-1), wattsOf(Number.NaN), wattsOf(Infinity), wattsOf("5")]).toEqual([
      1,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined
    ])
    expect([textOf("a"), textOf(3), textOf(null), textOf({})]).toEqual(["a", "3", "", ""])
    expect(supplyIdentity({ MemberId: "m", Name: "n" }, 4)).toEqual({ sourceId: "m", sourceName: "n" })
    expect(supplyIdentity({ Id: "PS1", MemberId: "m" }, 4)).toEqual({ sourceId: "PS1", sourceName: "" })
    expect(supplyIdentity({}, 4)).toEqual({ sourceId: "4", sourceName: "" })
  })
})

const serve = (tree: string) =>
  Effect.gen(function*() {
    const server = yield* startRedfishServer({ tree: fixtureTree(tree) })
    const client = yield* makeRedfishClient({
      bmcId: "bmc-1",
      bmc: { endpoint: server.endpoint, username: "", password: "", insecure: false, auth: "session" },
      timeout: Duration.seconds(5)
    })
    return { server, client }
  })

const PSU = "Power Supply"

describe("Redfish discovery against the mockups", () => {
  it.scopedLive("public-rackmount: PowerSubsystem first, one reading per supply from PowerInputWatts", () =>
    Effect.gen(function*() {
      const { server, client } = yield* serve("public-rackmount")
      const found = yield* discoverPlatformPower(client)
      expect(found.readings).toEqual([
        reading("1U", "PowerSupply", "PS1", `${PSU} 1`, 268),
        reading("1U", "PowerSupply", "PS2", `${PSU} 2`, 25),
        reading("2U", "PowerSupply", "PS1", `${PSU} 1`, 378),
        reading("2U", "PowerSupply", "PS2", `${PSU} 2`, 25),
        reading("4U", "PowerSupply", "PS1", `${PSU} 1`, 488),
        reading("4U", "PowerSupply", "PS2", `${PSU} 2`, 25)
      ])
      expect(found.plans).toEqual(
        ["1U", "2U", "4U"].map((c) => ({
          _tag: "PowerSupplies",
          chassisId: c,
          collection: `/redfish/v1/Chassis/${c}/PowerSubsystem/PowerSupplies`
        }))
      )
      // The legacy API was not needed.
      expect(server.requests().some((r) => r.path.endsWith("/Power"))).toBe(false)

      // Later polls read only the planned collection: one request per chassis.
      const before = server.requests().length
      const again = yield* Effect.forEach(found.plans, (plan) => readPlan(client, plan))
      expect(again.flat()).toEqual(found.readings)
      expect(server.requests().slice(before).map((r) => r.path)).toEqual(
        ["1U", "2U", "4U"].map((c) => `/redfish/v1/Chassis/${c}/PowerSubsystem/PowerSupplies`)
      )
    }))

  it.scopedLive("legacy-only: the Power API, one reading per PowerControl", () =>
    Effect.gen(function*() {
      const { client } = yield* serve("legacy-only")
      const found = yield* discoverPlatformPower(client)
      expect(found.readings).toEqual([
        reading("1U", "PowerControl", "0", "Server Power Control", 344),
        reading("1U", "PowerControl", "1", "Chassis Power Control", 45),
        reading("2U", "PowerControl", "0", "Server Power Control", 450),
        reading("2U", "PowerControl", "1", "Chassis Power Control", 65),
        reading("4U", "PowerControl", "0", "Server Power Control", 750),
        reading("4U", "PowerControl", "1", "Chassis Power Control", 95)
      ])
      expect(found.plans.map((p) => p._tag)).toEqual(["PowerControl", "PowerControl", "PowerControl"])
    }))

  it.scopedLive("falls back to the Power API per chassis when its PowerSubsystem fails", () =>
    Effect.gen(function*() {
      const { server, client } = yield* serve("public-rackmount")
      server.misbehave("not-found", (p) => p.startsWith("/redfish/v1/Chassis/2U/PowerSubsystem"))
      const found = yield* discoverPlatformPower(client)
      expect(found.readings.map((r) => [r.chassisId, r.sourceType, r.sourceId, r.watts])).toEqual([
        ["1U", "PowerSupply", "PS1", 268],
        ["1U", "PowerSupply", "PS2", 25],
        ["2U", "PowerControl", "0", 450],
        ["2U", "PowerControl", "1", 65],
        ["4U", "PowerSupply", "PS1", 488],
        ["4U", "PowerSupply", "PS2", 25]
      ])
      const chassis2 = found.chassis.find((c) => c.chassis === "/redfish/v1/Chassis/2U")
      expect(chassis2?.notes).toEqual(["PowerSubsystem: Redfish /redfish/v1/Chassis/2U/PowerSubsystem: HTTP 404"])
    }))

  it.scopedLive("supply-metrics: linked members are fetched, and input power read from their Metrics", () =>
    Effect.gen(function*() {
      const { server, client } = yield* serve("supply-metrics")
      const found = yield* discoverPlatformPower(client)
      expect(found.readings.map((r) => [r.chassisId, r.sourceType, r.sourceId, r.watts])).toEqual([
        ["1U", "PowerSupply", "PS1", 268.5],
        ["1U", "PowerSupply", "PS2", 25],
        ["2U", "PowerSupply", "PS1", 378.5],
        ["2U", "PowerSupply", "PS2", 25],
        ["4U", "PowerSupply", "PS1", 488.5],
        ["4U", "PowerSupply", "PS2", 25]
      ])
      expect(server.requests().filter((r) => r.path.endsWith("/Metrics"))).toHaveLength(6)
    }))

  it.scopedLive("no chassis with a power reading: Kepler's error, with what each chassis lacked", () =>
    Effect.gen(function*() {
      const { server, client } = yield* serve("legacy-only")
      server.misbehave("not-found", (p) => p.endsWith("/Power"))
      const error = yield* Effect.flip(discoverPlatformPower(client))
      expect(error.message).toBe(
        "Redfish /redfish/v1/Chassis: no chassis with valid power readings found (" +
          ["1U", "2U", "4U"].map((c) =>
            `/redfish/v1/Chassis/${c}: Power: Redfish /redfish/v1/Chassis/${c}/Power: HTTP 404`
          ).join("; ") +
          ")"
      )
    }))

  it.scopedLive("garbage from the BMC fails the discovery with the resource named", () =>
    Effect.gen(function*() {
      const { server, client } = yield* serve("public-rackmount")
      server.misbehave("garbage", (p) => p === "/redfish/v1/Chassis")
      const error = yield* Effect.flip(discoverPlatformPower(client))
      expect(error.message).toBe("Redfish /redfish/v1/Chassis: the answer is not valid JSON")
    }))
})
