import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppConfig } from "../../src/config/Config.js"
import { defaultConfig } from "../../src/config/defaults.js"
import { makeProcfsInformer, ResourceInformerLive } from "../../src/resource/procfsInformer.js"
import { ResourceError, ResourceInformer } from "../../src/resource/ResourceInformer.js"
import type { ResourceReading } from "../../src/resource/types.js"
import {
  BASE_CPU,
  capturingLogger,
  hookedReader,
  type LogLine,
  type ReadCounts,
  removeProcess,
  tempProcfs,
  writeCpu,
  writeProcess
} from "./procDir.js"

const FIXTURE = path.join(import.meta.dirname, "../fixtures/resource/procfs")
const DOCKER_ID = "b176419186d75a44628851daf7841d3374a2ec56d0b038ee3bd1e0c6d331e5b1"
const PODMAN_ID = "f992ec4ed807f76e5e54c9c67d78f0a4105bf945420271c2558ba905e38d2108"
const VM_ID = "df12672f-fedb-4f6f-9d51-0166868835fb"

const sumDeltas = (r: ResourceReading): number => r.processes.reduce((s, p) => s + p.cpuTicksDelta, 0)
const byPid = (r: ResourceReading, pid: number) => r.processes.find((p) => p.pid === pid)

describe("procfs informer on Kepler's fixture (kepler-behaviour.md §7.2, §12 check 11)", () => {
  it.effect("finds 6 processes, the docker and podman containers, the kvm VM and a first-call ratio of 0", () =>
    Effect.gen(function*() {
      const informer = yield* makeProcfsInformer({ procfs: FIXTURE, parallelism: 4 })
      const r = yield* informer.refresh

      expect(r.processes.map((p) => p.pid)).toEqual([1337, 43251, 3456208, 3538317, 3538344, 3538356])
      expect(r.terminated).toEqual({ processes: [], containers: [], vms: [], pods: [] })
      expect(r.node).toMatchObject({ first: true, usageRatio: 0, activeTicks: 0, totalTicks: 0 })

      expect(byPid(r, 1337)).toEqual({
        key: "1337:701135771",
        pid: 1337,
        startTime: 701135771,
        comm: "kepler",
        exe: "../../fake-root/usr/bin/kepler",
        type: "regular",
        containerId: "",
        vmId: "",
        cpuTicksTotal: 70,
        cpuTicksDelta: 70,
        firstSeen: true
      })

      expect([...r.containers.keys()].sort()).toEqual([DOCKER_ID, PODMAN_ID].sort())
      expect(r.containers.get(DOCKER_ID)).toEqual({ id: DOCKER_ID, name: "b176419186d7", runtime: "docker", podId: "" })
      expect(r.containers.get(PODMAN_ID)?.runtime).toBe("podman")
      const docker = r.processes.filter((p) => p.containerId === DOCKER_ID)
      expect(docker.reduce((s, p) => s + p.cpuTicksTotal, 0)).toBe(599603)
      const podman = r.processes.filter((p) => p.containerId === PODMAN_ID)
      expect(podman.map((p) => p.pid)).toEqual([3538317, 3538344, 3538356])
      expect(podman.reduce((s, p) => s + p.cpuTicksDelta, 0)).toBe(6)
      // the nginx processes have no exe link: ""
      expect(podman.map((p) => p.exe)).toEqual(["", "", ""])

      expect([...r.vms.values()]).toEqual([{ id: VM_ID, name: "kepler-stuff_default", hypervisor: "kvm" }])
      expect(byPid(r, 43251)).toMatchObject({ type: "vm", vmId: VM_ID, cpuTicksTotal: 143592 + 25589 })

      // ProcessTotalCPUTimeDelta ≈ 7688.6 s
      expect(sumDeltas(r)).toBe(768860)
      expect(r.stats).toEqual({ processesScanned: 6, processesVanished: 0, unreadableFiles: 0 })
      expect(r.pods.size).toBe(0)
      // the fixture has no cpuinfo
      expect(informer.cpuInfo).toEqual([])
    }))

  it.effect("a second refresh of the unchanged fixture: nothing new, nothing moved, nothing terminated", () =>
    Effect.gen(function*() {
      const informer = yield* makeProcfsInformer({ procfs: FIXTURE, parallelism: 1 })
      yield* informer.refresh
      const r = yield* informer.refresh
      expect(r.processes.map((p) => [p.firstSeen, p.cpuTicksDelta])).toEqual(Array(6).fill([false, 0]))
      expect(r.node).toMatchObject({ first: false, usageRatio: 0, totalTicks: 0 })
      expect(r.containers.size).toBe(2)
      expect(r.terminated.processes).toEqual([])
    }))
})

