/**
 * The informer on generated trees (scripts/lib/procfsTree.ts): every process, container and VM
 * the generator wrote is found, with exact ticks; and the reading does not depend on the
 * parallelism or on the order the directory listing comes in.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import { PCGRandom } from "effect/Utils"
import * as fs from "node:fs"
import * as path from "node:path"
import { advanceProcfsTree, generateProcfsTree, type ProcfsTree, statLine } from "../../scripts/lib/procfsTree.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import type { ResourceInformerShape } from "../../src/resource/ResourceInformer.js"
import type { ResourceReading } from "../../src/resource/types.js"
import { hookedReader } from "./procDir.js"

/** More pids than two 512-pid batches, so concurrent batches really interleave. */
const SIZE = 1100

const treeIn = (processes: number, seed: number) =>
  Effect.gen(function*() {
    const fsys = yield* FileSystem.FileSystem
    // tmpfs when there is one: thousands of small files are written per tree.
    const root = yield* fsys.makeTempDirectoryScoped({
      prefix: "joulemon-synthetic-",
      ...(fs.existsSync("/dev/shm") ? { directory: "/dev/shm" } : {})
    })
    return generateProcfsTree(path.join(root, "proc"), { processes, seed })
  }).pipe(Effect.provide(NodeFileSystem.layer), Effect.orDie)

const shuffled = (seed: number) => (names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const rng = new PCGRandom(seed)
  const out = [...names]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.integer(i + 1)
    const a = out[i] ?? ""
    out[i] = out[j] ?? ""
    out[j] = a
  }
  return out
}

/** Maps as entry lists, so insertion order is compared too. */
const comparable = (r: ResourceReading) => ({
  ...r,
  containers: [...r.containers.entries()],
  vms: [...r.vms.entries()],
  pods: [...r.pods.entries()]
})

const informerFor = (
  tree: ProcfsTree,
  parallelism: number,
  order?: (names: ReadonlyArray<string>) => ReadonlyArray<string>
) => makeProcfsInformer({ procfs: tree.dir, parallelism, reader: hookedReader(order === undefined ? {} : { order }) })

describe("procfs informer on a generated tree", () => {
  it.scoped("finds exactly what the generator wrote: processes, ticks, exe, containers by runtime, VMs", () =>
    Effect.gen(function*() {
      const tree = yield* treeIn(SIZE, 42)
      const informer = yield* informerFor(tree, 8)
      const r = yield* informer.refresh

      expect(r.processes.map((p) => [p.pid, p.comm, p.exe, p.startTime, p.cpuTicksTotal, p.containerId, p.vmId]))
        .toEqual(
          tree.processes.map((p) => [p.pid, p.comm, p.exe, p.startTime, p.utime + p.stime, p.containerId, p.vmId])
        )
      expect(r.processes.map((p) => p.type)).toEqual(
        tree.processes.map((p) => (p.kind === "kernel" ? "regular" : p.kind))
      )
      expect(r.processes.every((p) => p.firstSeen && p.cpuTicksDelta === p.cpuTicksTotal)).toBe(true)

      expect([...r.containers.keys()].sort()).toEqual([...tree.expectedContainers.keys()].sort())
      for (const [id, expected] of tree.expectedContainers) {
        expect(r.containers.get(id)).toEqual({ id, name: expected.hostname, runtime: expected.runtime, podId: "" })
        expect(r.processes.filter((p) => p.containerId === id)).toHaveLength(expected.processes)
      }
      // every runtime and both cgroup versions are in the tree
      expect(new Set([...r.containers.values()].map((c) => c.runtime))).toEqual(
        new Set(["docker", "containerd", "crio", "podman", "kubernetes"])
      )
      expect([...r.vms.values()].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
        [...tree.expectedVms].map(([id, v]) => ({ id, name: v.name, hypervisor: "kvm" })).sort((a, b) =>
          a.name.localeCompare(b.name)
        )
      )
      expect(r.stats).toEqual({ processesScanned: SIZE, processesVanished: 0, unreadableFiles: 0 })
      expect(informer.cpuInfo.map((c) => c.processor)).toEqual(["0", "1", "2", "3"])
    }))

  it.scoped("after advancing every process, each delta is exactly what the generator added", () =>
    Effect.gen(function*() {
      const before = yield* treeIn(800, 7)
      const informer = yield* informerFor(before, 4)
      yield* informer.refresh
      const after = advanceProcfsTree(before)
      const r = yield* informer.refresh
      expect(r.processes.map((p) => [p.pid, p.cpuTicksDelta, p.firstSeen])).toEqual(
        after.processes.map((p, i) => {
          const b = before.processes[i]
          return [p.pid, b === undefined ? Number.NaN : p.utime + p.stime - b.utime - b.stime, false]
        })
      )
      expect(r.processes.every((p) => p.cpuTicksDelta > 0)).toBe(true)
      expect(r.node.first).toBe(false)
      expect(r.node.usageRatio).toBeGreaterThan(0)
      expect(r.terminated.processes).toEqual([])
    }))
})

describe("procfs informer determinism", () => {
  it.scoped("parallelism 1, 4 and 64 and any listing order give deep-equal readings, refresh after refresh", () =>
    Effect.gen(function*() {
      let tree = yield* treeIn(SIZE, 3)
      const informers: ReadonlyArray<ResourceInformerShape> = [
        yield* informerFor(tree, 1),
        yield* informerFor(tree, 4, (names) => [...names].reverse()),
        yield* informerFor(tree, 64, shuffled(1)),
        yield* informerFor(tree, 64, shuffled(2))
      ]
      const refreshAll = Effect.forEach(informers, (i) => i.refresh.pipe(Effect.map(comparable)))

      const check = (readings: ReadonlyArray<ReturnType<typeof comparable>>) => {
        const [baseline, ...others] = readings
        for (const other of others) expect(other).toEqual(baseline)
        return baseline
      }

      check(yield* refreshAll)
      // Ticks move, some processes exit (whole containers among them), one pid is reused.
      tree = advanceProcfsTree(tree)
      const exiting = tree.processes.filter((_, i) => i % 97 === 5)
      for (const p of exiting) fs.rmSync(path.join(tree.dir, String(p.pid)), { recursive: true })
      const reused = tree.processes[700]
      if (reused === undefined) throw new Error("tree too small")
      fs.writeFileSync(
        path.join(tree.dir, String(reused.pid), "stat"),
        statLine({ ...reused, startTime: reused.startTime + 1 })
      )

      const second = check(yield* refreshAll)
      expect(second?.terminated.processes).toHaveLength(exiting.length + 1)
      expect(second?.processes.find((p) => p.pid === reused.pid)).toMatchObject({
        firstSeen: true,
        startTime: reused.startTime + 1
      })
      check(yield* refreshAll)
    }))

  it.scoped("property: any parallelism in 1..64 and any listing order reproduce the sequential reading", () =>
    Effect.gen(function*() {
      const tree = yield* treeIn(SIZE, 11)
      const baseline = comparable(yield* (yield* informerFor(tree, 1)).refresh)
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(
            FastCheck.integer({ min: 1, max: 64 }),
            FastCheck.integer(),
            async (parallelism, seed) => {
              const reading = await Effect.runPromise(
                informerFor(tree, parallelism, shuffled(seed)).pipe(Effect.flatMap((i) => i.refresh))
              )
              expect(comparable(reading)).toEqual(baseline)
            }
          ),
          { seed: 42, numRuns: 6 }
        )
      )
    }))
})
