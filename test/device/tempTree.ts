/**
 * Small sysfs/procfs trees written into a scoped temp dir, for cases the static fixtures do not
 * cover (mmio order, unindexed names, missing files, counters that change between reads).
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, type Scope } from "effect"
import * as path from "node:path"

/** Relative path → content; a path ending in "/" is an (empty) directory. */
export type Tree = Readonly<Record<string, string>>

export const writeTree = (root: string, tree: Tree): Effect.Effect<void> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    for (const [rel, content] of Object.entries(tree)) {
      const file = path.join(root, rel)
      if (rel.endsWith("/")) {
        yield* fs.makeDirectory(file, { recursive: true })
      } else {
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        yield* fs.writeFileString(file, content)
      }
    }
  }).pipe(Effect.provide(NodeFileSystem.layer), Effect.orDie)

export const makeTree = (tree: Tree): Effect.Effect<string, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "joulemon-device-" })
    yield* writeTree(root, tree)
    return root
  }).pipe(Effect.provide(NodeFileSystem.layer), Effect.orDie)

/** One powercap zone directory's files. */
export const raplZoneFiles = (
  entry: string,
  name: string,
  energy: bigint | string,
  max: bigint | "missing" = 262143328850n
): Tree => ({
  [`class/powercap/${entry}/name`]: `${name}\n`,
  [`class/powercap/${entry}/energy_uj`]: `${energy}\n`,
  [`class/powercap/${entry}/enabled`]: "1\n",
  ...(max === "missing" ? {} : { [`class/powercap/${entry}/max_energy_range_uj`]: `${max}\n` })
})

/** A `/proc/stat` with `cpus` logical CPUs whose aggregate line has the given active and idle ticks. */
export const procStatText = (activeTicks: number, idleTicks: number, cpus: number): string =>
  [
    `cpu  ${activeTicks} 0 0 ${idleTicks} 0 0 0 0 0 0`,
    ...Array.from({ length: cpus }, (_, i) => `cpu${i} 0 0 0 0 0 0 0 0 0 0`),
    "intr 0",
    "ctxt 0",
    ""
  ].join("\n")
