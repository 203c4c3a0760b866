/** The path of a command on PATH, or undefined when it is not installed. */
import { spawnSync } from "node:child_process"

export const which = (cmd: string): string | undefined => {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : undefined
}
