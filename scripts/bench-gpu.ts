/**
 * What reading and attributing 8 GPUs adds to a refresh (issue 12: ≤ 2 ms): the real binary with
 * and without 8 GPUs of the fake NVML library. Same as `npm run bench -- --only gpu`.
 */
import { execFileSync } from "node:child_process"
import * as path from "node:path"

execFileSync(process.execPath, [
  "--import",
  "tsx",
  path.join(import.meta.dirname, "bench.ts"),
  "--only",
  "gpu",
  ...process.argv.slice(2)
], {
  stdio: "inherit"
})
