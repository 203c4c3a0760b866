/**
 * Synthetic /proc trees for tests and benchmarks: N processes with realistic `stat` lines
 * (52 fields, comms with spaces and parentheses), `comm`, `cmdline`, `environ`, cgroup files
 * of every container runtime joulemon recognises (cgroup v1 and v2 layouts), qemu VMs,
 * kernel threads (no `exe` link), `exe` symlinks, `/proc/stat` and `cpuinfo` — and, when asked
 * (`cgroupfs`), each container's cgroup CPU usage file (v2 `cpu.stat`, v1 `cpuacct.usage`) at the
 * path its processes' cgroup files name, holding its processes' CPU time plus short-lived work.
 *
 * The tree also returns what a correct informer must find in it (`expected*`), so tests can
 * check a scan of thousands of processes against ground truth, and `advanceProcfsTree`
 * rewrites every `stat` so benchmarks measure the steady state (known processes, moving ticks).
 *
 * Deterministic for a given seed (effect's PCGRandom), synchronous (a script helper).
 */
import { PCGRandom } from "effect/Utils"
import * as fs from "node:fs"
import * as path from "node:path"

export type SyntheticKind = "regular" | "kernel" | "container" | "vm"
export type SyntheticRuntime = "docker" | "containerd" | "crio" | "podman" | "kubernetes"

export interface SyntheticProcess {
  readonly pid: number
  readonly ppid: number
  /** The kernel's task comm (≤ 15 bytes); also the content of `comm`. */
  readonly comm: string
  readonly kind: SyntheticKind
  /** readlink target of `exe`; "" for kernel threads (no link). */
  readonly exe: string
  readonly startTime: number
  readonly utime: number
  readonly stime: number
  /** "" unless kind is container. */
  readonly containerId: string
  /** "" unless kind is vm. */
  readonly vmId: string
}

export interface ExpectedContainer {
  readonly runtime: SyntheticRuntime
  /** How many processes run in it. */
  readonly processes: number
  /** The HOSTNAME its processes carry, "" when they carry none. */
  readonly hostname: string
}

export interface ExpectedVm {
  readonly name: string
}

export interface CpuLine {
  readonly user: number
  readonly nice: number
  readonly system: number
  readonly idle: number
  readonly iowait: number
  readonly irq: number
  readonly softirq: number
  readonly steal: number
}

/** A container's cgroup usage files and what they hold (`GenerateOptions.cgroupfs`). */
export interface SyntheticCgroup {
  /** Usage files under the cgroup mount: v2 `cpu.stat` (µs) and/or v1 `cpuacct.usage` (ns). */
  readonly files: ReadonlyArray<{ readonly file: string; readonly version: 1 | 2 }>
  /** The cgroup's total usage, µs: its processes' ticks × 10,000 plus `shortLivedUsec`. */
  readonly usageUsec: number
  /** Usage of processes that never appear in the tree (started and exited between scans). */
  readonly shortLivedUsec: number
}

export interface ProcfsTree {
  readonly dir: string
  /** The cgroup mount the usage files are under; absent when none were written. */
  readonly cgroupfs?: string
  /** Per container id; empty when `cgroupfs` is absent. */
  readonly cgroups: ReadonlyMap<string, SyntheticCgroup>
  /** Sorted by pid. */
  readonly processes: ReadonlyArray<SyntheticProcess>
  readonly expectedContainers: ReadonlyMap<string, ExpectedContainer>
  readonly expectedVms: ReadonlyMap<string, ExpectedVm>
  /** Aggregate `cpu` line of `<dir>/stat`. */
  readonly cpu: CpuLine
  readonly cpuCount: number
  /** How many times `advanceProcfsTree` produced this tree (0 for a fresh one). */
  readonly generation: number
}

export interface GenerateOptions {
  readonly processes: number
  readonly seed: number
  /** Logical CPUs in `stat` and `cpuinfo` (default 4). */
  readonly cpus?: number
  /** Write each container's cgroup usage files under this directory (a `<sysfs>/fs/cgroup`). */
  readonly cgroupfs?: string
}

