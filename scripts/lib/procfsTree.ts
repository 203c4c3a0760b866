/**
 * Synthetic /proc trees for tests and benchmarks: N processes with realistic `stat` lines
 * (52 fields, comms with spaces and parentheses), `comm`, `cmdline`, `environ`, cgroup files
 * of every container runtime joulemon recognises (cgroup v1 and v2 layouts), qemu VMs,
 * kernel threads (no `exe` link), `exe` symlinks, `/proc/stat` and `cpuinfo`.
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

export interface ProcfsTree {
  readonly dir: string
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

/** A cgroup file placing a process in container `id` of `runtime`; v1 or v2 by coin flip. */
const containerCgroup = (rng: PCGRandom, runtime: SyntheticRuntime, id: string, podUid: string): string => {
  const cgroupV2 = rng.integer(2) === 0
  const podSlice = `kubepods-burstable-pod${podUid.replaceAll("-", "_")}.slice`
  switch (runtime) {
    case "docker":
      return cgroupV2
        ? cgroupFile([`0::/system.slice/docker-${id}.scope`])
        : v1((c) => (c === "1:name=systemd" ? `/system.slice/docker-${id}.scope` : `/docker/${id}`))
    case "containerd":
      // Plain containerd (nerdctl) and the CRI plugin under Kubernetes' systemd driver.
      return cgroupV2
        ? cgroupFile([`0::/kubepods.slice/kubepods-burstable.slice/${podSlice}/cri-containerd-${id}.scope`])
        : v1(() => `/containerd/${id}`)
    case "crio":
      return cgroupV2
        ? cgroupFile([`0::/kubepods.slice/kubepods-burstable.slice/${podSlice}/crio-${id}.scope`])
        : v1(() => `/kubepods.slice/kubepods-burstable.slice/${podSlice}/crio-${id}.scope`)
    case "podman":
      return cgroupV2
        ? cgroupFile([`0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${id}.scope/container`])
        : v1(() => `/machine.slice/libpod-${id}.scope`)
    case "kubernetes":
      // The cgroupfs driver's layout: no runtime in the path, only the pod and the id.
      return v1(() => `/kubepods/burstable/pod${podUid}/${id}`)
  }
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
      writeProcess(
        dir,
        p,
        containerCgroup(rng, open.runtime, open.id, open.podUid),
        nul([comm, "-c", "/etc/app.conf"]),
        nul(env)
      )
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
  return { dir, processes, expectedContainers, expectedVms, cpu, cpuCount, generation: 0 }
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
  const c = tree.cpu
  const cpu: CpuLine = { ...c, user: c.user + busy, system: c.system + 1, idle: c.idle + 100 * tree.cpuCount }
  fs.writeFileSync(path.join(tree.dir, "stat"), procStatFile(cpu, tree.cpuCount, generation))
  return { ...tree, processes, cpu, generation }
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
    writeProcess(tree.dir, p, cgroup, nul([p.comm, `--n=${n}`]), nul(BASE_ENV))
    born.push(p)
  }
  return { ...tree, processes: [...kept, ...born].sort((a, b) => a.pid - b.pid), generation }
}
