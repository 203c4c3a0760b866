import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { type ContainerMatch, containerName, matchContainer } from "../../src/resource/classify.js"
import type { ContainerRuntime } from "../../src/resource/types.js"

// IDs of the §7.2 fixture table and of Kepler's container_test.go; the rest invented.
const DOCKER_FIXTURE_ID = "b176419186d75a44628851daf7841d3374a2ec56d0b038ee3bd1e0c6d331e5b1"
const PODMAN_FIXTURE_ID = "f992ec4ed807f76e5e54c9c67d78f0a4105bf945420271c2558ba905e38d2108"
const KEPLER_DOCKER_ID = "ce82d94d69e1fbbc7feeb66930c69e9b96d9f151f594773e5d0e342741d15437"
const KEPLER_GENERIC_ID = "1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef"
const KIND_OUTER_ID = "fd9d0ea06257a9780827cbc7fd92e3812a54fca26d63e191b73610d5d48b9cbd"
const KIND_INNER_ID = "99f3a16ea25b7724cb56a4f0c0df1113ad9474fbf5545bead97fd5c7f61c13f4"
const ID_A = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
const ID_B = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
const ID_C = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
const POD_UID = "3cae2e45-052c-4b11-80d3-4d7b2d2d3464"
const POD_UID_SYSTEMD = POD_UID.replaceAll("-", "_")

const container = (runtime: ContainerRuntime, id: string): ContainerMatch => ({ runtime, id })

