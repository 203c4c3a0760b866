/**
 * Writes a synthetic /proc tree (scripts/lib/procfsTree.ts) for manual runs and demos:
 *
 *   npx tsx scripts/gen-procfs.ts <dir> [--processes 10000] [--seed 42] [--cpus 4]
 *
 * then e.g. `joulemon run --host.procfs <dir>`. `<dir>` must not exist yet.
 */
import * as fs from "node:fs"
import { generateProcfsTree } from "./lib/procfsTree.js"

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}

const dir = process.argv[2]
if (dir === undefined || dir.startsWith("--")) {
  console.error("usage: npx tsx scripts/gen-procfs.ts <dir> [--processes N] [--seed S] [--cpus C]")
  process.exit(2)
}
if (fs.existsSync(dir)) {
  console.error(`${dir} already exists; give a new directory`)
  process.exit(2)
}
const processes = Number(argValue("--processes") ?? 10000)
const seed = Number(argValue("--seed") ?? 42)
const cpus = Number(argValue("--cpus") ?? 4)
const tree = generateProcfsTree(dir, { processes, seed, cpus })
const kinds = new Map<string, number>()
for (const p of tree.processes) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1)
console.log(
  `${dir}: ${tree.processes.length} processes (${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")}), ` +
    `${tree.expectedContainers.size} containers, ${tree.expectedVms.size} VMs, ${tree.cpuCount} CPUs`
)
