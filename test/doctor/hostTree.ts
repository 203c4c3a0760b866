/**
 * Synthetic host trees for the doctor: a sysfs and a procfs under one temporary directory,
 * built from a short description, removed with the scope.
 */
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export type EnergyFile = "counter" | "directory" | "fifo"

export interface TreeSpec {
  /** Zone names in powercap order (first is `intel-rapl:0`); undefined: no powercap directory. */
  readonly raplZones?: ReadonlyArray<string>
  readonly energy?: EnergyFile
  readonly cgroup?: "v1" | "v2" | "none"
  readonly cpuinfoFlags?: string
  readonly sysVendor?: string
  /** uid of joulemon itself (/proc/self/status). */
  readonly selfUid?: number
  readonly otherUid?: number
  readonly cgroupOfOther?: string
  /** One hwmon device with this name and these files (`power1_input`, …). */
  readonly hwmon?: { readonly name: string; readonly files: ReadonlyArray<string> }
  /** CapEff of joulemon itself, in hex as /proc/<pid>/status writes it. */
  readonly selfCapEff?: string
}

export interface HostTree {
  readonly sysfs: string
  readonly procfs: string
}

const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text)
}

const status = (pid: number, uid: number, capEff = "0000000000000000") =>
  `Name:\tproc${pid}\nPid:\t${pid}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nCapEff:\t${capEff}\n`

export const buildTree = (root: string, spec: TreeSpec): HostTree => {
  const sysfs = path.join(root, "sys")
  const procfs = path.join(root, "proc")
  write(path.join(sysfs, "kernel", "README"), "synthetic\n")
  if (spec.raplZones !== undefined) {
    spec.raplZones.forEach((name, i) => {
      const dir = path.join(sysfs, "class", "powercap", i === 0 ? "intel-rapl:0" : `intel-rapl:0:${i - 1}`)
      write(path.join(dir, "name"), `${name}\n`)
      write(path.join(dir, "max_energy_range_uj"), "262143328850\n")
      const energy = path.join(dir, "energy_uj")
      switch (spec.energy ?? "counter") {
        case "counter":
          write(energy, "123456789\n")
          break
        case "directory":
          fs.mkdirSync(energy)
          break
        case "fifo":
          execFileSync("mkfifo", [energy])
          break
      }
    })
  }
  const cgroup = path.join(sysfs, "fs", "cgroup")
  if (spec.cgroup === "v2") write(path.join(cgroup, "cgroup.controllers"), "cpuset cpu io memory pids\n")
  if (spec.cgroup === "v1") {
    for (const h of ["cpu,cpuacct", "memory", "pids"]) fs.mkdirSync(path.join(cgroup, h), { recursive: true })
  }
  if (spec.hwmon !== undefined) {
    const dir = path.join(sysfs, "class", "hwmon", "hwmon0")
    write(path.join(dir, "name"), `${spec.hwmon.name}\n`)
    for (const f of spec.hwmon.files) write(path.join(dir, f), "0\n")
  }
  if (spec.sysVendor !== undefined) write(path.join(sysfs, "class", "dmi", "id", "sys_vendor"), `${spec.sysVendor}\n`)

  write(path.join(procfs, "sys", "kernel", "osrelease"), "6.8.0-45-generic\n")
  write(path.join(procfs, "stat"), "cpu  100 0 100 1000 0 0 0 0 0 0\ncpu0 100 0 100 1000 0 0 0 0 0 0\n")
  write(path.join(procfs, "cpuinfo"), `processor\t: 0\nflags\t\t: ${spec.cpuinfoFlags ?? "fpu vme de pse"}\n`)
  write(path.join(procfs, "self", "status"), status(4242, spec.selfUid ?? 1000, spec.selfCapEff))
  const other = path.join(procfs, "1")
  write(path.join(other, "status"), status(1, spec.otherUid ?? 0))
  write(path.join(other, "environ"), "HOSTNAME=web-1\u0000")
  write(path.join(other, "cgroup"), spec.cgroupOfOther ?? "0::/init.scope\n")
  fs.symlinkSync("/usr/lib/systemd/systemd", path.join(other, "exe"))
  return { sysfs, procfs }
}

/** A tree as `spec` says, in a temporary directory that lives as long as the scope. */
export const hostTree = (spec: TreeSpec) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-doctor-"))
      return { root, tree: buildTree(root, spec) }
    }),
    ({ root }) => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))
  ).pipe(Effect.map(({ tree }) => tree))