const REGULAR_COMMS = [
  "systemd",
  "bash",
  "sshd",
  "tmux: server",
  "(sd-pam)",
  "Web Content",
  "node",
  "postgres",
  "a) (b",
  "python3",
  "containerd",
  "rsyslogd",
  "chronyd",
  "dbus-daemon"
] as const
const KERNEL_COMMS = ["kworker/0:1-events", "ksoftirqd/0", "rcu_sched", "migration/1", "kswapd0"] as const
const CONTAINER_COMMS = ["nginx", "prometheus", "redis-server", "java", "pause", "envoy"] as const
const RUNTIMES: ReadonlyArray<SyntheticRuntime> = ["docker", "containerd", "crio", "podman", "kubernetes"]

/** The 12 cgroup v1 hierarchies, in the order a real host lists them. */
const V1_CONTROLLERS = [
  "12:hugetlb",
  "11:blkio",
  "10:cpuset",
  "9:memory",
  "8:devices",
  "7:freezer",
  "6:net_cls,net_prio",
  "5:perf_event",
  "4:pids",
  "3:cpu,cpuacct",
  "2:rdma",
  "1:name=systemd"
] as const

const pick = <A>(rng: PCGRandom, items: ReadonlyArray<A>): A => {
  const item = items[rng.integer(items.length)]
  if (item === undefined) throw new Error("pick from an empty list")
  return item
}

const hex = (rng: PCGRandom, length: number): string => {
  let out = ""
  while (out.length < length) out += rng.integer(0x10000).toString(16).padStart(4, "0")
  return out.slice(0, length)
}

const uuid = (rng: PCGRandom): string => `${hex(rng, 8)}-${hex(rng, 4)}-${hex(rng, 4)}-${hex(rng, 4)}-${hex(rng, 12)}`

const cgroupFile = (lines: ReadonlyArray<string>): string => lines.join("\n") + "\n"

const v1 = (pathFor: (controller: string) => string): string =>
  cgroupFile(V1_CONTROLLERS.map((c) => `${c}:${pathFor(c)}`))

/**
 * A cgroup file placing a process in container `id` of `runtime` (v1 or v2 by coin flip), and
 * where that container's usage file is under the cgroup mount.
 */
const containerCgroup = (
  rng: PCGRandom,
  runtime: SyntheticRuntime,
  id: string,
  podUid: string
): { readonly file: string; readonly usage: { readonly file: string; readonly version: 1 | 2 } } => {
  const cgroupV2 = rng.integer(2) === 0
  const podSlice = `kubepods-burstable-pod${podUid.replaceAll("-", "_")}.slice`
  const inV2 = (dir: string, leaf = "") => ({
    file: cgroupFile([`0::${dir}${leaf}`]),
    usage: { file: `${dir}/cpu.stat`, version: 2 as const }
  })
  const inV1 = (cpuDir: string, pathFor: (controller: string) => string) => ({
    file: v1(pathFor),
    usage: { file: `/cpu,cpuacct${cpuDir}/cpuacct.usage`, version: 1 as const }
  })
  switch (runtime) {
    case "docker":
      return cgroupV2
        ? inV2(`/system.slice/docker-${id}.scope`)
        : inV1(`/docker/${id}`, (c) => (c === "1:name=systemd" ? `/system.slice/docker-${id}.scope` : `/docker/${id}`))
    case "containerd":
      // Plain containerd (nerdctl) and the CRI plugin under Kubernetes' systemd driver.
      return cgroupV2
        ? inV2(`/kubepods.slice/kubepods-burstable.slice/${podSlice}/cri-containerd-${id}.scope`)
        : inV1(`/containerd/${id}`, () => `/containerd/${id}`)
    case "crio": {
      const dir = `/kubepods.slice/kubepods-burstable.slice/${podSlice}/crio-${id}.scope`
      return cgroupV2 ? inV2(dir) : inV1(dir, () => dir)
    }
    case "podman":
      // Rootless podman v2 puts the processes in a `container` child of the container's scope.
      return cgroupV2
        ? inV2(`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${id}.scope`, "/container")
        : inV1(`/machine.slice/libpod-${id}.scope`, () => `/machine.slice/libpod-${id}.scope`)
    case "kubernetes": {
      // The cgroupfs driver's layout: no runtime in the path, only the pod and the id.
      const dir = `/kubepods/burstable/pod${podUid}/${id}`
      return inV1(dir, () => dir)
    }
  }
}

