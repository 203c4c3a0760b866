/**
 * Where joulemon's own files are, from whichever module asks. Two layouts must work: the
 * sources under tsx (`src/collector/workerCollector.ts`, in tests and benchmarks) and the
 * shipped bundle (`dist/main.js` and shared `dist/chunk-*.js`, scripts/bundle.mjs), where a
 * module's code sits in a chunk whose name says nothing about it and whose depth below the
 * package root differs from the source file's. So nothing here matches on a module's own file
 * name or counts `..` levels.
 */
import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * An entry script beside the module at `moduleUrl`: `worker.ts` next to a `.ts` module, else
 * `worker.js`. Sources keep each worker beside the module that starts it, and the bundle puts
 * every entry point and chunk in one directory, so "beside" holds in both.
 */
export const siblingEntry = (moduleUrl: string, name: string): string => {
  const self = fileURLToPath(moduleUrl)
  return path.join(path.dirname(self), `${name}${self.endsWith(".ts") ? ".ts" : ".js"}`)
}

const isOurPackageJson = (file: string): boolean => {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"))
    return typeof parsed === "object" && parsed !== null && "name" in parsed && parsed.name === "joulemon"
  } catch {
    return false
  }
}

/**
 * The directory holding joulemon's package.json, searched upwards from `moduleUrl`; the
 * module's own directory's parent when none is found (a broken install: callers then report
 * "unknown" rather than fail).
 */
export const packageRootFrom = (moduleUrl: string): string => {
  const start = path.dirname(fileURLToPath(moduleUrl))
  for (let dir = start;; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "package.json")
    if (existsSync(candidate) && isOurPackageJson(candidate)) return dir
    if (path.dirname(dir) === dir) return path.dirname(start)
  }
}
