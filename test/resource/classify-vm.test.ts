import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { matchVm, splitNul, type VmMatch } from "../../src/resource/classify.js"
import type { Hypervisor } from "../../src/resource/types.js"

const FIXTURES = new URL("../fixtures/resource-classify/", import.meta.url)
const UUID = "df12672f-fedb-4f6f-9d51-0166868835fb"

const vm = (hypervisor: Hypervisor, id: string, name: string): VmMatch => ({ hypervisor, id, name })

describe("matchVm: §4.4 and Kepler's vm_test.go vectors", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, VmMatch | undefined]> = [
    [
      "QEMU with -uuid and a libvirt guest= name",
      ["/usr/bin/qemu-system-x86_64", "-name", "guest=test-vm,debug-threads=on", "-uuid", UUID],
      vm("kvm", UUID, "test-vm")
    ],
    [
      "QEMU without -uuid: the name is the id",
      ["/usr/bin/qemu-system-x86_64", "-name", "guest=test-vm,debug-threads=on"],
      vm("kvm", "test-vm", "test-vm")
    ],
    ["QEMU -name simple", ["/usr/bin/qemu-system-x86_64", "-name", "simple-vm"], vm("kvm", "simple-vm", "simple-vm")],
    ["QEMU -name=value", ["/usr/bin/qemu-system-x86_64", "-name=test-vm"], vm("kvm", "test-vm", "test-vm")],
    [
      "QEMU aarch64",
      ["/usr/bin/qemu-system-aarch64", "-name", "guest=arm-vm", "-uuid", "12345678-1234-5678-9abc-123456789abc"],
      vm("kvm", "12345678-1234-5678-9abc-123456789abc", "arm-vm")
    ],
    [
      "qemu-kvm under libexec (OpenStack, Kepler issue #2276)",
      [
        "/usr/libexec/qemu-kvm",
        "-name",
        "guest=instance-0000008b,debug-threads=on",
        "-S",
        "-object",
        `{"qom-type":"secret","id":"masterKey0","format":"raw","file":"/var/lib/libvirt/qemu/domain-25-instance-0000008b/master-key.aes"}`,
        "-machine",
        "pc-q35-rhel9.4.0,usb=off,dump-guest-core=off,hpet=off,acpi=on",
        "-accel",
        "kvm",
        "-cpu",
        "Broadwell-IBRS",
        "-uuid",
        UUID
      ],
      vm("kvm", UUID, "instance-0000008b")
    ],
    [
      "qemu-kvm under libexec without -uuid",
      ["/usr/libexec/qemu-kvm", "-name", "guest=instance-0000008b,debug-threads=on", "-S", "-accel", "kvm"],
      vm("kvm", "instance-0000008b", "instance-0000008b")
    ],
    ["bin/kvm", ["/usr/bin/kvm", "-name", "test-vm"], vm("kvm", "test-vm", "test-vm")],
    [
      "QEMU with -uuid and no name: name from the id",
      ["/usr/bin/qemu-system-x86_64", "-uuid", UUID],
      vm("kvm", UUID, "kvm-df12672f")
    ],
    [
      "QEMU with no name at all: id from the hex command line (§12 check 12)",
      ["/usr/bin/qemu-system-x86_64", "-machine", "pc", "-m", "1024"],
      vm("kvm", "2f7573722f62696e", "kvm-2f757372")
    ],
    [
      "QEMU with an empty -uuid value falls back to the hex id",
      ["/usr/bin/qemu-system-x86_64", "-uuid", ""],
      vm("kvm", "2f7573722f62696e", "kvm-2f757372")
    ],
    [
      "a trailing -name without a value is no name",
      ["/usr/bin/qemu-system-x86_64", "-name"],
      vm("kvm", "2f7573722f62696e", "kvm-2f757372")
    ],
    [
      "-name containing guest= but no part starting with it: the whole value",
      ["/usr/bin/qemu-system-x86_64", "-name", "vm1,xguest=other"],
      vm("kvm", "vm1,xguest=other", "vm1,xguest=other")
    ],
    [
      "the first -name / -name= wins",
      ["/usr/bin/qemu-system-x86_64", "-name=first", "-name", "second"],
      vm("kvm", "first", "first")
    ],
    [
      "a fallback id shorter than 16 hex digits (a command of fewer than 8 bytes)",
      ["bin/kvm"],
      vm("kvm", "62696e2f6b766d", "kvm-62696e2f")
    ],
    [
      "the fallback id hex-encodes UTF-8 bytes, as Go's []byte(string)",
      ["/opt/vé/bin/kvm"],
      vm("kvm", "2f6f70742f76c3a9", "kvm-2f6f7074")
    ],
    [
      "Xen device model: -xen-domid is the id",
      ["/usr/local/lib/xen/bin/qemu-system-i386", "-xen-domid", "5", "-name", "debian-guest", "-machine", "xenpv"],
      vm("xen", "5", "debian-guest")
    ],
    [
      "Xen with -xen-domid but no value: the QEMU name is the id",
      ["/usr/bin/qemu-system-i386", "-name", "xen-guest", "-xen-domid"],
      vm("xen", "xen-guest", "xen-guest")
    ],
    [
      "Xen without a name: name from the short domain id",
      ["/usr/local/lib/xen/bin/qemu-system-i386", "-xen-domid", "5", "-machine", "xenpv"],
      vm("xen", "5", "xen-5")
    ],
    [
      "-xen-domid without a QEMU match is not a VM",
      ["/usr/sbin/xl", "create", "-xen-domid", "5"],
      undefined
    ],
    [
      "VirtualBox headless: --startvm is the id, --comment the name",
      [
        "/usr/lib/virtualbox/VBoxHeadless",
        "--comment",
        "ubuntu-server",
        "--startvm",
        "8a4c5e12-34ab-4f6f-9d51-0166868835fb",
        "--vrde",
        "config"
      ],
      vm("virtualbox", "8a4c5e12-34ab-4f6f-9d51-0166868835fb", "ubuntu-server")
    ],
    [
      "VirtualBox GUI with single-dash flags",
      ["/usr/lib/virtualbox/VirtualBoxVM", "-comment", "win10", "-startvm", UUID],
      vm("virtualbox", UUID, "win10")
    ],
    [
      "VirtualBox SDL without startvm: --comment is the id",
      ["/usr/lib/virtualbox/VBoxSDL", "--comment", "sdl-vm"],
      vm("virtualbox", "sdl-vm", "sdl-vm")
    ],
    [
      "VirtualBox with neither: hex id and generated name",
      ["/usr/lib/virtualbox/VBoxHeadless", "--startvm"],
      vm("virtualbox", "2f7573722f6c6962", "virtualbox-2f757372")
    ],
    [
      "VMware: the .vmx basename is id and name",
      [
        "/usr/lib/vmware/bin/vmware-vmx",
        "-s",
        "vmx.stdio.keep=TRUE",
        "-@",
        "duplex=3;msgs=ui",
        "/home/user/vmware/UbuntuVM/UbuntuVM.vmx"
      ],
      vm("vmware", "UbuntuVM", "UbuntuVM")
    ],
    [
      "VMware without a .vmx argument",
      ["/usr/lib/vmware/bin/vmware-vmx", "-s", "vmx.stdio.keep=TRUE"],
      vm("vmware", "2f7573722f6c6962", "vmware-2f757372")
    ],
    ["not a VM", ["/usr/bin/firefox", "--profile", "/home/user/.mozilla/firefox"], undefined],
    ["an empty command line (kernel thread)", [], undefined],
    ["qemu-img is not a VM", ["/usr/bin/qemu-img", "convert", "a.qcow2", "b.raw"], undefined],
    [
      "a bare `qemu-system-x86_64` (no bin/) is not matched, as in Kepler",
      ["qemu-system-x86_64", "-m", "1024"],
      undefined
    ]
  ]
  for (const [name, cmdline, expected] of cases) {
    it(name, () => {
      expect(matchVm(cmdline)).toEqual(expected)
    })
  }

  it("the §7.2 fixture's qemu (pid 43251) is kvm df12672f-… named kepler-stuff_default", () => {
    const cmdline = splitNul(readFileSync(new URL("43251/cmdline", FIXTURES), "utf8"))
    expect(cmdline[0]).toBe("/usr/bin/qemu-system-x86_64")
    expect(matchVm(cmdline)).toEqual(vm("kvm", UUID, "kepler-stuff_default"))
  })
})