describe("procfs informer: Kepler's informer sequence (§7.2)", () => {
  it.scoped("10.5 s then 15.0 s gives deltas 10.5 s and 4.5 s; the ratio comes from /proc/stat", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      const p = { pid: 100, comm: "worker", utime: 1000, stime: 50, startTime: 42, exe: "/usr/bin/worker" }
      yield* writeProcess(root, p)
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 2 })

      const first = yield* informer.refresh
      expect(first.processes.map((x) => [x.cpuTicksDelta, x.firstSeen])).toEqual([[1050, true]])
      expect(sumDeltas(first)).toBe(1050)
      expect(first.node.usageRatio).toBe(0)

      yield* writeProcess(root, { ...p, utime: 1400, stime: 100 })
      // §4.5: deltas user 500, nice 100, system 300, idle 650, iowait 50, irq 25, softirq 75, steal 50 → 0.6
      yield* writeCpu(root, {
        user: BASE_CPU.user + 500,
        nice: BASE_CPU.nice + 100,
        system: BASE_CPU.system + 300,
        idle: BASE_CPU.idle + 650,
        iowait: BASE_CPU.iowait + 50,
        irq: BASE_CPU.irq + 25,
        softirq: BASE_CPU.softirq + 75,
        steal: BASE_CPU.steal + 50
      })
      const second = yield* informer.refresh
      expect(second.processes.map((x) => [x.cpuTicksTotal, x.cpuTicksDelta, x.firstSeen])).toEqual([[1500, 450, false]])
      expect(sumDeltas(second)).toBe(450)
      expect(second.node).toEqual({ first: false, activeTicks: 1050, totalTicks: 1750, usageRatio: 0.6, cpuCount: 1 })
    }))

  it.scoped("two processes (5 s, 10 s); one terminates: reported for exactly one refresh", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 1, comm: "a", utime: 500, stime: 0, startTime: 10, exe: "/a" })
      yield* writeProcess(root, { pid: 2, comm: "b", utime: 900, stime: 100, startTime: 20, exe: "/b" })
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })

      expect(sumDeltas(yield* informer.refresh)).toBe(1500)

      yield* removeProcess(root, 2)
      yield* writeProcess(root, { pid: 1, comm: "a", utime: 750, stime: 0, startTime: 10, exe: "/a" })
      const second = yield* informer.refresh
      expect(second.terminated.processes).toEqual(["2:20"])
      expect(second.processes.map((p) => p.key)).toEqual(["1:10"])
      expect(sumDeltas(second)).toBe(250)

      const third = yield* informer.refresh
      expect(third.terminated.processes).toEqual([])
      expect(sumDeltas(third)).toBe(0)
    }))
})

