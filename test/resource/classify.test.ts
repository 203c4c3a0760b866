import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { readFileSync } from "node:fs"
import { baseName, type Classification, classifyProcess, splitNul } from "../../src/resource/classify.js"

const FIXTURES = new URL("../fixtures/resource-classify/", import.meta.url)
const DOCKER_ID = "b176419186d75a44628851daf7841d3374a2ec56d0b038ee3bd1e0c6d331e5b1"
const PODMAN_ID = "f992ec4ed807f76e5e54c9c67d78f0a4105bf945420271c2558ba905e38d2108"

/** The three files of one §7.2 fixture process, as the procfs reader would pass them. */
const fixtureProcess = (pid: number) => {
  const read = (file: string) => readFileSync(new URL(`${pid}/${file}`, FIXTURES), "utf8")
  return { cgroup: read("cgroup"), cmdline: splitNul(read("cmdline")), environ: splitNul(read("environ")) }
}

describe("classifyProcess: the §7.2 procfs fixture (§12 check 11)", () => {
  const expected: ReadonlyArray<readonly [number, Classification]> = [
    [1337, { type: "regular" }],
    [3456208, { type: "container", container: { runtime: "docker", id: DOCKER_ID, name: "b176419186d7" } }],
    // nginx rewrote its argv and environ: no HOSTNAME, one argument, so no name (as in Kepler).
    [3538317, { type: "container", container: { runtime: "podman", id: PODMAN_ID, name: "" } }],
    [3538344, { type: "container", container: { runtime: "podman", id: PODMAN_ID, name: "" } }],
    [3538356, { type: "container", container: { runtime: "podman", id: PODMAN_ID, name: "" } }],
    [
      43251,
      {
        type: "vm",
        vm: { hypervisor: "kvm", id: "df12672f-fedb-4f6f-9d51-0166868835fb", name: "kepler-stuff_default" }
      }
    ]
  ]
  for (const [pid, classification] of expected) {
    it(`pid ${pid} → ${classification.type}`, () => {
      expect(classifyProcess(fixtureProcess(pid))).toEqual(classification)
    })
  }
})