describe("matchVm: table order and the false-positive caveat", () => {
  it("kvm is tried before vmware", () => {
    expect(matchVm(["/usr/lib/vmware/bin/vmware-vmx", "/srv/bin/kvm"])?.hypervisor).toBe("kvm")
  })

  it("virtualbox is tried before vmware", () => {
    expect(matchVm(["/usr/lib/virtualbox/VBoxHeadless", "--startvm", "u", "/opt/bin/vmware-vmx"])?.hypervisor).toBe(
      "virtualbox"
    )
  })

  it("any process whose arguments mention a hypervisor binary is a VM (Kepler-compatible)", () => {
    expect(matchVm(["/usr/bin/less", "/usr/bin/kvm-ok"])).toEqual(vm("kvm", "2f7573722f62696e", "kvm-2f757372"))
    expect(matchVm(["grep", "-r", "libexec/qemu-kvm", "/etc"])?.hypervisor).toBe("kvm")
  })
})

/** §4.4 as Kepler words it: each pattern against the executable's basename OR the joined command. */
const KEPLER_VM_TABLE: ReadonlyArray<readonly [Hypervisor, RegExp]> = [
  ["kvm", /(bin\/qemu-system-\w+|libexec\/qemu-kvm|bin\/kvm)/],
  ["virtualbox", /virtualbox\/(VBoxHeadless|VBoxSDL|VirtualBoxVM)/],
  ["vmware", /bin\/vmware-vmx/]
]
const referenceHypervisor = (cmdline: ReadonlyArray<string>): Hypervisor | undefined => {
  if (cmdline.length === 0) return undefined
  const exe = path.posix.basename(cmdline[0] ?? "")
  const full = cmdline.join(" ")
  const row = KEPLER_VM_TABLE.find(([, re]) => re.test(exe) || re.test(full))
  if (row === undefined) return undefined
  return row[0] === "kvm" && cmdline.includes("-xen-domid") ? "xen" : row[0]
}