describe("procfs informer: processes that vanish", () => {
  it.scoped("a pid directory without stat (exited between listing and read) is skipped and counted", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 5, comm: "ok", utime: 1, stime: 1, startTime: 1, exe: "/ok" })
      fs.mkdirSync(path.join(root, "6"))
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })
      const r = yield* informer.refresh
      expect(r.processes.map((p) => p.pid)).toEqual([5])
      expect(r.stats).toEqual({ processesScanned: 2, processesVanished: 1, unreadableFiles: 0 })
    }))

  it.scoped("a known process removed right after the listing is gone: vanished now, terminated", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 5, comm: "stays", utime: 1, stime: 1, startTime: 1, exe: "/s" })
      yield* writeProcess(root, { pid: 6, comm: "exits", utime: 1, stime: 1, startTime: 2, exe: "/e" })
      let armed = false
      const reader = hookedReader({
        afterList: () => {
          if (armed) fs.rmSync(path.join(root, "6"), { recursive: true, force: true })
        }
      })
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })
      yield* informer.refresh
      armed = true
      const r = yield* informer.refresh
      expect(r.processes.map((p) => p.pid)).toEqual([5])
      expect(r.stats.processesVanished).toBe(1)
      expect(r.terminated.processes).toEqual(["6:2"])
    }))

  it.scoped("a new process that exits between its stat and its other files (ENOENT or ESRCH) is gone, not an error", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      for (const pid of [5, 6, 7, 8]) {
        yield* writeProcess(root, { pid, comm: "p", utime: 1, stime: 1, startTime: pid, exe: "/p" })
      }
      // The process really exits (its directory goes) just as one of its files is read.
      const exitWhileReading = (pid: number, code: string) => {
        fs.rmSync(path.join(root, String(pid)), { recursive: true, force: true })
        return code
      }
      const reader = hookedReader({
        fail: (file) =>
          file.endsWith("/6/comm")
            ? exitWhileReading(6, "ENOENT")
            : file.endsWith("/7/cmdline")
            ? exitWhileReading(7, "ESRCH")
            : file.endsWith("/8/exe")
            ? exitWhileReading(8, "ENOENT")
            : undefined
      })
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })
      const r = yield* informer.refresh
      expect(r.processes.map((p) => p.pid)).toEqual([5])
      expect(r.stats).toEqual({ processesScanned: 4, processesVanished: 3, unreadableFiles: 0 })
    }))

  it.scoped("a pid reused while its files are read: the incarnation whose stat was read is gone", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 9, comm: "first", utime: 1, stime: 1, startTime: 100, exe: "/first" })
      let reused = false
      const reader = hookedReader({
        fail: (file) => {
          if (!file.endsWith("/9/cgroup") || reused) return undefined
          reused = true
          fs.writeFileSync(path.join(root, "9", "stat"), "9 (second) S 1 9 9 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 200 0 0\n")
          return "ESRCH"
        }
      })
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })
      const first = yield* informer.refresh
      expect(first.processes).toEqual([])
      expect(first.stats.processesVanished).toBe(1)
      // the next refresh meets the new incarnation
      expect((yield* informer.refresh).processes).toMatchObject([{ key: "9:200", firstSeen: true }])
    }))

  it.scoped("ESRCH/ENOENT on environ, cmdline and exe of a LIVE process (a kernel thread) is not an exit", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 10, comm: "kworker/0:1", utime: 0, stime: 9, startTime: 3, exe: "/x" })
      // What this kernel answers for a kernel thread, measured on /proc: environ ESRCH, exe ENOENT.
      const reader = hookedReader({
        fail: (file) =>
          file.endsWith("/10/environ") || file.endsWith("/10/cmdline")
            ? "ESRCH"
            : file.endsWith("/10/exe")
            ? "ENOENT"
            : undefined
      })
      const lines: Array<LogLine> = []
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })
      const r = yield* informer.refresh.pipe(
        Effect.provide(capturingLogger(lines)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      expect(r.processes).toMatchObject([{ pid: 10, comm: "kworker/0:1", exe: "", type: "regular", cpuTicksDelta: 9 }])
      expect(r.stats).toEqual({ processesScanned: 1, processesVanished: 0, unreadableFiles: 0 })
      expect(lines).toEqual([])
    }))

  it.scoped("ENOENT on comm or cgroup of a live process is an unreadable file, not an exit", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 11, comm: "odd", utime: 1, stime: 1, startTime: 3, exe: "/odd" })
      const reader = hookedReader({
        fail: (file) => (file.endsWith("/11/comm") || file.endsWith("/11/cgroup") ? "ENOENT" : undefined)
      })
      const r = yield* (yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })).refresh
      expect(r.processes).toMatchObject([{ pid: 11, comm: "odd", exe: "/odd" }])
      expect(r.stats).toEqual({ processesScanned: 1, processesVanished: 0, unreadableFiles: 2 })
    }))

  it.scoped("an empty stat (torn down mid-read) counts as vanished", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 5, comm: "p", utime: 1, stime: 1, startTime: 1, exe: "/p" })
      fs.writeFileSync(path.join(root, "5", "stat"), "")
      const r = yield* (yield* makeProcfsInformer({ procfs: root, parallelism: 1 })).refresh
      expect(r.processes).toEqual([])
      expect(r.stats.processesVanished).toBe(1)
    }))

  it.scoped("a kernel thread (no exe link) is reported with exe \"\"", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, {
        pid: 2,
        comm: "kthreadd",
        utime: 0,
        stime: 3,
        startTime: 0,
        cmdline: [],
        cgroup: "0::/\n"
      })
      const r = yield* (yield* makeProcfsInformer({ procfs: root, parallelism: 1 })).refresh
      expect(r.processes).toMatchObject([{ pid: 2, comm: "kthreadd", exe: "", type: "regular", cpuTicksDelta: 3 }])
      expect(r.stats.unreadableFiles).toBe(0)
    }))
})

