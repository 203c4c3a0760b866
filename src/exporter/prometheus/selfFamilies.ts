/**
 * Self-metrics that are properties of the snapshot (per-zone counters kept by the monitor),
 * rendered like the power families. Counters of events (refreshes, scrapes) live in SelfMetrics.
 */
import type { Snapshot } from "../../monitor/snapshot.js"
import { joules } from "../../monitor/snapshot.js"
import type { MetricFamily } from "./families.js"

const perZone = (
  s: Snapshot,
  name: string,
  help: string,
  type: MetricFamily["type"],
  value: (z: Snapshot["zones"][number]) => number
): MetricFamily => ({
  name,
  help,
  type,
  labelNames: ["zone", "path"],
  samples: s.zones.map((z) => ({ labels: [z.name, z.path], value: value(z) }))
})

export const snapshotSelfFamilies = (s: Snapshot): Array<MetricFamily> => [
  perZone(s, "joulemon_zone_wraps_total", "Hardware counter wraparounds handled per zone", "counter", (z) => z.wraps),
  perZone(
    s,
    "joulemon_zone_glitches_total",
    "Intervals dropped per zone because the delta implied more than monitor.maxPlausibleWatts",
    "counter",
    (z) => z.glitches
  ),
  perZone(
    s,
    "joulemon_zone_resets_total",
    "Counter resets (went backwards with no known wrap boundary) per zone",
    "counter",
    (z) => z.resets
  ),
  perZone(
    s,
    "joulemon_zone_read_errors_total",
    "Failed zone reads; the energy is booked at the next good read",
    "counter",
    (z) => z.readErrors
  ),
  perZone(
    s,
    "joulemon_unattributed_joules_total",
    "Active energy no workload was charged with, kept at node level instead of vanishing: the whole active energy of an interval in which no process used CPU, and with monitor.shortLived cgroup the share of /proc/stat active time that neither a seen process nor a container cgroup accounts for",
    "counter",
    (z) => joules(z.unattributedEnergyTotal)
  ),
  perZone(
    s,
    "joulemon_zone_estimated",
    "1 when the zone's energy is estimated by a model rather than measured",
    "gauge",
    (z) => z.estimated ? 1 : 0
  ),
  {
    name: "joulemon_self_cpu_joules_total",
    help:
      "Energy attributed to joulemon itself (its process and its collector worker) by the same attribution as processes, in joules",
    type: "counter",
    labelNames: ["zone"],
    samples: s.zones.map((z, i) => ({ labels: [z.name], value: joules(s.selfEnergy[i] ?? 0n) }))
  },
  {
    name: "joulemon_snapshot_timestamp_seconds",
    help: "When the exported snapshot was computed (Unix time)",
    type: "gauge",
    labelNames: [],
    samples: [{ labels: [], value: s.timestamp / 1000 }]
  }
]
