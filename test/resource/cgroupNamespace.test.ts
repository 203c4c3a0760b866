/**
 * joulemon in a private cgroup namespace (a container on cgroup v2): the `/..` paths other
 * processes' cgroup files show are resolved against the host's tree, by finding joulemon's own
 * namespace root there; and through the informer, a container's usage is read at its host path.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeNamespaceRoots } from "../../src/resource/cgroupNamespace.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import { nodeProcReader, ScratchBuffer } from "../../src/resource/procReader.js"
import { BASE_CPU, cpuLine, writeProcess } from "./procDir.js"

const ID = "c".repeat(64)
const HOST_PATH = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-${ID}.scope`

const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text)
}

/**
 * A host whose joulemon runs at /kubepods.slice/kubepods-burstable.slice/joulemon-pod.slice/
 * cri-containerd-<j>.scope (depth 4) in its own cgroup namespace, as host pid 4242; decoys at
 * the same depth list other pids.
 */
const world = (initPath = "/../../../..") => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-cgns-"))
  const procfs = path.join(root, "proc")
  const cgroupfs = path.join(root, "sys", "fs", "cgroup")
  const ownRoot = `/kubepods.slice/kubepods-burstable.slice/joulemon-pod.slice/cri-containerd-${"d".repeat(64)}.scope`
  write(path.join(procfs, "stat"), cpuLine(BASE_CPU))
  write(path.join(procfs, "1", "cgroup"), `0::${initPath}\n`)
  write(path.join(procfs, "4242", "cgroup"), "0::/\n")
  fs.symlinkSync("4242", path.join(procfs, "self"))
  write(path.join(cgroupfs, ownRoot, "cgroup.procs"), "4242\n4250\n")
  write(path.join(cgroupfs, "/kubepods.slice/kubepods-burstable.slice/other-pod.slice/x.scope/cgroup.procs"), "77\n")
  write(path.join(cgroupfs, "/system.slice/a/b/c/cgroup.procs"), "1\n")
  return { root, procfs, cgroupfs, ownRoot, remove: () => fs.rmSync(root, { recursive: true, force: true }) }
}

const v2 = (p: string) => ({ version: 2 as const, hierarchy: "", path: p })

describe("cgroup namespace roots", () => {
  it("resolves climbing paths, and nested ones, against joulemon's own root in the host's tree", () => {
    const w = world()
    try {
      const roots = makeNamespaceRoots(nodeProcReader, new ScratchBuffer(4096), w.procfs, w.cgroupfs)
      expect(roots.resolve(v2(`/../../../..${HOST_PATH}`))).toEqual(v2(HOST_PATH))
      expect(roots.resolve(v2(`/docker/${ID}`))).toEqual(v2(`${w.ownRoot}/docker/${ID}`))
      // Above the host's root, or `..` anywhere but the front: not a path in the tree.
      expect(roots.resolve(v2(`/../../../../..${HOST_PATH}`))).toBeUndefined()
      expect(roots.resolve(v2(`/a/../b/${ID}`))).toBeUndefined()
    } finally {
      w.remove()
    }
  })

  it("in the host's namespace, paths are the host's and a climbing one is refused", () => {
    const w = world("/init.scope")
    try {
      const roots = makeNamespaceRoots(nodeProcReader, new ScratchBuffer(4096), w.procfs, w.cgroupfs)
      expect(roots.resolve(v2(HOST_PATH))).toEqual(v2(HOST_PATH))
      expect(roots.resolve(v2(`/..${HOST_PATH}`))).toBeUndefined()
    } finally {
      w.remove()
    }
  })

  it("without its own pid in any cgroup at the root's depth, nothing climbing resolves", () => {
    const w = world()
    try {
      fs.writeFileSync(path.join(w.cgroupfs, w.ownRoot, "cgroup.procs"), "4250\n")
      const roots = makeNamespaceRoots(nodeProcReader, new ScratchBuffer(4096), w.procfs, w.cgroupfs)
      expect(roots.resolve(v2(`/../../../..${HOST_PATH}`))).toBeUndefined()
    } finally {
      w.remove()
    }
  })

  it.scoped("through the informer: the container's usage is read at its host path", () =>
    Effect.gen(function*() {
      const w = world()
      yield* Effect.addFinalizer(() => Effect.sync(w.remove))
      write(path.join(w.cgroupfs, HOST_PATH, "cpu.stat"), "usage_usec 2500000\n")
      yield* writeProcess(w.procfs, {
        pid: 300,
        comm: "app",
        utime: 150,
        stime: 50,
        startTime: 1000,
        exe: "/usr/bin/app",
        cgroup: `0::/../../../..${HOST_PATH}\n`
      })
      const informer = yield* makeProcfsInformer({ procfs: w.procfs, parallelism: 1, cgroupfs: w.cgroupfs })
      const r = yield* informer.refresh
      expect(r.cgroups?.get(ID)).toEqual({
        version: 2,
        hierarchy: "",
        path: HOST_PATH,
        usageUsec: 2_500_000,
        ticks: 250
      })
    }))
})
