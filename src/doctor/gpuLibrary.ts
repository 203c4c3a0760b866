/**
 * Where the dynamic loader would find NVML (libnvidia-ml.so.1): LD_LIBRARY_PATH, the
 * directories /etc/ld.so.conf names (with its `include` globs one level deep), then the
 * trusted defaults. Presence only: nothing is loaded.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"

export const NVML = "libnvidia-ml.so.1"

const DEFAULT_DIRS = [
  "/lib",
  "/usr/lib",
  "/lib64",
  "/usr/lib64",
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu"
]

export interface GpuLibraryFacts {
  readonly found: string | undefined
  readonly searched: ReadonlyArray<string>
}

/** The directory lines of an ld.so.conf text, and its `include` patterns. */
export const parseLdSoConf = (
  text: string
): { readonly dirs: ReadonlyArray<string>; readonly includes: ReadonlyArray<string> } => {
  const lines = text.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter((l) => l !== "")
  return {
    dirs: lines.filter((l) => !l.startsWith("include ")),
    includes: lines.filter((l) => l.startsWith("include ")).map((l) => l.slice("include ".length).trim())
  }
}

const readText = (file: string) => Effect.promise(() => fs.readFile(file, "utf8").catch(() => ""))

/** `dir/*.conf` style patterns: only a `*` in the last component, which is all ld.so.conf uses. */
const expand = (pattern: string) =>
  Effect.promise(async () => {
    const dir = path.dirname(pattern)
    const base = new RegExp(`^${path.basename(pattern).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`)
    const entries = await fs.readdir(dir).catch(() => [])
    return entries.filter((e) => base.test(e)).sort().map((e) => path.join(dir, e))
  })

export const findGpuLibrary = (
  ldLibraryPath: string | undefined,
  ldSoConf = "/etc/ld.so.conf"
): Effect.Effect<GpuLibraryFacts> =>
  Effect.gen(function*() {
    const conf = parseLdSoConf(yield* readText(ldSoConf))
    const included: Array<string> = []
    for (const pattern of conf.includes) {
      for (const file of yield* expand(path.resolve(path.dirname(ldSoConf), pattern))) {
        included.push(...parseLdSoConf(yield* readText(file)).dirs)
      }
    }
    const fromEnv = (ldLibraryPath ?? "").split(":").filter((d) => d !== "")
    const searched = [...new Set([...fromEnv, ...conf.dirs, ...included, ...DEFAULT_DIRS])]
    for (const dir of searched) {
      const candidate = path.join(dir, NVML)
      const exists = yield* Effect.promise(() => fs.access(candidate).then(() => true, () => false))
      if (exists) return { found: candidate, searched }
    }
    return { found: undefined, searched }
  })
