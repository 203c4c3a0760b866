/**
 * What the meter backends read from the configuration, as a Schema: the collector worker
 * (collector/protocol.ts) is sent exactly this to build the same meter as the monitor chose.
 */
import * as Schema from "effect/Schema"

const ChipRule = Schema.Struct({
  name: Schema.String,
  pairings: Schema.Record({ key: Schema.String, value: Schema.Number }),
  skipVoltages: Schema.Array(Schema.Number),
  skipCurrents: Schema.Array(Schema.Number),
  useSameIndex: Schema.Boolean
})

/** Everything a meter backend needs from the configuration (meterSelection.ts). */
export const MeterSettings = Schema.Struct({
  sysfs: Schema.String,
  procfs: Schema.String,
  raplZones: Schema.Array(Schema.String),
  fakeZones: Schema.Array(Schema.String),
  model: Schema.Struct({ idleWattsPerCpu: Schema.Number, busyWattsPerCpu: Schema.Number }),
  hwmonZones: Schema.Array(Schema.String),
  chipRules: Schema.Array(ChipRule)
})
export type MeterSettings = typeof MeterSettings.Type
