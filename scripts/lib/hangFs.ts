/**
 * Mounts scripts/lib/hangfs.py (python3-fuse) on a directory: its `stat` is a regular file
 * whose read never returns. Needs /dev/fuse and root (both there on the CI machines); a mount
 * that fails throws, it never skips.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

export interface HangFs {
  /** The file whose read never returns. */
  readonly file: string
  /** Lazy unmount (a blocked reader must not hold it), then stops the server. */
  readonly unmount: () => void
}

export const mountHangFs = async (dir: string): Promise<HangFs> => {
  fs.mkdirSync(dir, { recursive: true })
  const server = spawn("/usr/bin/python3", [path.join(import.meta.dirname, "hangfs.py"), dir, "-f"], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  let err = ""
  server.stderr?.on("data", (d: Buffer) => (err += d.toString()))
  const file = path.join(dir, "stat")
  for (let i = 0; i < 200; i++) {
    // lstat is answered by getattr, which returns at once: only read blocks.
    if (fs.readdirSync(dir).includes("stat")) {
      return {
        file,
        unmount: () => {
          spawnSync("umount", ["-l", dir])
          server.kill("SIGKILL")
        }
      }
    }
    if (server.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 25))
  }
  server.kill("SIGKILL")
  throw new Error(`cannot mount the hanging FUSE filesystem on ${dir}: ${err || "no stat after 5 s"}`)
}
