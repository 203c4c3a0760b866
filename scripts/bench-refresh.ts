/**
 * The refresh benchmark alone (issue: workloads): synthetic /proc trees of 1k, 10k and 50k
 * processes with containers and VMs; steady-state refresh split into scan and attribution, and
 * the heap. Same as `npm run bench -- --only refresh`.
 */
import { execFileSync } from "node:child_process"
import * as path from "node:path"

execFileSync(process.execPath, [
  "--import",
  "tsx",
  path.join(import.meta.dirname, "bench.ts"),
  "--only",
  "refresh",
  ...process.argv.slice(2)
], {
  stdio: "inherit"
})
