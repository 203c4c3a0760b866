/**
 * What every meter builder does last: sort the zones by (name, index) — the contract promises a
 * stable order, which Kepler's map iteration does not give — pick the primary zone, and refuse
 * an empty zone list (Kepler's `reported no zones`).
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Order from "effect/Order"
import type { MeterName } from "../config/Config.js"
import { type CpuPowerMeterShape, MeterUnavailable } from "./CpuPowerMeter.js"
import { choosePrimaryZone, type EnergyZone } from "./EnergyZone.js"

export const zoneOrder: Order.Order<EnergyZone> = Order.combine(
  Order.mapInput(Order.string, (z: EnergyZone) => z.name),
  Order.mapInput(Order.number, (z: EnergyZone) => z.index)
)

export const makeMeterShape = (
  name: MeterName,
  zones: ReadonlyArray<EnergyZone>,
  pickPrimary: (sorted: ReadonlyArray<EnergyZone>) => EnergyZone | undefined = choosePrimaryZone
): Effect.Effect<CpuPowerMeterShape, MeterUnavailable> => {
  const sorted = Arr.sort(zones, zoneOrder)
  const primaryZone = pickPrimary(sorted)
  return primaryZone === undefined
    ? Effect.fail(new MeterUnavailable({ meter: name, reason: "reported no zones" }))
    : Effect.succeed({ name, zones: sorted, primaryZone, estimated: sorted.some((z) => z.estimated) })
}
