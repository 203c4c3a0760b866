/**
 * The informer with `monitor.shortLived: cgroup` on generated trees whose containers have cgroup
 * usage files (v1 and v2, every runtime's layout): each running container's cgroup ticks are
 * exactly what the generator wrote, the first scan books a container's whole usage, later scans
 * the difference, and a cgroup that cannot be read (gone mid-scan, unreadable, malformed) gives
 * no figure that interval and a baseline the next.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  advanceProcfsTree,
  churnProcfsTree,
  generateProcfsTree,
  type ProcfsTree
} from "../../scripts/lib/procfsTree.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import type { ResourceReading } from "../../src/resource/types.js"
import { hookedReader } from "./procDir.js"

const treeIn = (processes: number, seed: number) =>
  Effect.gen(function*() {
    const fsys = yield* FileSystem.FileSystem
    const root = yield* fsys.makeTempDirectoryScoped({
      prefix: "joulemon-cgroups-",
      ...(fs.existsSync("/dev/shm") ? { directory: "/dev/shm" } : {})
    })
    const cgroupfs = path.join(root, "sys", "fs", "cgroup")
    return generateProcfsTree(path.join(root, "proc"), { processes, seed, cgroupfs })
  }).pipe(Effect.provide(NodeFileSystem.layer), Effect.orDie)

const cgroupfsOf = (tree: ProcfsTree): string => tree.cgroupfs ?? "(none)"

const TICK = 10_000

/** What the reading must say: each running container's cgroup ticks since `before` (or its whole usage). */
const expectedTicks = (tree: ProcfsTree, before: ProcfsTree | undefined): Map<string, number> =>
  new Map(
    [...tree.cgroups].map(([id, c]) => {
      const was = before?.cgroups.get(id)?.usageUsec
      return [id, Math.floor(c.usageUsec / TICK) - Math.floor((was ?? 0) / TICK)]
    })
  )

const ticksOf = (r: ResourceReading): Map<string, number | null> =>
  new Map([...(r.cgroups ?? new Map())].map(([id, c]) => [id, c.ticks]))

describe("procfs informer with cgroup usage", () => {
  it.scoped("reads every running container's cgroup, v1 and v2, exactly, across steps and churn", () =>
    Effect.gen(function*() {
      let tree = yield* treeIn(700, 5)
      const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 4, cgroupfs: cgroupfsOf(tree) })
      const first = yield* informer.refresh
      expect(tree.cgroups.size).toBeGreaterThan(40)
      expect(new Set([...(first.cgroups?.values() ?? [])].map((c) => c.version))).toEqual(new Set([1, 2]))
      expect(ticksOf(first)).toEqual(expectedTicks(tree, undefined))
      // A new container books its whole usage: its processes' lifetimes plus short-lived work.
      const shortLived = [...tree.cgroups.values()].filter((c) => c.shortLivedUsec >= TICK)
      expect(shortLived.length).toBeGreaterThan(5)

      for (const step of [advanceProcfsTree, (t: ProcfsTree) => churnProcfsTree(t, { exits: 60, births: 40 })]) {
        const before = tree
        tree = step(tree)
        const r = yield* informer.refresh
        // Containers that left have no cgroup; new ones (from churn) book their whole usage.
        expect(ticksOf(r)).toEqual(expectedTicks(tree, before))
        expect([...(r.cgroups?.keys() ?? [])].sort()).toEqual([...r.containers.keys()].sort())
      }
    }))

  it.scoped("without cgroupfs, no cgroup is read and the reading has none", () =>
    Effect.gen(function*() {
      const tree = yield* treeIn(200, 6)
      const opened: Array<string> = []
      const reader = hookedReader({
        fail: (file) => {
          opened.push(file)
          return undefined
        }
      })
      const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 4, reader })
      const r = yield* informer.refresh
      expect(r.cgroups).toBeUndefined()
      expect(opened.some((f) => f.includes("cpu.stat") || f.includes("cpuacct"))).toBe(false)
    }))

  it.scoped("a cgroup gone mid-scan or unreadable: no figure now, a baseline next, then deltas again", () =>
    Effect.gen(function*() {
      let tree = yield* treeIn(300, 8)
      const failing = new Map<string, string>()
      const reader = hookedReader({
        fail: (file) => {
          for (const [dir, code] of failing) if (file.startsWith(dir)) return code
          return undefined
        }
      })
      const informer = yield* makeProcfsInformer({
        procfs: tree.dir,
        parallelism: 4,
        cgroupfs: cgroupfsOf(tree),
        reader
      })
      yield* informer.refresh
      const [gone, unreadable] = [...tree.cgroups.keys()]
      if (gone === undefined || unreadable === undefined) throw new Error("the tree has fewer than 2 containers")
      const dirOf = (id: string) => path.join(cgroupfsOf(tree), tree.cgroups.get(id)?.files[0]?.file ?? "")
      failing.set(dirOf(gone), "ENOENT")
      failing.set(dirOf(unreadable), "EACCES")

      let before = tree
      tree = advanceProcfsTree(tree)
      const failed = yield* informer.refresh
      expect(failed.cgroups?.has(gone)).toBe(false)
      expect(failed.cgroups?.has(unreadable)).toBe(false)
      expect(failed.containers.has(gone)).toBe(true)
      const others = expectedTicks(tree, before)
      others.delete(gone)
      others.delete(unreadable)
      expect(ticksOf(failed)).toEqual(others)

      // Readable again: the sample after a failure is a baseline (the gap spans two intervals
      // while the processes' ticks span one), then deltas resume.
      failing.clear()
      before = tree
      tree = advanceProcfsTree(tree)
      const baseline = yield* informer.refresh
      expect(baseline.cgroups?.get(gone)?.ticks).toBeNull()
      expect(baseline.cgroups?.get(unreadable)?.ticks).toBeNull()
      expect(baseline.cgroups?.get(gone)?.usageUsec).toBe(tree.cgroups.get(gone)?.usageUsec)

      before = tree
      tree = advanceProcfsTree(tree)
      const resumed = yield* informer.refresh
      expect(ticksOf(resumed)).toEqual(expectedTicks(tree, before))
    }))

  it.scoped("a malformed usage file is no figure, not a number", () =>
    Effect.gen(function*() {
      const tree = yield* treeIn(200, 9)
      const [id, cgroup] = [...tree.cgroups][0] ?? []
      const file = cgroup?.files[0]
      if (id === undefined || file === undefined) throw new Error("the tree has no container")
      fs.writeFileSync(path.join(cgroupfsOf(tree), file.file), file.version === 2 ? "usage_usec lots\n" : "-1\n")
      const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism: 4, cgroupfs: cgroupfsOf(tree) })
      const r = yield* informer.refresh
      expect(r.containers.has(id)).toBe(true)
      expect(r.cgroups?.has(id)).toBe(false)
      expect(r.cgroups?.size).toBe(tree.cgroups.size - 1)
    }))
})