const USEC_PER_TICK = 10_000

/** Writes a container's usage files (atomically, so a concurrent reader never sees half a file). */
const writeCgroupUsage = (cgroupfs: string, cgroup: SyntheticCgroup): void => {
  for (const { file, version } of cgroup.files) {
    const target = path.join(cgroupfs, file)
    fs.mkdirSync(path.dirname(target), { recursive: true })
    const text = version === 2
      ? `usage_usec ${cgroup.usageUsec}\nuser_usec ${Math.floor(cgroup.usageUsec / 2)}\nsystem_usec ${
        Math.ceil(cgroup.usageUsec / 2)
      }\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n`
      : `${cgroup.usageUsec * 1000 + 417}\n`
    fs.writeFileSync(`${target}.tmp`, text)
    fs.renameSync(`${target}.tmp`, target)
  }
}

/**
 * Each container's cgroup: what its processes used since the previous step (a new process its
 * whole lifetime; one that left keeps what it used in the cgroup, as the kernel does) plus
 * short-lived work a separate random stream decides (so trees without cgroups keep the same
 * processes for the same seed): none for about half the containers, else up to 3 ticks' worth,
 * not a whole number of ticks.
 */
const cgroupsFor = (
  processes: ReadonlyArray<SyntheticProcess>,
  before: ReadonlyArray<SyntheticProcess>,
  locations: ReadonlyMap<string, ReadonlyArray<SyntheticCgroup["files"][number]>>,
  previous: ReadonlyMap<string, SyntheticCgroup>,
  rng: PCGRandom
): Map<string, SyntheticCgroup> => {
  const earlier = new Map(before.map((p) => [`${p.pid}:${p.startTime}`, p.utime + p.stime]))
  const used = new Map<string, number>()
  for (const p of processes) {
    if (p.containerId === "") continue
    const ticks = p.utime + p.stime - (earlier.get(`${p.pid}:${p.startTime}`) ?? 0)
    used.set(p.containerId, (used.get(p.containerId) ?? 0) + ticks)
  }
  const out = new Map<string, SyntheticCgroup>()
  for (const [id, files] of locations) {
    const ticks = used.get(id)
    if (ticks === undefined) continue
    const last = previous.get(id)
    const extra = rng.integer(2) === 0 ? 0 : rng.integer(3 * USEC_PER_TICK)
    out.set(id, {
      files,
      usageUsec: (last?.usageUsec ?? 0) + ticks * USEC_PER_TICK + extra,
      shortLivedUsec: (last?.shortLivedUsec ?? 0) + extra
    })
  }
  return out
}

const regularCgroup = (rng: PCGRandom, pid: number): string =>
  rng.integer(2) === 0
    ? cgroupFile([`0::/user.slice/user-1000.slice/session-${pid % 7}.scope`])
    : v1((c) => (c === "1:name=systemd" ? "/system.slice/sshd.service" : "/"))

const nul = (parts: ReadonlyArray<string>): string => parts.map((p) => `${p}\0`).join("")

const BASE_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/root"]

