/**
 * A procfs tree for end-to-end tests that shows real processes of this machine as if they ran
 * in containers or were VMs: each listed pid's `stat`, `comm` and `cmdline` are symlinks to the
 * live /proc files (so CPU times are real), and `cgroup` (or `comm` and `cmdline`) are written
 * to say what the test wants. `stat` and `cpuinfo` at the top are the machine's own.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export type Disguise =
  | { readonly _tag: "Plain" }
  | { readonly _tag: "Container"; readonly cgroup: string }
  | { readonly _tag: "Vm"; readonly comm: string; readonly cmdline: ReadonlyArray<string> }

export interface ProcOverlay {
  readonly procfs: string
  readonly remove: () => void
}

/** A containerd container of a Kubernetes pod (systemd cgroup driver layout). */
export const podContainerCgroup = (podUid: string, containerId: string): string =>
  `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${
    podUid.replaceAll("-", "_")
  }.slice/cri-containerd-${containerId}.scope\n`

export const makeProcOverlay = (processes: ReadonlyMap<number, Disguise>): ProcOverlay => {
  const procfs = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-procfs-"))
  fs.symlinkSync("/proc/stat", path.join(procfs, "stat"))
  fs.symlinkSync("/proc/cpuinfo", path.join(procfs, "cpuinfo"))
  for (const [pid, disguise] of processes) {
    const dir = path.join(procfs, String(pid))
    const real = (file: string) => path.join("/proc", String(pid), file)
    fs.mkdirSync(dir)
    fs.symlinkSync(real("stat"), path.join(dir, "stat"))
    fs.symlinkSync(fs.readlinkSync(real("exe")), path.join(dir, "exe"))
    switch (disguise._tag) {
      case "Plain":
        fs.symlinkSync(real("comm"), path.join(dir, "comm"))
        fs.symlinkSync(real("cmdline"), path.join(dir, "cmdline"))
        fs.symlinkSync(real("cgroup"), path.join(dir, "cgroup"))
        break
      case "Container":
        fs.symlinkSync(real("comm"), path.join(dir, "comm"))
        fs.symlinkSync(real("cmdline"), path.join(dir, "cmdline"))
        fs.writeFileSync(path.join(dir, "cgroup"), disguise.cgroup)
        break
      case "Vm":
        fs.writeFileSync(path.join(dir, "comm"), `${disguise.comm}\n`)
        fs.writeFileSync(path.join(dir, "cmdline"), disguise.cmdline.map((a) => `${a}\0`).join(""))
        fs.symlinkSync(real("cgroup"), path.join(dir, "cgroup"))
        break
    }
  }
  return { procfs, remove: () => fs.rmSync(procfs, { recursive: true, force: true }) }
}
