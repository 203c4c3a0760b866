/**
 * Redfish platform readings → metric families (kepler-behaviour.md §1.5, §1.10). Pure.
 * `kepler_platform_watts` is Kepler's (not gated by metrics level, `node_name` an ordinary
 * label); `kepler_platform_joules_total` is joulemon's, the same series integrated over time.
 * No readings, no families — as Kepler emits nothing while the BMC is unavailable.
 */
import type { PlatformReading } from "../../platform/PlatformPower.js"
import type { MetricFamily } from "./families.js"

/** Kepler's order. */
export const PLATFORM_LABEL_NAMES = [
  "source",
  "node_name",
  "bmc_id",
  "chassis_id",
  "source_id",
  "source_name",
  "source_type"
] as const

const labelsOf = (r: PlatformReading): ReadonlyArray<string> => [
  r.source,
  r.nodeName,
  r.bmcId,
  r.chassisId,
  r.sourceId,
  r.sourceName,
  r.sourceType
]

export const platformFamilies = (readings: ReadonlyArray<PlatformReading>): Array<MetricFamily> =>
  readings.length === 0
    ? []
    : [
      {
        name: "kepler_platform_watts",
        help: "Current platform power in watts from BMC (PowerSubsystem or deprecated Power API)",
        type: "gauge",
        labelNames: PLATFORM_LABEL_NAMES,
        samples: readings.map((r) => ({ labels: labelsOf(r), value: r.watts }))
      },
      {
        name: "kepler_platform_joules_total",
        help: "Energy consumption of the platform in joules (integrated from BMC power readings)",
        type: "counter",
        labelNames: PLATFORM_LABEL_NAMES,
        samples: readings.map((r) => ({ labels: labelsOf(r), value: r.joulesTotal }))
      }
    ]
