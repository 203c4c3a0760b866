/**
 * The device service: the machine's energy zones, chosen once at startup from
 * `cpu.preferredMeters` (DESIGN.md §2). Implementations live beside this file
 * (`RaplSysfsMeter`, `FakeMeter`, `ModelMeter`, later `HwmonMeter`); `meterSelection.ts`
 * builds the Layer that tries them in order.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type { MeterName } from "../config/Config.js"
import type { EnergyZone } from "./EnergyZone.js"

export interface CpuPowerMeterShape {
  readonly name: MeterName
  /** Stable, sorted by (name, index); never empty. */
  readonly zones: ReadonlyArray<EnergyZone>
  readonly primaryZone: EnergyZone
  /** True when the numbers are estimated (model), so exporters and logs can say so. */
  readonly estimated: boolean
}

export class CpuPowerMeter extends Context.Tag("joulemon/CpuPowerMeter")<CpuPowerMeter, CpuPowerMeterShape>() {}

/** Why one backend could not be used; the selection aggregates these. */
export class MeterUnavailable extends Data.TaggedError("MeterUnavailable")<{
  readonly meter: MeterName
  readonly reason: string
  /** What the operator can do about it, when we know (e.g. permissions on energy_uj). */
  readonly hint?: string
}> {
  override get message(): string {
    return `cpu meter "${this.meter}": ${this.reason}${this.hint === undefined ? "" : ` (${this.hint})`}`
  }
}

export class NoUsableMeter extends Data.TaggedError("NoUsableMeter")<{
  readonly failures: ReadonlyArray<MeterUnavailable>
}> {
  override get message(): string {
    if (this.failures.length === 0) return "failed to create CPU power meter: cpu.preferredMeters is empty"
    const reasons = this.failures.map((f) => f.message).join("; ")
    // The estimator always works; say how to fall back to it when it was not listed.
    const advice = this.failures.some((f) => f.meter === "model")
      ? ""
      : "; add `model` at the end of cpu.preferredMeters to run with estimated power instead"
    return `failed to create CPU power meter: ${reasons}${advice}`
  }
}
