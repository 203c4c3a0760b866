/** Families that do not depend on the snapshot: build and CPU information (kepler-behaviour.md §1.10). */
import type { BuildInfoShape } from "../../buildInfo.js"
import type { CpuPowerMeterShape } from "../../device/CpuPowerMeter.js"
import type { CpuInfoEntry } from "../../resource/types.js"
import type { MetricFamily } from "./families.js"

export const buildInfoFamily = (b: BuildInfoShape): MetricFamily => ({
  name: "kepler_build_info",
  help: "A metric with a constant '1' value labeled with version information",
  type: "gauge",
  labelNames: ["arch", "branch", "revision", "version", "goversion"],
  samples: [{ labels: [b.arch, b.branch, b.revision, b.version, b.runtimeVersion], value: 1 }]
})

export const cpuInfoFamily = (cpus: ReadonlyArray<CpuInfoEntry>): MetricFamily => ({
  name: "kepler_node_cpu_info",
  help: "CPU information from procfs",
  type: "gauge",
  labelNames: ["processor", "vendor_id", "model_name", "physical_id", "core_id"],
  samples: cpus.map((c) => ({ labels: [c.processor, c.vendorId, c.modelName, c.physicalId, c.coreId], value: 1 }))
})

/** Which meter produced the node zones, and whether its numbers are estimated (joulemon). */
export const meterInfoFamily = (meter: Pick<CpuPowerMeterShape, "name" | "estimated">): MetricFamily => ({
  name: "joulemon_meter_info",
  help: "The CPU power meter in use; estimated=\"true\" means modelled, not measured",
  type: "gauge",
  labelNames: ["meter", "estimated"],
  samples: [{ labels: [meter.name, String(meter.estimated)], value: 1 }]
})