describe("matchContainer: Kepler's test vectors (kepler-behaviour.md §4.3, §12 check 12)", () => {
  // Kepler's tests pass bare paths; here each is a line of a real cgroup file (v2 `0::` unless
  // the vector carries its own v1 prefix), which is what the procfs reader hands over.
  const vectors: ReadonlyArray<readonly [string, string, ContainerMatch | undefined]> = [
    ["docker, hyphen", `0::/docker-${KEPLER_DOCKER_ID}`, container("docker", KEPLER_DOCKER_ID)],
    ["docker, slash", `0::/docker/${KEPLER_DOCKER_ID}`, container("docker", KEPLER_DOCKER_ID)],
    ["crio", `0::/crio-${KEPLER_GENERIC_ID}`, container("crio", KEPLER_GENERIC_ID)],
    ["podman", `0::/libpod-${KEPLER_GENERIC_ID}`, container("podman", KEPLER_GENERIC_ID)],
    ["containerd", `0::/containerd/${KEPLER_GENERIC_ID}`, container("containerd", KEPLER_GENERIC_ID)],
    [
      "v1 hugetlb, docker systemd scope",
      "13:hugetlb:/system.slice/docker-2fa3e04b676df750842faf017052dd37ea0cc5bc7259a3487a1718c7fe100c94.scope",
      container("docker", "2fa3e04b676df750842faf017052dd37ea0cc5bc7259a3487a1718c7fe100c94")
    ],
    [
      "v1 name=systemd, crio under kubepods slices",
      "1:name=systemd:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podd0511cd2_29d2_4215_be0f_f77bc0609d99.slice/crio-f93ee491b8ed2680d5a909eb098b14a9430173b57ca1c4efedd8768566d67e8e.scope",
      container("crio", "f93ee491b8ed2680d5a909eb098b14a9430173b57ca1c4efedd8768566d67e8e")
    ],
    [
      "v2 crio under kubepods slices",
      "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c9f8a79_5391_454b_88cb_86190881cb96.slice/crio-a09343ca97901516c25036e2b954421254f8c68b384b536064e8999f0c4ed18d.scope",
      container("crio", "a09343ca97901516c25036e2b954421254f8c68b384b536064e8999f0c4ed18d")
    ],
    [
      "systemd driver, `slice:cri-containerd:<id>` (colons inside the path)",
      "1:name=systemd:/sys/fs/cgroup/systemd/system.slice/containerd.service/kubepods-burstable-poda3b200c9_db51_40b4_9d2d_53f8fdf80d7f.slice:cri-containerd:286b15051ec43375190802e1f40562536980a8fd97e75bb89c7f2eec6f995f17",
      container("containerd", "286b15051ec43375190802e1f40562536980a8fd97e75bb89c7f2eec6f995f17")
    ],
    [
      "v1 memory, `slice:cri-containerd:<id>`",
      "13:memory:/system.slice/containerd.service/kubepods-besteffort-pod0043435f_1854_4327_b76b_730f681a781d.slice:cri-containerd:01fd96f7ad292b02a8317cde4ecb8c7ef3cc06ffdd113f13410e0837eb2b2a20",
      container("containerd", "01fd96f7ad292b02a8317cde4ecb8c7ef3cc06ffdd113f13410e0837eb2b2a20")
    ],
    [
      "v1 blkio, kubepods cgroupfs",
      "11:blkio:/kubepods/burstable/podf6adb0af-0855-4bab-b25b-c853f18d0ce2/35b97177dada20362ab90d90ac63cd54e8a41cf87bea34f270631b6da17f4a93",
      container("kubernetes", "35b97177dada20362ab90d90ac63cd54e8a41cf87bea34f270631b6da17f4a93")
    ],
    [
      "kubelet/kubepods cgroupfs (path without leading slash)",
      "4:memory:kubelet/kubepods/besteffort/podbdd4097d-6795-404e-9bd8-6a1383386198/c79788e0da15a6597263eb2b9c51d05dd1a9a1d08c53c1161dc8c45d2dac6b38",
      container("kubernetes", "c79788e0da15a6597263eb2b9c51d05dd1a9a1d08c53c1161dc8c45d2dac6b38")
    ],
    [
      "guaranteed QoS pod (no QoS segment)",
      "0::/kubepods/pod51b64565-2b17-4d46-83ac-22e398f2f7fb/65d752a38e1db784d521f48c3f1956f4f9a74ebb923377144f253f3aca9fa028",
      container("kubernetes", "65d752a38e1db784d521f48c3f1956f4f9a74ebb923377144f253f3aca9fa028")
    ],
    [
      "burstable QoS pod",
      "0::/kubepods/burstable/pod5a89bcaa-3509-4375-83e1-b9e7a5712123/a069581483b00a498b3ba172612ffed06b3275a043bf3895c1b19e783e2793ee",
      container("kubernetes", "a069581483b00a498b3ba172612ffed06b3275a043bf3895c1b19e783e2793ee")
    ],
    [
      "OpenShift guaranteed pod, systemd slices",
      "0::/kubepods.slice/kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a.slice/crio-1c33afbc9e5aa6c69150d1af05254b562a4b17c313fc6153e3625cf456922bfe.scope",
      container("crio", "1c33afbc9e5aa6c69150d1af05254b562a4b17c313fc6153e3625cf456922bfe")
    ],
    [
      "OpenShift besteffort pod, systemd slices",
      "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poddbdd9718_6f63_40ef_987e_34776599d7d6.slice/crio-bdf2eeede4551b27acbbb05fb1b4f61925786681734bf128e68d39e17d115098.scope",
      container("crio", "bdf2eeede4551b27acbbb05fb1b4f61925786681734bf128e68d39e17d115098")
    ],
    [
      "podman rootless",
      "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-3f05ee050f82c0145f1d88c94269c39dff0f07dbf8bba20aafd54b3a75dcaecc.scope/container",
      container("podman", "3f05ee050f82c0145f1d88c94269c39dff0f07dbf8bba20aafd54b3a75dcaecc")
    ],
    [
      "podman rootful",
      "0::/machine.slice/libpod-06dc5f321aad8726aa26559f16ec203bc099245bc44894b14a89fc02b022d1d5.scope/container",
      container("podman", "06dc5f321aad8726aa26559f16ec203bc099245bc44894b14a89fc02b022d1d5")
    ],
    [
      "podman libpod scope",
      "0::/machine.slice/libpod-8e363eb2287da4ccc9f52ffc5de11252ac5fe707e3ddb917a3c0bdf9bb64165b.scope",
      container("podman", "8e363eb2287da4ccc9f52ffc5de11252ac5fe707e3ddb917a3c0bdf9bb64165b")
    ],
    [
      "podman quadlet, libpod-payload",
      "0::/system.slice/kepler.service/libpod-payload-8e363eb2287da4ccc9f52ffc5de11252ac5fe707e3ddb917a3c0bdf9bb64165b",
      container("podman", "8e363eb2287da4ccc9f52ffc5de11252ac5fe707e3ddb917a3c0bdf9bb64165b")
    ],
    [
      "kind containerd (cri-containerd scope under kubelet slices)",
      "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod3cae2e45_052c_4b11_80d3_4d7b2d2d3464.slice/cri-containerd-2b180104511194aab36fd295d3e217439f3ddb5bc88277f37b4952abee85c40e.scope",
      container("containerd", "2b180104511194aab36fd295d3e217439f3ddb5bc88277f37b4952abee85c40e")
    ],
    [
      "kind in docker: the deeper cri-containerd match beats the outer docker scope",
      `0::/system.slice/docker-${KIND_OUTER_ID}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-podeab5a334_93fe_48a8_b139_9e8079c1f163.slice/cri-containerd-${KIND_INNER_ID}.scope`,
      container("containerd", KIND_INNER_ID)
    ],
    ["not a container", "0::/system.slice/ssh.service", undefined]
  ]

  for (const [name, file, expected] of vectors) {
    it(name, () => {
      expect(matchContainer(`${file}\n`)).toEqual(expected)
    })
  }

  it("a later v1 line with a container replaces a line without one (Kepler's multi-path case)", () => {
    const file = `1:name=systemd:/system.slice/user.slice\n0::/docker-${KEPLER_DOCKER_ID}\n`
    expect(matchContainer(file)).toEqual(container("docker", KEPLER_DOCKER_ID))
  })
})