describe("procfs informer: PID reuse and exec", () => {
  it.scoped("same pid, new starttime: the old key is terminated, the new one firstSeen with its lifetime as delta", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 300, comm: "old", utime: 40, stime: 2, startTime: 500, exe: "/old" })
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })
      yield* informer.refresh
      yield* writeProcess(root, { pid: 300, comm: "new", utime: 5, stime: 2, startTime: 900, exe: "/new" })
      const r = yield* informer.refresh
      expect(r.terminated.processes).toEqual(["300:500"])
      expect(r.processes).toMatchObject([
        { key: "300:900", pid: 300, comm: "new", exe: "/new", firstSeen: true, cpuTicksTotal: 7, cpuTicksDelta: 7 }
      ])
    }))

  it.scoped("a known process with moving ticks and the same comm costs one stat read, nothing else", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      for (const pid of [1, 2, 3]) {
        yield* writeProcess(root, { pid, comm: "busy", utime: 10, stime: 0, startTime: pid, exe: "/b" })
      }
      const counts: ReadCounts = { readStat: 0, readFile: 0, readLink: 0 }
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader: hookedReader({ counts }) })
      yield* informer.refresh
      expect(counts).toEqual({ readStat: 3, readFile: 12, readLink: 3 })
      for (const pid of [1, 2, 3]) {
        yield* writeProcess(root, { pid, comm: "busy", utime: 20, stime: 0, startTime: pid, exe: "/b" })
      }
      const r = yield* informer.refresh
      expect(r.processes.map((p) => p.cpuTicksDelta)).toEqual([10, 10, 10])
      expect(counts).toEqual({ readStat: 6, readFile: 12, readLink: 3 })
    }))

  it.scoped("an exec (the comm in stat changes) re-reads comm and exe and reclassifies: libvirt's helper becomes a VM", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, {
        pid: 400,
        comm: "rpc-libvirtd",
        utime: 1,
        stime: 1,
        startTime: 77,
        exe: "/usr/sbin/libvirtd"
      })
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })
      const before = yield* informer.refresh
      expect(before.processes).toMatchObject([{ type: "regular", comm: "rpc-libvirtd" }])

      yield* writeProcess(root, {
        pid: 400,
        comm: "qemu-system-x86",
        utime: 11,
        stime: 1,
        startTime: 77,
        exe: "/usr/bin/qemu-system-x86_64",
        cmdline: ["/usr/bin/qemu-system-x86_64", "-name", "guest=web,debug-threads=on", "-uuid", VM_ID]
      })
      const after = yield* informer.refresh
      expect(after.processes).toEqual([{
        key: "400:77",
        pid: 400,
        startTime: 77,
        comm: "qemu-system-x86",
        exe: "/usr/bin/qemu-system-x86_64",
        type: "vm",
        containerId: "",
        vmId: VM_ID,
        cpuTicksTotal: 12,
        cpuTicksDelta: 10,
        firstSeen: false
      }])
      expect([...after.vms.values()]).toEqual([{ id: VM_ID, name: "web", hypervisor: "kvm" }])
      expect(after.terminated.processes).toEqual([])
    }))
})

