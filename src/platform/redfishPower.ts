/**
 * Platform power from a Redfish service, per chassis (kepler-behaviour.md §1.10, §2.8):
 * - first the PowerSubsystem API: `Chassis/<id>/PowerSubsystem/PowerSupplies`, one reading per
 *   power supply from `PowerInputWatts` — the power drawn at the wall (Kepler reads
 *   `PowerOutputWatts`, the DC side, which leaves out the supplies' own losses); a supply without
 *   it is read from its `Metrics` (`InputPowerWatts.Reading`), as the DMTF schema puts it;
 * - else the legacy Power API: `Chassis/<id>/Power`, one reading per `PowerControl` entry from
 *   `PowerConsumedWatts`.
 * Readings that are 0 are skipped, as Kepler does (an idle redundant supply reports 0, and so do
 * BMCs that have no sensor); so are negative and non-numeric ones.
 *
 * Discovery (which API each chassis answers) runs once and yields a plan; later polls read only
 * the planned resources — one or two requests per chassis instead of five — until a read fails,
 * when the plan is dropped and the next poll discovers again.
 */
import * as Effect from "effect/Effect"
import type { JsonObject, RedfishClient } from "./redfishClient.js"
import { RedfishError } from "./redfishClient.js"

export type PowerSourceType = "PowerSupply" | "PowerControl"

/** One power reading as the BMC gives it. */
export interface SourceReading {
  readonly chassisId: string
  readonly sourceId: string
  readonly sourceName: string
  readonly sourceType: PowerSourceType
  readonly watts: number
}

export type ChassisPlan =
  | { readonly _tag: "PowerSupplies"; readonly chassisId: string; readonly collection: string }
  | { readonly _tag: "PowerControl"; readonly chassisId: string; readonly power: string }

export const SERVICE_ROOT = "/redfish/v1/"

const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

/** `body[key]["@odata.id"]` when it is a string. */
export const linkOf = (body: JsonObject, key: string): string | undefined => {
  const link = body[key]
  const id = isObject(link) ? link["@odata.id"] : undefined
  return typeof id === "string" && id !== "" ? id : undefined
}

/** A collection's `Members` that are objects. */
export const membersOf = (collection: JsonObject): ReadonlyArray<JsonObject> => {
  const members = collection["Members"]
  return Array.isArray(members) ? members.filter(isObject) : []
}

/** Strings as they are, numbers as text (some BMCs send numeric ids), anything else "". */
export const textOf = (u: unknown): string => (typeof u === "string" ? u : typeof u === "number" ? String(u) : "")

/** A usable power value: a finite number above 0. */
export const wattsOf = (
  u: unknown
): number | undefined => (typeof u === "number" && Number.isFinite(u) && u > 0 ? u : undefined)

/** Legacy `Power` resource → one reading per PowerControl entry (MemberId, else its position). */
export const powerControlReadings = (chassisId: string, power: JsonObject): ReadonlyArray<SourceReading> => {
  const controls = power["PowerControl"]
  if (!Array.isArray(controls)) return []
  return controls.flatMap((control: unknown, position) => {
    if (!isObject(control)) return []
    const watts = wattsOf(control["PowerConsumedWatts"])
    if (watts === undefined) return []
    const memberId = textOf(control["MemberId"])
    return [
      {
        chassisId,
        sourceId: memberId !== "" ? memberId : String(position),
        sourceName: textOf(control["Name"]),
        sourceType: "PowerControl" as const,
        watts
      }
    ]
  })
}

/** A PowerSupply resource's identity (Id, else MemberId, else its position in the collection). */
export const supplyIdentity = (supply: JsonObject, position: number) => {
  const id = textOf(supply["Id"]) || textOf(supply["MemberId"])
  return { sourceId: id !== "" ? id : String(position), sourceName: textOf(supply["Name"]) }
}

const metricsWatts = (metrics: JsonObject): number | undefined => {
  const input = metrics["InputPowerWatts"]
  return isObject(input) ? wattsOf(input["Reading"]) : undefined
}

/** Collections may embed their members (`$expand`) or only link them; fetch the linked ones. */
const resolveMember = (client: RedfishClient, member: JsonObject): Effect.Effect<JsonObject, RedfishError> => {
  const id = member["@odata.id"]
  const onlyLink = Object.keys(member).every((k) => k.startsWith("@odata."))
  return onlyLink && typeof id === "string" ? client.get(id) : Effect.succeed(member)
}

const supplyReading = (client: RedfishClient, chassisId: string, member: JsonObject, position: number) =>
  Effect.gen(function*() {
    const supply = yield* resolveMember(client, member)
    const direct = supply["PowerInputWatts"]
    const metrics = linkOf(supply, "Metrics")
    const watts = direct === undefined && metrics !== undefined
      ? metricsWatts(yield* client.get(metrics))
      : wattsOf(direct)
    if (watts === undefined) return []
    return [{ chassisId, ...supplyIdentity(supply, position), sourceType: "PowerSupply" as const, watts }]
  })

const CONCURRENCY = 4