describe("matchContainer: cgroup v2 paths per runtime and cgroup driver", () => {
  const cases: ReadonlyArray<readonly [string, string, ContainerMatch | undefined]> = [
    [
      "docker, systemd driver",
      `0::/system.slice/docker-${DOCKER_FIXTURE_ID}.scope`,
      container("docker", DOCKER_FIXTURE_ID)
    ],
    ["docker, cgroupfs driver", `0::/docker/${DOCKER_FIXTURE_ID}`, container("docker", DOCKER_FIXTURE_ID)],
    ["containerd, systemd driver", `0::/system.slice/containerd-${ID_A}.scope`, container("containerd", ID_A)],
    ["containerd, cgroupfs driver", `0::/containerd/${ID_A}`, container("containerd", ID_A)],
    [
      "containerd CRI, systemd driver",
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID_SYSTEMD}.slice/cri-containerd-${ID_B}.scope`,
      container("containerd", ID_B)
    ],
    [
      "containerd CRI, cgroupfs driver (kubepods layout)",
      `0::/kubepods/burstable/pod${POD_UID}/${ID_B}`,
      container("kubernetes", ID_B)
    ],
    [
      "crio, systemd driver",
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_SYSTEMD}.slice/crio-${ID_C}.scope`,
      container("crio", ID_C)
    ],
    ["crio, cgroupfs driver", `0::/kubepods/besteffort/pod${POD_UID}/crio-${ID_C}`, container("crio", ID_C)],
    [
      "podman rootless, systemd driver (fixture id)",
      `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${PODMAN_FIXTURE_ID}.scope/container`,
      container("podman", PODMAN_FIXTURE_ID)
    ],
    [
      "podman, cgroupfs driver",
      `0::/libpod_parent/libpod-${PODMAN_FIXTURE_ID}`,
      container("podman", PODMAN_FIXTURE_ID)
    ],
    [
      "podman payload with a short id (any length)",
      "0::/system.slice/app.service/libpod-payload-c0ffee",
      container("podman", "c0ffee")
    ],
    ["kubernetes cgroupfs, guaranteed", `0::/kubepods/pod${POD_UID}/${ID_A}`, container("kubernetes", ID_A)],
    ["kubernetes cgroupfs, besteffort", `0::/kubepods/besteffort/pod${POD_UID}/${ID_A}`, container("kubernetes", ID_A)],
    [
      "a process in the pod slice itself is in no container",
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID_SYSTEMD}.slice`,
      undefined
    ],
    ["podman's conmon is not the container", `0::/machine.slice/libpod-conmon-${PODMAN_FIXTURE_ID}.scope`, undefined],
    [
      "the fixture's tmux scope",
      "0::/user.slice/user-1000.slice/user@1000.service/tmux-spawn-e780eea5-fcf4-4010-88be-18150805c48e.scope",
      undefined
    ],
    ["the root cgroup", "0::/", undefined],
    ["upper-case hex is not an id", `0::/docker-${DOCKER_FIXTURE_ID.toUpperCase()}`, undefined],
    ["63 hex digits are not an id", `0::/docker-${DOCKER_FIXTURE_ID.slice(1)}.scope`, undefined],
    ["the docker daemon's own service", "0::/system.slice/docker.service", undefined]
  ]
  for (const [name, file, expected] of cases) {
    it(name, () => {
      expect(matchContainer(`${file}\n`)).toEqual(expected)
    })
  }

  it("the last line needs no trailing newline", () => {
    expect(matchContainer(`0::/docker/${ID_A}`)).toEqual(container("docker", ID_A))
  })

  it("an empty file is no container", () => {
    expect(matchContainer("")).toBeUndefined()
  })

  it("a line that is not hierarchy:controllers:path is skipped", () => {
    expect(matchContainer(`/docker-${ID_A}\n`)).toBeUndefined()
    expect(matchContainer(`/docker-${ID_A}\n0::/docker-${ID_B}\n`)).toEqual(container("docker", ID_B))
  })
})

describe("matchContainer: selection rules", () => {
  const V1_CONTROLLERS = [
    "cpuset",
    "cpu,cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls,net_prio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma"
  ]

  it("a v1 multi-line docker file", () => {
    const file = V1_CONTROLLERS.map((c, i) => `${12 - i}:${c}:/docker/${DOCKER_FIXTURE_ID}`).join("\n") +
      `\n1:name=systemd:/docker/${DOCKER_FIXTURE_ID}\n0::/\n`
    expect(matchContainer(file)).toEqual(container("docker", DOCKER_FIXTURE_ID))
  })

  it("a v1 multi-line file of a systemd service is no container", () => {
    const file = V1_CONTROLLERS.map((c, i) => `${12 - i}:${c}:/system.slice/sshd.service`).join("\n") +
      "\n1:name=systemd:/system.slice/sshd.service\n0::/system.slice/sshd.service\n"
    expect(matchContainer(file)).toBeUndefined()
  })

  it("a v1 file with a kubepods cgroupfs path on every controller", () => {
    const file = V1_CONTROLLERS.map((c, i) => `${12 - i}:${c}:/kubepods/burstable/pod${POD_UID}/${ID_A}`).join("\n") +
      "\n"
    expect(matchContainer(file)).toEqual(container("kubernetes", ID_A))
  })

  it("across lines, a strictly deeper match on a later line wins", () => {
    // /docker/<A> starts at 0 of its path; /system.slice/docker-<B>.scope at 13.
    const file = `12:pids:/docker/${ID_A}\n1:name=systemd:/system.slice/docker-${ID_B}.scope\n`
    expect(matchContainer(file)).toEqual(container("docker", ID_B))
  })

  it("across lines, a shallower match on a later line does not replace a deeper one", () => {
    const file = `1:name=systemd:/system.slice/docker-${ID_B}.scope\n12:pids:/docker/${ID_A}\n`
    expect(matchContainer(file)).toEqual(container("docker", ID_B))
  })

  it("across lines, equal offsets keep the earlier line, measured within each path not each line", () => {
    // Both matches start at offset 0 of their paths; the v1 prefix of the later line is longer,
    // so offsets within the line would wrongly make it "deeper".
    const file = `0::/docker/${ID_A}\n12:cpu,cpuacct:/docker/${ID_C}\n`
    expect(matchContainer(file)).toEqual(container("docker", ID_A))
    const reversed = `12:cpu,cpuacct:/docker/${ID_C}\n0::/docker/${ID_A}\n`
    expect(matchContainer(reversed)).toEqual(container("docker", ID_C))
  })

  it("within a path, the deepest of several matches of one pattern wins", () => {
    expect(matchContainer(`0::/docker/${ID_A}/docker/${ID_B}\n`)).toEqual(container("docker", ID_B))
  })

  it("within a path, the deepest match wins across runtimes (podman under kubepods cgroupfs)", () => {
    expect(matchContainer(`0::/kubepods/burstable/pod${POD_UID}/${ID_A}/libpod-${ID_B}.scope\n`)).toEqual(
      container("podman", ID_B)
    )
  })

  it("Kepler's libpod `.*` hides a second libpod id in the same path: the first one is kept", () => {
    expect(matchContainer(`0::/machine.slice/libpod-${ID_A}.scope/libpod-${ID_B}.scope\n`)).toEqual(
      container("podman", ID_A)
    )
    // Go's `.` crosses "\r"; a JS `.` would stop there and expose the second id.
    expect(matchContainer(`0::/libpod-${ID_A}\r/libpod-${ID_B}\n`)).toEqual(container("podman", ID_A))
  })
})

/**
 * §4.3 transcribed as literally as possible (the patterns as the spec prints them, compiled with
 * the `s` flag so `.` is Go's `.` on one line; every match collected; a stable sort on the start
 * offset; across lines strictly greater), as an oracle for the optimised implementation.
 */
const KEPLER_TABLE: ReadonlyArray<readonly [ContainerRuntime, string]> = [
  ["docker", String.raw`/docker[-/]([0-9a-f]{64})`],
  ["containerd", String.raw`/containerd[-/]([0-9a-f]{64})`],
  ["containerd", String.raw`[:/]cri-containerd[-:]([0-9a-f]{64})`],
  ["crio", String.raw`/crio-([0-9a-f]{64})`],
  ["podman", String.raw`libpod-([0-9a-f]{64}).*`],
  ["podman", String.raw`/libpod-payload-([0-9a-f]+)`],
  ["kubernetes", String.raw`/kubepods/(?:[^/]+/)?pod[0-9a-f\-]+/([0-9a-f]{64})`]
]

const referenceMatch = (file: string): ContainerMatch | undefined => {
  let best: { readonly runtime: ContainerRuntime; readonly id: string; readonly start: number } | undefined
  for (const line of file.split("\n")) {
    const fields = line.split(":")
    if (fields.length < 3) continue
    const path = fields.slice(2).join(":")
    const found = KEPLER_TABLE.flatMap(([runtime, source]) =>
      [...path.matchAll(new RegExp(source, "gs"))].map((m) => ({ runtime, id: m[1] ?? "", start: m.index }))
    ).sort((a, b) =>
      b.start - a.start
    )[0]
    if (found !== undefined && (best === undefined || found.start > best.start)) best = found
  }
  return best === undefined ? undefined : { runtime: best.runtime, id: best.id }
}

describe("matchContainer: properties", () => {
  const hexId = FastCheck.stringMatching(/^[0-9a-f]{64}$/)
  const qos = FastCheck.constantFrom("burstable", "besteffort")

  const templates: ReadonlyArray<readonly [ContainerRuntime, (id: string, uid: string, qos: string) => string]> = [
    ["docker", (id) => `0::/system.slice/docker-${id}.scope`],
    ["docker", (id) => `0::/docker/${id}`],
    ["containerd", (id) => `0::/system.slice/containerd-${id}.scope`],
    ["containerd", (id) => `0::/containerd/${id}`],
    [
      "containerd",
      (id, uid, q) =>
        `0::/kubepods.slice/kubepods-${q}.slice/kubepods-${q}-pod${
          uid.replaceAll("-", "_")
        }.slice/cri-containerd-${id}.scope`
    ],
    [
      "containerd",
      (id, uid, q) =>
        `0::/system.slice/containerd.service/kubepods-${q}-pod${uid.replaceAll("-", "_")}.slice:cri-containerd:${id}`
    ],
    [
      "crio",
      (id, uid, q) =>
        `0::/kubepods.slice/kubepods-${q}.slice/kubepods-${q}-pod${uid.replaceAll("-", "_")}.slice/crio-${id}.scope`
    ],
    ["crio", (id, uid, q) => `0::/kubepods/${q}/pod${uid}/crio-${id}`],
    ["podman", (id) => `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${id}.scope/container`],
    ["podman", (id) => `0::/libpod_parent/libpod-${id}`],
    ["podman", (id) => `0::/system.slice/app.service/libpod-payload-${id}`],
    ["kubernetes", (id, uid, q) => `0::/kubepods/${q}/pod${uid}/${id}`],
    ["kubernetes", (id, uid) => `0::/kubepods/pod${uid}/${id}`]
  ]

  it("a random 64-hex id in every runtime's v2 path is recovered exactly", () => {
    FastCheck.assert(
      FastCheck.property(hexId, FastCheck.uuid(), qos, (id, uid, q) => {
        for (const [runtime, template] of templates) {
          expect(matchContainer(`${template(id, uid, q)}\n`)).toEqual(container(runtime, id))
        }
      }),
      { seed: 42, numRuns: 300 }
    )
  })

  const cgroupish = FastCheck.string({
    unit: FastCheck.oneof(
      FastCheck.constantFrom(
        "0::",
        "12:cpu,cpuacct:",
        "1:name=systemd:",
        "\n",
        "/",
        ":",
        "-",
        ".scope",
        ".slice",
        "docker",
        "containerd",
        "cri-containerd",
        "crio",
        "libpod",
        "payload",
        "kubepods",
        "burstable",
        "pod",
        POD_UID,
        ID_A,
        ID_B,
        "c0ffee",
        "\r",
        "\u2028",
        "é"
      ),
      FastCheck.string({ unit: "binary", maxLength: 3 })
    ),
    maxLength: 40
  })

  it("agrees with a literal transcription of §4.3 on generated cgroup files", () => {
    FastCheck.assert(
      FastCheck.property(cgroupish, (file) => {
        expect(matchContainer(file)).toEqual(referenceMatch(file))
      }),
      { seed: 42, numRuns: 3000 }
    )
  })
})

describe("containerName (§4.3 Name)", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, ReadonlyArray<string>, string]> = [
    [
      "HOSTNAME from the environment",
      ["PATH=/bin", "HOSTNAME=b176419186d7", "HOME=/"],
      ["/bin/prometheus"],
      "b176419186d7"
    ],
    ["CONTAINER_NAME from the environment", ["CONTAINER_NAME=test-container"], [], "test-container"],
    ["the first of HOSTNAME / CONTAINER_NAME wins", ["CONTAINER_NAME=first", "HOSTNAME=second"], [], "first"],
    [
      "malformed entries are skipped",
      ["MALFORMED_ENTRY", "HOSTNAME", "CONTAINER_NAME=test-container"],
      [],
      "test-container"
    ],
    ["a key is matched whole, not by prefix", ["HOSTNAMEX=nope", "MY_HOSTNAME=nope"], ["x", "--name=cmd"], "cmd"],
    ["the environment beats the command line", ["HOSTNAME=env"], ["docker", "--name", "cmd"], "env"],
    ["an empty HOSTNAME falls through to the command line", ["HOSTNAME=", "CONTAINER_NAME=later"], [
      "run",
      "--name=cmd"
    ], "cmd"],
    ["--name=value", [], ["/bin/containerd", "--name=test-container"], "test-container"],
    ["--name value", [], ["docker", "run", "--name", "my-prom", "prom/prometheus"], "my-prom"],
    ["--name value at the end", [], ["docker", "run", "--name", "my-container"], "my-container"],
    ["--name without a value", [], ["docker", "run", "--name"], ""],
    [
      "--name deep in a long command",
      [],
      ["docker", "run", "-it", "--rm", "--entrypoint", "/bin/sh", "--name", "my-prom", "docker.io/prom/prometheus"],
      "my-prom"
    ],
    ["argv[0] is never a --name", [], ["--name=self", "arg"], ""],
    [
      "containerd-shim: argv[3]",
      [],
      ["/usr/bin/containerd-shim", "arg1", "arg2", "test-container-name"],
      "test-container-name"
    ],
    [
      "docker-containerd-shim: argv[3]",
      [],
      ["/usr/bin/docker-containerd-shim", "moby", "/run/x", "web-1", "runc"],
      "web-1"
    ],
    ["containerd-shim: a --name before argv[3] wins", [], ["containerd-shim", "--name", "named", "third"], "named"],
    ["containerd-shim with fewer than four arguments", [], ["containerd-shim", "a", "b"], ""],
    ["a non-shim argv[3] is not a name", [], ["/bin/bash", "arg1", "arg2", "arg3"], ""],
    ["a single argument", [], ["docker"], ""],
    ["nothing to go on", [], [], ""]
  ]
  for (const [name, environ, cmdline, expected] of cases) {
    it(name, () => {
      expect(containerName(environ, cmdline)).toBe(expected)
    })
  }
})