describe("procfs informer: unreadable files", () => {
  const countLogs = (lines: ReadonlyArray<LogLine>, file: string) =>
    lines.filter((l) => l.annotations["file"] === file).length

  it.scoped("EACCES (injected) on environ and exe: reported with what was readable, counted every refresh, logged once", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, {
        pid: 50,
        comm: "web",
        utime: 1,
        stime: 1,
        startTime: 3,
        exe: "/usr/bin/web",
        cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n`,
        environ: ["HOSTNAME=from-env"],
        cmdline: ["web", "--name", "from-cmdline"]
      })
      const reader = hookedReader({
        fail: (file) => (file.endsWith("/50/environ") || file.endsWith("/50/exe") ? "EACCES" : undefined)
      })
      const lines: Array<LogLine> = []
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })
      const run = informer.refresh.pipe(
        Effect.provide(capturingLogger(lines)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      const first = yield* run
      // An exec (new comm in stat) makes the informer read environ and exe again: still denied.
      yield* writeProcess(root, { pid: 50, comm: "web-2", utime: 5, stime: 1, startTime: 3, exe: "/usr/bin/web" })
      const second = yield* run
      const third = yield* run

      expect(first.processes).toMatchObject([{ pid: 50, exe: "", type: "container", containerId: DOCKER_ID }])
      // the name falls back to the command line when the environment cannot be read
      expect(first.containers.get(DOCKER_ID)?.name).toBe("from-cmdline")
      expect(second.processes).toMatchObject([{ pid: 50, comm: "web-2", exe: "", cpuTicksDelta: 4 }])
      expect(first.stats.unreadableFiles).toBe(2)
      expect(second.stats.unreadableFiles).toBe(2)
      expect(third.stats.unreadableFiles).toBe(0) // no exec: a known process reads only stat
      expect(countLogs(lines, "environ")).toBe(1)
      expect(countLogs(lines, "exe")).toBe(1)
      const environLine = lines.find((l) => l.annotations["file"] === "environ")
      expect(environLine).toMatchObject({ level: "DEBUG", annotations: { pid: 50, reason: "EACCES" } })
      expect(environLine?.message).toContain("environ of process 50")
    }))

  it.scoped("EACCES (injected) on the stat of a new pid: not reported (no identity), counted each refresh, logged once as a warning", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 60, comm: "secret", utime: 1, stime: 1, startTime: 3, exe: "/s" })
      yield* writeProcess(root, { pid: 61, comm: "open", utime: 1, stime: 1, startTime: 4, exe: "/o" })
      const reader = hookedReader({ fail: (file) => (file.endsWith("/60/stat") ? "EACCES" : undefined) })
      const lines: Array<LogLine> = []
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })
      const run = informer.refresh.pipe(Effect.provide(capturingLogger(lines)))
      const first = yield* run
      const second = yield* run
      expect(first.processes.map((p) => p.pid)).toEqual([61])
      expect(second.processes.map((p) => p.pid)).toEqual([61])
      expect([first.stats.unreadableFiles, second.stats.unreadableFiles]).toEqual([1, 1])
      expect(lines.map((l) => [l.level, l.annotations["pid"], l.annotations["file"]])).toEqual([["WARN", 60, "stat"]])
    }))

  it.scoped("a known process whose stat becomes unreadable stays, with delta 0, and is not terminated", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 70, comm: "p", utime: 10, stime: 0, startTime: 3, exe: "/p" })
      let denied = false
      const reader = hookedReader({ fail: (file) => (denied && file.endsWith("/70/stat") ? "EPERM" : undefined) })
      const lines: Array<LogLine> = []
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })
      const run = informer.refresh.pipe(Effect.provide(capturingLogger(lines)))
      yield* run
      denied = true
      const r = yield* run
      const again = yield* run
      expect(r.processes).toMatchObject([{ key: "70:3", cpuTicksTotal: 10, cpuTicksDelta: 0, firstSeen: false }])
      expect(r.terminated.processes).toEqual([])
      expect([r.stats.unreadableFiles, again.stats.unreadableFiles]).toEqual([1, 1])
      expect(lines.map((l) => [l.level, l.annotations["file"], l.annotations["reason"]])).toEqual([[
        "WARN",
        "stat",
        "EPERM"
      ]])
    }))

  describe("a known process whose stat is damaged for one reading keeps its incarnation and continues its ticks", () => {
    const damages: ReadonlyArray<readonly [string, (statFile: string) => void]> = [
      ["missing", (f) => fs.rmSync(f)],
      ["empty", (f) => fs.writeFileSync(f, "")],
      ["truncated before starttime", (f) => fs.writeFileSync(f, fs.readFileSync(f, "latin1").slice(0, 60))],
      ["garbage", (f) => fs.writeFileSync(f, "\u0000\u00ff not a stat line at all")],
      ["a directory", (f) => (fs.rmSync(f), fs.mkdirSync(f))],
      ["starttime moved back", (f) => fs.writeFileSync(f, fs.readFileSync(f, "latin1").replace(" 300 ", " 299 "))],
      ["ticks moved back", (f) => fs.writeFileSync(f, fs.readFileSync(f, "latin1").replace(" 40 2 ", " 4 2 "))],
      // issue 16, item 2: never read past PID_STAT_LIMIT, never anything but a regular file
      ["a symlink to /dev/zero", (f) => (fs.rmSync(f), fs.symlinkSync("/dev/zero", f))],
      ["a FIFO", (f) => (fs.rmSync(f), execFileSync("mkfifo", [f]))],
      ["over 4 KiB", (f) => fs.writeFileSync(f, fs.readFileSync(f, "latin1").replace("\n", ` ${"0 ".repeat(2100)}\n`))]
    ]
    for (const [what, damage] of damages) {
      it.scoped(what, () =>
        Effect.gen(function*() {
          const root = yield* tempProcfs
          const cgroup = `0::/system.slice/docker-${DOCKER_ID}.scope\n`
          yield* writeProcess(root, { pid: 90, comm: "app", utime: 40, stime: 2, startTime: 300, exe: "/app", cgroup })
          const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })
          yield* informer.refresh
          damage(path.join(root, "90", "stat"))
          const bad = yield* informer.refresh
          expect(bad.processes).toMatchObject([{
            key: "90:300",
            cpuTicksTotal: 42,
            cpuTicksDelta: 0,
            firstSeen: false
          }])
          expect(bad.terminated).toEqual({ processes: [], containers: [], vms: [], pods: [] })
          expect([...bad.containers.keys()]).toEqual([DOCKER_ID])
          expect(bad.stats).toMatchObject({ processesVanished: 0, unreadableFiles: 1 })
          yield* writeProcess(root, { pid: 90, comm: "app", utime: 50, stime: 2, startTime: 300, exe: "/app", cgroup })
          const again = yield* informer.refresh
          expect(again.processes).toMatchObject([{
            key: "90:300",
            cpuTicksTotal: 52,
            cpuTicksDelta: 10,
            firstSeen: false
          }])
          expect(again.terminated.processes).toEqual([])
        }))
    }
  })

  it.scoped("a known process whose whole directory is gone has exited: terminated, not kept", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 91, comm: "app", utime: 40, stime: 2, startTime: 300, exe: "/app" })
      // listed, then its directory removed before its stat is read: the race a real exit makes
      let armed = false
      const reader = hookedReader({ afterList: () => armed && fs.rmSync(path.join(root, "91"), { recursive: true }) })
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })
      yield* informer.refresh
      armed = true
      const r = yield* informer.refresh
      expect(r.processes).toEqual([])
      expect(r.stats.processesVanished).toBe(1)
      expect(r.terminated.processes).toEqual(["91:300"])
    }))

  it.scoped("files past their limit or not regular files are unreadable, the process reported with the rest", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, {
        pid: 81,
        comm: "odd",
        utime: 1,
        stime: 1,
        startTime: 3,
        exe: "/odd",
        cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n`
      })
      const file = (name: string) => path.join(root, "81", name)
      fs.rmSync(file("environ"))
      fs.symlinkSync("/dev/zero", file("environ"))
      fs.rmSync(file("cmdline"))
      execFileSync("mkfifo", [file("cmdline")])
      fs.writeFileSync(file("comm"), "x".repeat(4097))
      const lines: Array<LogLine> = []
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })
      const first = yield* informer.refresh.pipe(
        Effect.provide(capturingLogger(lines)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      expect(first.processes).toMatchObject([{
        pid: 81,
        comm: "odd",
        exe: "/odd",
        type: "container",
        containerId: DOCKER_ID
      }])
      expect(first.stats.unreadableFiles).toBe(3)
      expect(lines.map((l) => [l.annotations["file"], l.annotations["reason"]])).toEqual([
        ["comm", "malformed: 4097 bytes, larger than 4096 bytes"],
        ["cmdline", "not a regular file (a FIFO)"],
        ["environ", "not a regular file (a character device)"]
      ])
    }))

  it.scoped("a cgroup file past 128 KiB and a cmdline past 6 MiB are malformed", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 82, comm: "big", utime: 1, stime: 1, startTime: 3, exe: "/big" })
      fs.writeFileSync(path.join(root, "82", "cgroup"), `0::/${"a".repeat(128 * 1024)}\n`)
      fs.writeFileSync(path.join(root, "82", "cmdline"), Buffer.alloc(6 * 1024 * 1024 + 1, 0x61))
      const lines: Array<LogLine> = []
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })
      const first = yield* informer.refresh.pipe(
        Effect.provide(capturingLogger(lines)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      expect(first.processes).toMatchObject([{ pid: 82, type: "regular" }])
      expect(lines.map((l) => [l.annotations["file"], l.annotations["reason"]])).toEqual([
        ["cgroup", `malformed: ${128 * 1024 + 5} bytes, larger than ${128 * 1024} bytes`],
        ["cmdline", `malformed: ${6 * 1024 * 1024 + 1} bytes, larger than ${6 * 1024 * 1024} bytes`]
      ])
    }))

  it.scoped("a real EISDIR (environ is a directory) is unreadable, not fatal", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 80, comm: "odd", utime: 1, stime: 1, startTime: 3, exe: "/odd" })
      fs.rmSync(path.join(root, "80", "environ"))
      fs.mkdirSync(path.join(root, "80", "environ"))
      const lines: Array<LogLine> = []
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })
      const run = informer.refresh.pipe(
        Effect.provide(capturingLogger(lines)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      const first = yield* run
      yield* run
      expect(first.processes).toMatchObject([{ pid: 80, comm: "odd", exe: "/odd" }])
      expect(first.stats.unreadableFiles).toBe(1)
      expect(lines.map((l) => [l.annotations["file"], l.annotations["reason"]])).toEqual([["environ", "EISDIR"]])
    }))

  it.scoped("an unreadable comm falls back to the comm inside stat", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, {
        pid: 90,
        comm: "from-file",
        statComm: "from stat",
        utime: 1,
        stime: 1,
        startTime: 3,
        exe: "/x"
      })
      const reader = hookedReader({ fail: (file) => (file.endsWith("/90/comm") ? "EACCES" : undefined) })
      const r = yield* (yield* makeProcfsInformer({ procfs: root, parallelism: 1, reader })).refresh
      expect(r.processes).toMatchObject([{ pid: 90, comm: "from stat" }])
    }))
})

