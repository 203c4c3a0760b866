/**
 * What `kepler_build_info` reports. The version comes from package.json (as `--version`); the
 * revision and branch from JOULEMON_REVISION / JOULEMON_BRANCH (set by packaging), else from the
 * checkout's .git when run from a clone, else "unknown".
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { packageVersion } from "./cli/version.js"
import { packageRootFrom } from "./installLayout.js"

export interface BuildInfoShape {
  readonly version: string
  readonly revision: string
  readonly branch: string
  readonly arch: string
  /** Kepler's `goversion` label carries the runtime version; ours is Node's. */
  readonly runtimeVersion: string
}

export class BuildInfo extends Context.Tag("joulemon/BuildInfo")<BuildInfo, BuildInfoShape>() {}

export const packageRoot = (): string => packageRootFrom(import.meta.url)

const readText = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8").trim()
  } catch {
    return undefined
  }
}

/** HEAD of a plain checkout: a detached sha, or a branch ref resolved through loose or packed refs. */
const gitHead = (root: string): { revision: string; branch: string } | undefined => {
  const head = readText(path.join(root, ".git", "HEAD"))
  if (head === undefined) return undefined
  if (!head.startsWith("ref: ")) return { revision: head.slice(0, 12), branch: "HEAD" }
  const ref = head.slice(5)
  const loose = readText(path.join(root, ".git", ref))
  const packed = readText(path.join(root, ".git", "packed-refs"))
    ?.split("\n")
    .find((line) => line.endsWith(` ${ref}`))
    ?.split(" ")[0]
  const sha = loose ?? packed
  return { revision: sha === undefined ? "unknown" : sha.slice(0, 12), branch: ref.replace(/^refs\/heads\//, "") }
}

export const readBuildInfo = (
  version: string,
  root = packageRoot(),
  env: NodeJS.ProcessEnv = process.env
): BuildInfoShape => {
  const git = gitHead(root)
  return {
    version,
    revision: env["JOULEMON_REVISION"] ?? git?.revision ?? "unknown",
    branch: env["JOULEMON_BRANCH"] ?? git?.branch ?? "unknown",
    arch: process.arch,
    runtimeVersion: process.version
  }
}

export const BuildInfoLive: Layer.Layer<BuildInfo> = Layer.effect(
  BuildInfo,
  Effect.map(packageVersion, (version) => readBuildInfo(version))
)
