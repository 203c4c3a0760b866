/**
 * `/proc/cpuinfo` for `kepler_node_cpu_info`: one entry per logical CPU. Read once when the
 * informer is built; the machine's CPUs do not change identity while we run.
 */
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { readBoundedText } from "../io/boundedRead.js"
import { CPUINFO_LIMIT } from "../io/readLimits.js"
import { errorCode } from "./procReader.js"
import type { CpuInfoEntry } from "./types.js"

/**
 * One block per logical CPU, separated by blank lines, `key<tabs>: value` per line. Blocks
 * without a `processor` key (ARM's trailing Hardware/Revision/Serial block) are not CPUs.
 * Fields a platform does not have (ARM lacks vendor_id and often model name, physical id and
 * core id) are "".
 */
export const parseCpuInfo = (text: string): ReadonlyArray<CpuInfoEntry> => {
  const entries: Array<CpuInfoEntry> = []
  for (const block of text.split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>()
    for (const line of block.split("\n")) {
      const colon = line.indexOf(":")
      if (colon < 0) continue
      const key = line.slice(0, colon).trim()
      // The first occurrence wins, should a block repeat a key.
      if (!fields.has(key)) fields.set(key, line.slice(colon + 1).trim())
    }
    const processor = fields.get("processor")
    if (processor === undefined) continue
    entries.push({
      processor,
      vendorId: fields.get("vendor_id") ?? "",
      modelName: fields.get("model name") ?? "",
      physicalId: fields.get("physical id") ?? "",
      coreId: fields.get("core id") ?? ""
    })
  }
  return entries
}

/**
 * `<procfs>/cpuinfo`, parsed (a regular file of at most CPUINFO_LIMIT bytes). Never fails: the metric is informational, so a missing file
 * (containers, some sandboxes) is an empty list and a debug line; any other error a warning.
 */
export const readCpuInfo = (procfs: string): Effect.Effect<ReadonlyArray<CpuInfoEntry>> => {
  const file = path.join(procfs, "cpuinfo")
  return Effect.tryPromise(() => readBoundedText(file, CPUINFO_LIMIT)).pipe(
    Effect.map(parseCpuInfo),
    Effect.catchAll((e) => {
      const code = errorCode(e.error)
      const log = code === "ENOENT"
        ? Effect.logDebug("no cpuinfo; kepler_node_cpu_info will be empty")
        : Effect.logWarning("cannot read cpuinfo; kepler_node_cpu_info will be empty")
      return log.pipe(Effect.annotateLogs({ file, reason: code }), Effect.as([]))
    })
  )
}