describe("classifyProcess: precedence", () => {
  const qemu = [
    "/usr/bin/qemu-system-x86_64",
    "-name",
    "guest=inner,debug-threads=on",
    "-uuid",
    "df12672f-fedb-4f6f-9d51-0166868835fb"
  ]

  it("a container match beats a VM match (a QEMU inside a container)", () => {
    const result = classifyProcess({
      cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n`,
      cmdline: qemu,
      environ: ["HOSTNAME=vm-runner"]
    })
    expect(result).toEqual({ type: "container", container: { runtime: "docker", id: DOCKER_ID, name: "vm-runner" } })
  })

  it("the same QEMU outside a container is a VM", () => {
    const result = classifyProcess({ cgroup: "0::/machine.slice/machine-qemu.scope\n", cmdline: qemu, environ: [] })
    expect(result).toEqual({
      type: "vm",
      vm: { hypervisor: "kvm", id: "df12672f-fedb-4f6f-9d51-0166868835fb", name: "inner" }
    })
  })

  it("/system.slice/ssh.service with an ordinary command is regular", () => {
    const result = classifyProcess({
      cgroup: "0::/system.slice/ssh.service\n",
      cmdline: ["sshd: /usr/sbin/sshd -D"],
      environ: []
    })
    expect(result).toEqual({ type: "regular" })
  })

  it("a container's name comes from --name when the environment has none", () => {
    const result = classifyProcess({
      cgroup: `0::/libpod_parent/libpod-${PODMAN_ID}\n`,
      cmdline: ["/usr/bin/conmon", "--name", "web"],
      environ: ["PATH=/bin"]
    })
    expect(result).toEqual({ type: "container", container: { runtime: "podman", id: PODMAN_ID, name: "web" } })
  })

  it("a container's name comes from argv[3] of a containerd shim", () => {
    const result = classifyProcess({
      cgroup: `0::/containerd/${DOCKER_ID}\n`,
      cmdline: ["/usr/bin/containerd-shim", "moby", "/run/containerd/io", "api-1", "runc"],
      environ: []
    })
    expect(result).toEqual({ type: "container", container: { runtime: "containerd", id: DOCKER_ID, name: "api-1" } })
  })
})

describe("splitNul", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["a\0b\0", ["a", "b"]],
    ["a\0b", ["a", "b"]],
    ["a\0\0b\0", ["a", "", "b"]],
    ["nginx: master process nginx -g daemon off;\0\0\0\0\0", ["nginx: master process nginx -g daemon off;"]],
    ["\0\0", []],
    ["", []],
    ["\0a\0", ["", "a"]]
  ]
  for (const [content, expected] of cases) {
    it(JSON.stringify(content), () => {
      expect(splitNul(content)).toEqual(expected)
    })
  }

  it("the fixture's argv-rewriting nginx environ keeps only its text", () => {
    expect(splitNul(readFileSync(new URL("3538317/environ", FIXTURES), "utf8"))).toEqual([" nginx -g daemon off;"])
  })

  it("round-trips any NUL-terminated argument list whose last argument is non-empty", () => {
    const args = FastCheck.array(FastCheck.string({ unit: "binary" }).map((s) => s.replaceAll("\0", "")), {
      maxLength: 8
    }).filter(
      (a) => a.length === 0 || a[a.length - 1] !== ""
    )
    FastCheck.assert(
      FastCheck.property(args, FastCheck.integer({ min: 0, max: 3 }), (list, extraNuls) => {
        const content = list.length === 0 ? "\0".repeat(extraNuls) : list.join("\0") + "\0".repeat(1 + extraNuls)
        expect(splitNul(content)).toEqual(list)
      }),
      { seed: 42, numRuns: 500 }
    )
  })
})

describe("baseName (Go's filepath.Base)", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["/usr/bin/containerd-shim", "containerd-shim"],
    ["/usr/bin/containerd-shim/", "containerd-shim"],
    ["containerd-shim", "containerd-shim"],
    ["a/b//", "b"],
    ["/", "/"],
    ["///", "/"],
    ["", "."]
  ]
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => {
      expect(baseName(input)).toBe(expected)
    })
  }
})

describe("classifyProcess: properties", () => {
  const fragment = FastCheck.constantFrom(
    "0::/",
    "12:cpu:/",
    "\n",
    ":",
    "/",
    "docker-",
    "/docker/",
    "cri-containerd-",
    "/crio-",
    "libpod-",
    "libpod-payload-",
    "/kubepods/",
    "pod",
    DOCKER_ID,
    PODMAN_ID,
    ".scope",
    "bin/kvm",
    "/usr/bin/qemu-system-x86_64",
    "virtualbox/VBoxSDL",
    "bin/vmware-vmx",
    "-uuid",
    "-name",
    "--name",
    "-xen-domid",
    "--startvm",
    "--comment",
    "x.vmx",
    "HOSTNAME=",
    "CONTAINER_NAME=",
    "="
  )
  const text = FastCheck.oneof(
    FastCheck.string({ unit: "binary", maxLength: 60 }),
    FastCheck.string({
      unit: FastCheck.oneof(fragment, FastCheck.string({ unit: "binary", maxLength: 2 })),
      maxLength: 12
    })
  )
  const input = FastCheck.record({
    cgroup: text,
    cmdline: FastCheck.array(text, { maxLength: 6 }),
    environ: FastCheck.array(text, { maxLength: 4 })
  })

  it("never throws on arbitrary input and always returns a well-formed classification", () => {
    const seen = new Set<string>()
    FastCheck.assert(
      FastCheck.property(input, (process) => {
        const result = classifyProcess(process)
        seen.add(result.type)
        switch (result.type) {
          case "regular":
            break
          case "container":
            expect(["docker", "containerd", "crio", "podman", "kubernetes"]).toContain(result.container.runtime)
            expect(result.container.id).toMatch(/^[0-9a-f]+$/)
            expect(process.cgroup).toContain(result.container.id)
            break
          case "vm":
            expect(["kvm", "xen", "virtualbox", "vmware"]).toContain(result.vm.hypervisor)
            expect(result.vm.id).not.toBe("")
            expect(result.vm.name).not.toBe("")
            break
        }
      }),
      { seed: 42, numRuns: 3000 }
    )
    // All three outcomes must occur, or the generator is not exercising the classifier.
    expect([...seen].sort()).toEqual(["container", "regular", "vm"])
  })
})