export const readPowerSupplies = (
  client: RedfishClient,
  chassisId: string,
  collection: string
): Effect.Effect<ReadonlyArray<SourceReading>, RedfishError> =>
  Effect.gen(function*() {
    const body = yield* client.get(collection)
    const readings = yield* Effect.forEach(
      membersOf(body),
      (member, i) => supplyReading(client, chassisId, member, i),
      {
        concurrency: CONCURRENCY
      }
    )
    return readings.flat()
  })

export const readPowerControl = (
  client: RedfishClient,
  chassisId: string,
  power: string
): Effect.Effect<ReadonlyArray<SourceReading>, RedfishError> =>
  Effect.map(client.get(power), (body) => powerControlReadings(chassisId, body))

export const readPlan = (
  client: RedfishClient,
  plan: ChassisPlan
): Effect.Effect<ReadonlyArray<SourceReading>, RedfishError> =>
  plan._tag === "PowerSupplies"
    ? readPowerSupplies(client, plan.chassisId, plan.collection)
    : readPowerControl(client, plan.chassisId, plan.power)

export interface ChassisDiscovery {
  readonly chassis: string
  readonly plan: ChassisPlan | undefined
  readonly readings: ReadonlyArray<SourceReading>
  /** Why the chassis has no plan (or why the PowerSubsystem API was passed over). */
  readonly notes: ReadonlyArray<string>
}

/** PowerSubsystem first, legacy Power second; the first API with a non-zero reading wins. */
export const discoverChassis = (
  client: RedfishClient,
  chassisPath: string,
  position: number
): Effect.Effect<ChassisDiscovery, RedfishError> =>
  Effect.gen(function*() {
    const chassis = yield* client.get(chassisPath)
    const id = textOf(chassis["Id"])
    const chassisId = id !== "" ? id : `chassis-${position}`
    const notes: Array<string> = []

    const subsystem = linkOf(chassis, "PowerSubsystem")
    if (subsystem !== undefined) {
      const found = yield* Effect.either(
        Effect.gen(function*() {
          const collection = linkOf(yield* client.get(subsystem), "PowerSupplies")
          if (collection === undefined) return { collection: undefined, readings: [] }
          return { collection, readings: yield* readPowerSupplies(client, chassisId, collection) }
        })
      )
      if (found._tag === "Right" && found.right.collection !== undefined && found.right.readings.length > 0) {
        return {
          chassis: chassisPath,
          plan: { _tag: "PowerSupplies", chassisId, collection: found.right.collection },
          readings: found.right.readings,
          notes
        }
      }
      notes.push(
        found._tag === "Left"
          ? `PowerSubsystem: ${found.left.message}`
          : found.right.collection === undefined
          ? "PowerSubsystem: no PowerSupplies"
          : "PowerSubsystem: no power supply reports PowerInputWatts above 0"
      )
    }

    const power = linkOf(chassis, "Power")
    if (power === undefined) {
      notes.push("no Power resource")
      return { chassis: chassisPath, plan: undefined, readings: [], notes }
    }
    const legacy = yield* Effect.either(readPowerControl(client, chassisId, power))
    if (legacy._tag === "Right" && legacy.right.length > 0) {
      return { chassis: chassisPath, plan: { _tag: "PowerControl", chassisId, power }, readings: legacy.right, notes }
    }
    notes.push(
      legacy._tag === "Left"
        ? `Power: ${legacy.left.message}`
        : "Power: no PowerControl reports PowerConsumedWatts above 0"
    )
    return { chassis: chassisPath, plan: undefined, readings: [], notes }
  })

export interface Discovery {
  readonly plans: ReadonlyArray<ChassisPlan>
  readonly readings: ReadonlyArray<SourceReading>
  readonly chassis: ReadonlyArray<ChassisDiscovery>
}

/** Every chassis of the service; fails (in Kepler's words) when none has a power reading. */
export const discoverPlatformPower: (client: RedfishClient) => Effect.Effect<Discovery, RedfishError> = Effect.fn(
  "Redfish.discover"
)(function*(client: RedfishClient) {
  const root = yield* client.get(SERVICE_ROOT)
  const collectionPath = linkOf(root, "Chassis") ?? `${SERVICE_ROOT}Chassis`
  const members = membersOf(yield* client.get(collectionPath)).flatMap((m) => {
    const id = m["@odata.id"]
    return typeof id === "string" ? [id] : []
  })
  if (members.length === 0) {
    return yield* new RedfishError({ resource: collectionPath, reason: "no chassis found in BMC" })
  }
  const chassis = yield* Effect.forEach(members, (path, i) => discoverChassis(client, path, i), {
    concurrency: CONCURRENCY
  })
  const plans = chassis.flatMap((c) => (c.plan === undefined ? [] : [c.plan]))
  if (plans.length === 0) {
    const why = chassis.map((c) => `${c.chassis}: ${c.notes.join(", ")}`).join("; ")
    return yield* new RedfishError({
      resource: collectionPath,
      reason: `no chassis with valid power readings found (${why})`
    })
  }
  return { plans, readings: chassis.flatMap((c) => c.readings), chassis }
})