describe("procfs informer: failures of the refresh itself", () => {
  it.scoped("/proc/stat missing at build time fails with a ResourceError naming it", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      fs.rmSync(path.join(root, "stat"))
      const error = yield* Effect.flip(makeProcfsInformer({ procfs: root, parallelism: 1 }))
      expect(error).toBeInstanceOf(ResourceError)
      expect(error.path).toBe(path.join(root, "stat"))
      expect(error.message).toContain("ENOENT")
    }))

  it.scoped("/proc/stat failing later fails that refresh only; the state is kept for the next one", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      yield* writeProcess(root, { pid: 1, comm: "a", utime: 10, stime: 0, startTime: 1, exe: "/a" })
      const informer = yield* makeProcfsInformer({ procfs: root, parallelism: 1 })
      yield* informer.refresh
      const saved = fs.readFileSync(path.join(root, "stat"))
      fs.writeFileSync(path.join(root, "stat"), "garbage\n")
      yield* writeProcess(root, { pid: 1, comm: "a", utime: 15, stime: 0, startTime: 1, exe: "/a" })
      const failed = yield* Effect.flip(informer.refresh)
      expect(failed).toBeInstanceOf(ResourceError)
      expect(failed.message).toBe(`cannot read ${path.join(root, "stat")}: no aggregate cpu line`)
      fs.writeFileSync(path.join(root, "stat"), saved)
      const r = yield* informer.refresh
      expect(r.processes.map((p) => [p.cpuTicksDelta, p.firstSeen])).toEqual([[5, false]])
      expect(r.node.first).toBe(false)
    }))

  it.scoped("an unlistable procfs fails the refresh with a ResourceError naming the directory", () =>
    Effect.gen(function*() {
      const root = yield* tempProcfs
      const reader = hookedReader({})
      const informer = yield* makeProcfsInformer({
        procfs: root,
        parallelism: 1,
        reader: {
          ...reader,
          readDir: (dir) => {
            throw Object.assign(new Error("denied"), { code: "EACCES", path: dir })
          }
        }
      })
      const error = yield* Effect.flip(informer.refresh)
      expect(error.path).toBe(root)
      expect(error.message).toBe(`cannot read ${root}: cannot list processes: EACCES`)
    }))
})