/** /proc/<pid>/stat: 52 fields; children's times (16, 17) non-zero so a parser using them is caught. */
export const statLine = (p: SyntheticProcess): string => {
  const flags = p.kind === "kernel" ? 69238880 : 4194560
  const vsize = p.kind === "kernel" ? 0 : 10_000_000 + p.pid * 4096
  const rss = p.kind === "kernel" ? 0 : 300 + (p.pid % 5000)
  const tail =
    "18446744073709551615 94879569866752 94879570670867 140732687066528 0 0 0 0 1073745920 402745863 1 0 0 17 " +
    `${p.pid % 4} 0 0 0 0 0 94879570921296 94879571055696 94879999037440 140732687073009 140732687073030 ` +
    "140732687073030 140732687073256 0"
  return (
    `${p.pid} (${p.comm}) S ${p.ppid} ${p.pid} ${p.pid} 0 -1 ${flags} 1711 25 3 1 ` +
    `${p.utime} ${p.stime} ${p.utime % 97} ${p.stime % 89} 20 0 1 0 ${p.startTime} ${vsize} ${rss} ${tail}\n`
  )
}

const procStatFile = (cpu: CpuLine, cpuCount: number, generation: number): string => {
  const line = (label: string, c: CpuLine, div: number): string =>
    `${label} ${
      [c.user, c.nice, c.system, c.idle, c.iowait, c.irq, c.softirq, c.steal]
        .map((v) => Math.floor(v / div))
        .join(" ")
    } 0 0`
  const lines = [line("cpu ", cpu, 1)]
  for (let i = 0; i < cpuCount; i++) lines.push(line(`cpu${i}`, cpu, cpuCount))
  lines.push("intr 1942852373 9 0 0 0 0", `ctxt ${3_000_000_000 + generation}`, "btime 1718000000")
  lines.push("processes 4012345", "procs_running 2", "procs_blocked 0", "softirq 871611223 0 1 2 3")
  return lines.join("\n") + "\n"
}

const cpuinfoFile = (cpuCount: number): string => {
  const blocks: Array<string> = []
  for (let i = 0; i < cpuCount; i++) {
    blocks.push(
      [
        `processor\t: ${i}`,
        "vendor_id\t: GenuineIntel",
        "cpu family\t: 6",
        "model\t\t: 85",
        "model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz",
        `physical id\t: ${i % 2}`,
        `core id\t\t: ${Math.floor(i / 2)}`,
        "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic"
      ].join("\n")
    )
  }
  return blocks.join("\n\n") + "\n\n"
}

const writeProcess = (dir: string, p: SyntheticProcess, cgroup: string, cmdline: string, environ: string): void => {
  const pidDir = path.join(dir, String(p.pid))
  fs.mkdirSync(pidDir)
  fs.writeFileSync(path.join(pidDir, "stat"), statLine(p))
  fs.writeFileSync(path.join(pidDir, "comm"), `${p.comm}\n`)
  fs.writeFileSync(path.join(pidDir, "cgroup"), cgroup)
  fs.writeFileSync(path.join(pidDir, "cmdline"), cmdline)
  fs.writeFileSync(path.join(pidDir, "environ"), environ)
  if (p.exe !== "") fs.symlinkSync(p.exe, path.join(pidDir, "exe"))
}

/**
 * Writes a fresh tree into `dir` (created; must not already hold a tree). About 10 % kernel
 * threads, half the processes in containers (1–4 processes each, every runtime, cgroup v1 and
 * v2), 1 % qemu VMs, the rest regular.
 */