describe("matchVm: properties", () => {
  // Whole hypervisor paths, pieces that only match when joined (to probe the argument-boundary
  // claim), the flags the id/name rules read, and noise.
  const piece = FastCheck.constantFrom(
    "/usr/bin/qemu-system-x86_64",
    "/usr/libexec/qemu-kvm",
    "/usr/bin/kvm",
    "/usr/lib/virtualbox/VBoxHeadless",
    "/usr/lib/vmware/bin/vmware-vmx",
    "/usr/",
    "bin/",
    "libexec/",
    "qemu-system-",
    "x86_64",
    "qemu-kvm",
    "kvm",
    "virtualbox/",
    "VBoxSDL",
    "VirtualBoxVM",
    "vmware-vmx",
    " ",
    "_",
    "-",
    "/"
  )
  const arg = FastCheck.string({
    unit: FastCheck.oneof(piece, FastCheck.string({ unit: "binary", maxLength: 2 })),
    maxLength: 4
  })
  const flag = FastCheck.constantFrom(
    "-xen-domid",
    "-uuid",
    "-name",
    "-name=n",
    "guest=g,debug-threads=on",
    "--startvm",
    "startvm",
    "--comment",
    "/vms/a/a.vmx",
    ".vmx",
    ""
  )
  const cmdlineArb = FastCheck.array(FastCheck.oneof(arg, flag), { maxLength: 6 })

  it("matching each argument agrees with Kepler's basename-or-joined-command rule", () => {
    let matched = 0
    FastCheck.assert(
      FastCheck.property(cmdlineArb, (cmdline) => {
        const expected = referenceHypervisor(cmdline)
        if (expected !== undefined) matched++
        expect(matchVm(cmdline)?.hypervisor).toBe(expected)
      }),
      { seed: 42, numRuns: 3000 }
    )
    // Both outcomes must be common, or the comparison says little.
    expect(matched).toBeGreaterThan(600)
    expect(matched).toBeLessThan(2400)
  })

  it("a match always has a non-empty id and name (they key the VM map)", () => {
    let matched = 0
    FastCheck.assert(
      FastCheck.property(cmdlineArb, (cmdline) => {
        const found = matchVm(cmdline)
        if (found !== undefined) {
          matched++
          expect(found.id).not.toBe("")
          expect(found.name).not.toBe("")
        }
      }),
      { seed: 42, numRuns: 1000 }
    )
    // The generator must actually produce VMs for this property to say anything.
    expect(matched).toBeGreaterThan(100)
  })
})