describe("ResourceInformerLive", () => {
  const configLayer = (procfs: string) =>
    Layer.succeed(AppConfig, {
      ...defaultConfig,
      host: { ...defaultConfig.host, procfs },
      monitor: { ...defaultConfig.monitor, parallelism: 3 }
    })

  it.effect("builds from AppConfig (host.procfs) and refreshes", () =>
    Effect.gen(function*() {
      const informer = yield* ResourceInformer
      expect((yield* informer.refresh).processes).toHaveLength(6)
    }).pipe(Effect.provide(ResourceInformerLive.pipe(Layer.provide(configLayer(FIXTURE))))))

  it.effect("fails to build when <procfs>/stat cannot be read", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(ResourceInformerLive.pipe(Layer.provide(configLayer("/nonexistent-procfs")))).pipe(Effect.scoped)
      )
      expect(error.path).toBe("/nonexistent-procfs/stat")
    }))
})

describe("procfs informer on this machine's /proc", () => {
  it.effect("finds this test process with its exe and ticks, and kernel threads (if visible) with exe \"\"", () =>
    Effect.gen(function*() {
      const informer = yield* makeProcfsInformer({ procfs: "/proc", parallelism: 2 })
      const r = yield* informer.refresh
      const self = r.processes.find((p) => p.pid === process.pid)
      expect(self).toMatchObject({ exe: fs.realpathSync(process.execPath), firstSeen: true, type: "regular" })
      expect(self?.cpuTicksTotal).toBeGreaterThan(0)
      expect(r.node.cpuCount).toBeGreaterThan(0)
      // In a pid namespace (a container) kernel threads are not visible; on a host, kthreadd is pid 2.
      const kthreadd = fs.existsSync("/proc/2/comm") && fs.readFileSync("/proc/2/comm", "utf8").trim() === "kthreadd"
      if (kthreadd) expect(r.processes.find((p) => p.pid === 2)).toMatchObject({ comm: "kthreadd", exe: "" })
      const again = yield* informer.refresh
      expect(again.processes.find((p) => p.pid === process.pid)).toMatchObject({ firstSeen: false })
    }))
})