export const generateProcfsTree = (dir: string, options: GenerateOptions): ProcfsTree => {
  const rng = new PCGRandom(options.seed)
  const cpuCount = options.cpus ?? 4
  fs.mkdirSync(dir, { recursive: true })

  const processes: Array<SyntheticProcess> = []
  const expectedContainers = new Map<string, ExpectedContainer>()
  const expectedVms = new Map<string, ExpectedVm>()
  const locations = new Map<string, ReadonlyArray<SyntheticCgroup["files"][number]>>()
  let pid = 0
  let startTime = 5
  // The container being filled: its remaining process slots, so containers hold several pids.
  let open: { id: string; runtime: SyntheticRuntime; podUid: string; hostname: string; slots: number } | undefined

  for (let n = 0; n < options.processes; n++) {
    pid += 1 + rng.integer(n < 200 ? 2 : 60)
    startTime += rng.integer(5000)
    const utime = rng.integer(n % 50 === 0 ? 5_000_000 : 20_000)
    const stime = rng.integer(n % 50 === 0 ? 1_000_000 : 8_000)
    const roll = n === 1 ? 0 : rng.integer(100) // pid 2-ish is kthreadd-like
    const ppid = n === 0 ? 0 : n === 1 ? 0 : roll < 10 ? 2 : 1

    if (roll < 10) {
      const p: SyntheticProcess = {
        pid,
        ppid,
        comm: n === 1 ? "kthreadd" : pick(rng, KERNEL_COMMS),
        kind: "kernel",
        exe: "",
        startTime,
        utime,
        stime,
        containerId: "",
        vmId: ""
      }
      processes.push(p)
      writeProcess(dir, p, cgroupFile(["0::/"]), "", "")
    } else if (roll < 40 || open !== undefined) {
      if (open === undefined) {
        const runtime = pick(rng, RUNTIMES)
        open = {
          id: hex(rng, 64),
          runtime,
          podUid: uuid(rng),
          hostname: rng.integer(2) === 0 ? `app-${hex(rng, 6)}` : "",
          slots: 1 + rng.integer(4)
        }
      }
      const comm = pick(rng, CONTAINER_COMMS)
      const p: SyntheticProcess = {
        pid,
        ppid,
        comm,
        kind: "container",
        exe: `/usr/sbin/${comm}`,
        startTime,
        utime,
        stime,
        containerId: open.id,
        vmId: ""
      }
      processes.push(p)
      const env = open.hostname === "" ? BASE_ENV : [...BASE_ENV, `HOSTNAME=${open.hostname}`]
      const placed = containerCgroup(rng, open.runtime, open.id, open.podUid)
      writeProcess(dir, p, placed.file, nul([comm, "-c", "/etc/app.conf"]), nul(env))
      // The container's cgroup is where its first process's cgroup file says (as joulemon reads it).
      if (!locations.has(open.id)) locations.set(open.id, [placed.usage])
      const seen = expectedContainers.get(open.id)
      expectedContainers.set(open.id, {
        runtime: open.runtime,
        hostname: open.hostname,
        processes: (seen?.processes ?? 0) + 1
      })
      open.slots -= 1
      if (open.slots === 0) open = undefined
    } else if (roll < 41) {
      const vmId = uuid(rng)
      const name = `vm-${expectedVms.size}`
      const p: SyntheticProcess = {
        pid,
        ppid,
        comm: "qemu-system-x86",
        kind: "vm",
        exe: "/usr/bin/qemu-system-x86_64",
        startTime,
        utime,
        stime,
        containerId: "",
        vmId
      }
      processes.push(p)
      const cmdline = nul([
        "/usr/bin/qemu-system-x86_64",
        "-name",
        `guest=${name},debug-threads=on`,
        "-S",
        "-machine",
        "pc-q35-8.2,usb=off,dump-guest-core=off",
        "-accel",
        "kvm",
        "-m",
        "2048",
        "-smp",
        "2",
        "-uuid",
        vmId,
        "-no-user-config",
        "-nodefaults"
      ])
      const cgroup = cgroupFile([
        `0::/machine.slice/machine-qemu\\x2d${expectedVms.size + 1}\\x2d${name}.scope/libvirt/emulator`
      ])
      writeProcess(dir, p, cgroup, cmdline, nul(["LC_ALL=C", ...BASE_ENV]))
      expectedVms.set(vmId, { name })
    } else {
      const comm = pick(rng, REGULAR_COMMS)
      const p: SyntheticProcess = {
        pid,
        ppid,
        comm,
        kind: "regular",
        exe: `/usr/bin/${comm.replace(/[^a-z0-9]/gi, "")}`,
        startTime,
        utime,
        stime,
        containerId: "",
        vmId: ""
      }
      processes.push(p)
      writeProcess(
        dir,
        p,
        regularCgroup(rng, pid),
        nul([comm, "--flag", `--id=${n}`]),
        nul([...BASE_ENV, `USER=u${n % 9}`])
      )
    }
  }

  // What a real /proc also holds: non-numeric entries the scanner must skip.
  fs.writeFileSync(path.join(dir, "uptime"), "350735.47 234388.90\n")
  fs.writeFileSync(path.join(dir, "loadavg"), "0.10 0.20 0.30 1/123 4567\n")
  fs.mkdirSync(path.join(dir, "sys"))
  fs.mkdirSync(path.join(dir, "1a2b"))
  const first = processes[0]
  if (first !== undefined) fs.symlinkSync(String(first.pid), path.join(dir, "self"))
  fs.writeFileSync(path.join(dir, "cpuinfo"), cpuinfoFile(cpuCount))

  const cpu: CpuLine = {
    user: 8608833,
    nice: 7605,
    system: 4179891,
    idle: 1295036209,
    iowait: 426072,
    irq: 15697,
    softirq: 1285624,
    steal: 0
  }
  fs.writeFileSync(path.join(dir, "stat"), procStatFile(cpu, cpuCount, 0))
  const cgroupfs = options.cgroupfs
  if (cgroupfs === undefined) {
    return { dir, cgroups: new Map(), processes, expectedContainers, expectedVms, cpu, cpuCount, generation: 0 }
  }
  const cgroups = cgroupsFor(processes, [], locations, new Map(), new PCGRandom(options.seed, 0xc9))
  for (const c of cgroups.values()) writeCgroupUsage(cgroupfs, c)
  return { dir, cgroupfs, cgroups, processes, expectedContainers, expectedVms, cpu, cpuCount, generation: 0 }
}

