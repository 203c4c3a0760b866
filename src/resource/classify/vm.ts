/**
 * Virtual-machine detection from a process's command line (kepler-behaviour.md §4.4).
 * Pure: the procfs reader passes the split `/proc/<pid>/cmdline`.
 */
import type { Hypervisor } from "../types.js"
import { capLabelValue } from "./labelValue.js"
import { baseName } from "./procArgs.js"

export interface VmMatch {
  readonly hypervisor: Hypervisor
  readonly id: string
  readonly name: string
}

interface VmPattern {
  readonly hypervisor: Hypervisor
  /** Non-global, so `test` neither reads nor writes `lastIndex`: shared and stateless. */
  readonly pattern: RegExp
}

/**
 * Kepler's table, tried in order; the first row that matches decides. Xen is not a row: its
 * device model is a QEMU matched by the kvm row and told apart by `-xen-domid`.
 *
 * Caveat, kept for Kepler compatibility: the patterns are unanchored and also run against the
 * arguments, so ANY process whose arguments mention e.g. `bin/kvm` (`less /usr/bin/kvm-ok`,
 * `grep bin/qemu-system-x86_64 …`) is classified as a VM.
 */
const VM_PATTERNS: ReadonlyArray<VmPattern> = [
  { hypervisor: "kvm", pattern: /bin\/qemu-system-\w+|libexec\/qemu-kvm|bin\/kvm/ },
  { hypervisor: "virtualbox", pattern: /virtualbox\/(?:VBoxHeadless|VBoxSDL|VirtualBoxVM)/ },
  { hypervisor: "vmware", pattern: /bin\/vmware-vmx/ }
]

/**
 * Kepler tests each pattern against the executable's basename OR the space-joined command.
 * Testing each argument on its own is equivalent and allocates nothing for the (common)
 * non-VM process: a basename has no "/" (or is just "/") while every pattern needs a "/" and
 * more, so the basename test never adds a match; and no pattern can match a space, so a match
 * in the joined command lies inside one argument. (A property test checks this against the
 * literal rule.)
 */
const matchesSomeArgument = (pattern: RegExp, cmdline: ReadonlyArray<string>): boolean =>
  cmdline.some((arg) => pattern.test(arg))

/** The argument after the first argument that `matches` and is not the last one, or undefined. */
const valueAfter = (cmdline: ReadonlyArray<string>, matches: (arg: string) => boolean): string | undefined => {
  for (let i = 0; i + 1 < cmdline.length; i++) {
    if (matches(cmdline[i] ?? "")) return cmdline[i + 1]
  }
  return undefined
}

const withoutLeadingDashes = (arg: string): string => {
  let i = 0
  while (i < arg.length && arg.charCodeAt(i) === 0x2d) i++
  return arg.slice(i)
}

/**
 * QEMU's `-name <v>` (libvirt writes `guest=<name>,debug-threads=on`: the `guest=` part) or
 * `-name=<v>`, whichever comes first; "" if none. A trailing `-name` without a value is
 * skipped, as Kepler does.
 */
const qemuName = (cmdline: ReadonlyArray<string>): string => {
  for (let i = 0; i < cmdline.length; i++) {
    const arg = cmdline[i] ?? ""
    const value = cmdline[i + 1]
    if (arg === "-name" && value !== undefined) {
      if (value.includes("guest=")) {
        const guest = value.split(",").find((part) => part.startsWith("guest="))
        if (guest !== undefined) return guest.slice("guest=".length)
      }
      return value
    }
    if (arg.startsWith("-name=")) return arg.slice("-name=".length)
  }
  return ""
}

/** VirtualBox's per-VM processes carry the VM's name in `--comment` (any number of dashes). */
const virtualBoxName = (cmdline: ReadonlyArray<string>): string =>
  valueAfter(cmdline, (arg) => withoutLeadingDashes(arg) === "comment") ?? ""

/** vmware-vmx gets the VM's `.vmx` file: its basename without `.vmx` is both ID and name. */
const vmwareName = (cmdline: ReadonlyArray<string>): string => {
  const vmx = cmdline.find((arg) => arg.endsWith(".vmx"))
  return vmx === undefined ? "" : baseName(vmx).slice(0, -".vmx".length)
}

const vmId = (cmdline: ReadonlyArray<string>, hypervisor: Hypervisor): string => {
  switch (hypervisor) {
    case "kvm":
      return valueAfter(cmdline, (arg) => arg === "-uuid") ?? qemuName(cmdline)
    case "xen":
      return valueAfter(cmdline, (arg) => arg === "-xen-domid") ?? qemuName(cmdline)
    case "virtualbox":
      return valueAfter(cmdline, (arg) => withoutLeadingDashes(arg) === "startvm") ?? virtualBoxName(cmdline)
    case "vmware":
      return vmwareName(cmdline)
  }
}

const vmName = (cmdline: ReadonlyArray<string>, hypervisor: Hypervisor): string => {
  switch (hypervisor) {
    case "kvm":
    case "xen":
      return qemuName(cmdline)
    case "virtualbox":
      return virtualBoxName(cmdline)
    case "vmware":
      return vmwareName(cmdline)
  }
}

const UTF8 = new TextEncoder()
const FALLBACK_ID_BYTES = 8

/**
 * Kepler's fallback ID: the first 8 bytes of the UTF-8 command line (joined by spaces), in
 * lowercase hex. Not unique — every unnamed VM started from `/usr/bin` is `2f7573722f62696e` —
 * but compatible. Assumes the reader decoded the file as UTF-8, as Go's `[]byte(string)` sees it.
 */
const fallbackId = (cmdline: ReadonlyArray<string>): string => {
  const bytes = UTF8.encode(cmdline.join(" "))
  let hex = ""
  for (let i = 0; i < Math.min(bytes.length, FALLBACK_ID_BYTES); i++) {
    hex += (bytes[i] ?? 0).toString(16).padStart(2, "0")
  }
  return hex
}

const FALLBACK_NAME_ID_CHARS = 8

/**
 * The VM a process runs, from its command line, or undefined. ID and name follow §4.4 per
 * hypervisor; an empty ID falls back to {@link fallbackId}, an empty name to
 * `<hypervisor>-<first 8 chars of the ID>`. Both are cut to 253 characters (labelValue.ts).
 */
export const matchVm = (cmdline: ReadonlyArray<string>): VmMatch | undefined => {
  const row = VM_PATTERNS.find(({ pattern }) => matchesSomeArgument(pattern, cmdline))
  if (row === undefined) return undefined
  const hypervisor: Hypervisor = row.hypervisor === "kvm" && cmdline.includes("-xen-domid") ? "xen" : row.hypervisor
  const extractedId = capLabelValue(vmId(cmdline, hypervisor))
  const id = extractedId !== "" ? extractedId : fallbackId(cmdline)
  const extractedName = capLabelValue(vmName(cmdline, hypervisor))
  const name = extractedName !== "" ? extractedName : `${hypervisor}-${id.slice(0, FALLBACK_NAME_ID_CHARS)}`
  return { hypervisor, id, name }
}