export interface AdvanceOptions {
  /** Every process gains 1..maxTicks ticks (utime + stime); default 50. */
  readonly maxTicks?: number
}

/**
 * Moves every process's CPU time forward (rewriting every `stat`) and the node's `/proc/stat`,
 * so a scanner sees known processes whose ticks changed: the steady state.
 */
export const advanceProcfsTree = (tree: ProcfsTree, options: AdvanceOptions = {}): ProcfsTree => {
  const generation = tree.generation + 1
  const rng = new PCGRandom(generation, tree.processes.length)
  const maxTicks = options.maxTicks ?? 50
  let busy = 0
  const processes = tree.processes.map((p): SyntheticProcess => {
    const add = 1 + rng.integer(maxTicks)
    const toUser = rng.integer(add + 1)
    busy += add
    const next = { ...p, utime: p.utime + toUser, stime: p.stime + (add - toUser) }
    fs.writeFileSync(path.join(tree.dir, String(p.pid), "stat"), statLine(next))
    return next
  })
  const cgroups = nextCgroups(tree, processes, generation)
  // The node also ran the containers' short-lived work.
  let shortLived = 0
  for (const [id, c] of cgroups) shortLived += c.shortLivedUsec - (tree.cgroups.get(id)?.shortLivedUsec ?? 0)
  const c = tree.cpu
  const cpu: CpuLine = {
    ...c,
    user: c.user + busy + Math.floor(shortLived / USEC_PER_TICK),
    system: c.system + 1,
    idle: c.idle + 100 * tree.cpuCount
  }
  fs.writeFileSync(path.join(tree.dir, "stat"), procStatFile(cpu, tree.cpuCount, generation))
  return { ...tree, processes, cpu, generation, cgroups }
}

export interface ChurnOptions {
  /** Processes that exit (their directories disappear). */
  readonly exits: number
  /** Processes that start, with fresh pids above every pid so far; half in new containers. */
  readonly births: number
}

/**
 * Process churn: `exits` non-kernel processes leave, `births` new ones arrive (half of them each
 * in a new docker container, so containers churn too). For memory benchmarks: nothing about the
 * departed may stay in joulemon's state beyond the bounded terminated lists.
 */
export const churnProcfsTree = (tree: ProcfsTree, options: ChurnOptions): ProcfsTree => {
  const generation = tree.generation + 1
  const rng = new PCGRandom(generation + 7, tree.processes.length)
  const leaving = new Set<number>()
  const candidates = tree.processes.filter((p) => p.kind !== "kernel")
  for (let i = 0; i < options.exits && i < candidates.length; i++) {
    const p = candidates[(i * 7919) % candidates.length]
    if (p !== undefined) leaving.add(p.pid)
  }
  for (const pid of leaving) fs.rmSync(path.join(tree.dir, String(pid)), { recursive: true, force: true })
  const kept = tree.processes.filter((p) => !leaving.has(p.pid))
  let pid = tree.processes.reduce((max, p) => Math.max(max, p.pid), 0)
  let startTime = tree.processes.reduce((max, p) => Math.max(max, p.startTime), 0)
  const born: Array<SyntheticProcess> = []
  const bornIn = new Map<string, ReadonlyArray<SyntheticCgroup["files"][number]>>()
  for (let n = 0; n < options.births; n++) {
    pid += 1 + rng.integer(3)
    startTime += 1 + rng.integer(50)
    const inContainer = n % 2 === 0
    const containerId = inContainer ? hex(rng, 64) : ""
    const p: SyntheticProcess = {
      pid,
      ppid: 1,
      comm: inContainer ? "job" : "cron-task",
      kind: inContainer ? "container" : "regular",
      exe: inContainer ? "/usr/bin/job" : "/usr/bin/cron-task",
      startTime,
      utime: rng.integer(300),
      stime: rng.integer(100),
      containerId,
      vmId: ""
    }
    const cgroup = inContainer ? cgroupFile([`0::/system.slice/docker-${containerId}.scope`]) : regularCgroup(rng, pid)
    if (inContainer) {
      bornIn.set(containerId, [{ file: `/system.slice/docker-${containerId}.scope/cpu.stat`, version: 2 }])
    }
    writeProcess(tree.dir, p, cgroup, nul([p.comm, `--n=${n}`]), nul(BASE_ENV))
    born.push(p)
  }
  const processes = [...kept, ...born].sort((a, b) => a.pid - b.pid)
  return { ...tree, processes, generation, cgroups: nextCgroups(tree, processes, generation, bornIn) }
}

/**
 * The cgroups after a step: containers still running keep their files and add their processes'
 * new ticks and more short-lived work (`tree` is the tree before the step); a container whose last process left loses its cgroup
 * directory (as the runtime removes it); `born` are new containers' locations.
 */
const nextCgroups = (
  tree: ProcfsTree,
  processes: ReadonlyArray<SyntheticProcess>,
  generation: number,
  born: ReadonlyMap<string, ReadonlyArray<SyntheticCgroup["files"][number]>> = new Map()
): ReadonlyMap<string, SyntheticCgroup> => {
  const cgroupfs = tree.cgroupfs
  if (cgroupfs === undefined) return tree.cgroups
  const locations = new Map([...tree.cgroups].map(([id, c]) => [id, c.files]))
  for (const [id, files] of born) locations.set(id, files)
  const next = cgroupsFor(processes, tree.processes, locations, tree.cgroups, new PCGRandom(generation, 0xc9))
  for (const [id, c] of tree.cgroups) {
    if (next.has(id)) continue
    for (const { file } of c.files) fs.rmSync(path.dirname(path.join(cgroupfs, file)), { recursive: true, force: true })
  }
  for (const c of next.values()) writeCgroupUsage(cgroupfs, c)
  return next
}
