import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { PodList } from "../../src/k8s/kubeObjects.js"
import { cpuMillis, indexPods, stripRuntimePrefix } from "../../src/k8s/podIndex.js"
import { containerIds, fixture, podUids } from "./fakeKube.js"

const decodePods = Schema.decodeUnknownSync(PodList)

describe("stripRuntimePrefix", () => {
  it.each([
    ["containerd://8a32e5", "8a32e5"],
    ["cri-o://8a32e5", "8a32e5"],
    ["docker://8a32e5", "8a32e5"],
    ["8a32e5", "8a32e5"],
    ["", ""]
  ])("%s → %s", (input, expected) => {
    expect(stripRuntimePrefix(input)).toBe(expected)
  })
})

describe("indexPods on a kubelet /pods body", () => {
  const list = decodePods(JSON.parse(fixture("kubelet-pods.json").toString("utf8")))

  it("decodes every pod, ignoring the fields joulemon does not read", () => {
    expect(list.items.map((p) => p.metadata.name)).toEqual([
      "coredns-5d78c9869d-7xk2p",
      "web-6c7f9d8b5-q2w4e",
      "joulemon-8kq2z",
      "kube-proxy-x9z8y",
      "report-28475520-abcde"
    ])
  })

  it("indexes regular, init and ephemeral containers; skips containers without an id and old incarnations", () => {
    const index = indexPods(list.items)
    expect([...index.keys()].sort()).toEqual(
      [
        containerIds.coredns,
        containerIds.logShipper,
        containerIds.nginx,
        containerIds.migrate,
        containerIds.debugger,
        containerIds.joulemon,
        containerIds.kubeProxy
      ].sort()
    )
    expect(index.get(containerIds.debugger)).toEqual({
      podId: podUids.web,
      podName: "web-6c7f9d8b5-q2w4e",
      namespace: "default",
      containerName: "debugger-x7k2",
      // An ephemeral container has no request of its own; the pod's is Σ of its regular containers.
      cpuRequestMillis: 0,
      podCpuRequestMillis: 300
    })
    expect([...index.values()].some((c) => c.podId === podUids.report)).toBe(false)
  })

  it("a container id claimed by two pods stays with the first", () => {
    const twice = decodePods({
      items: [
        {
          metadata: { uid: "a", name: "a" },
          status: { containerStatuses: [{ name: "x", containerID: "containerd://1" }] }
        },
        {
          metadata: { uid: "b", name: "b" },
          status: { containerStatuses: [{ name: "y", containerID: "containerd://1" }] }
        }
      ]
    })
    expect(indexPods(twice.items).get("1")?.podId).toBe("a")
  })

  it("accepts Go's null lists and missing statuses", () => {
    const sparse = decodePods({
      metadata: {},
      items: [{ metadata: { uid: "u", name: "n" }, status: { containerStatuses: null } }, {
        metadata: { uid: "v", name: "m" }
      }]
    })
    expect(indexPods(sparse.items).size).toBe(0)
    expect(decodePods({ items: null }).items).toEqual([])
  })
})

describe("cpuMillis: Kubernetes CPU quantities", () => {
  it("reads millicores and cores, and anything else as no request", () => {
    expect(["250m", "1", "0.5", "2.25", "1e3m", " 100m "].map(cpuMillis)).toEqual([250, 1000, 500, 2250, 1000, 100])
    expect(["", "-1", "abc", "1Ki", "m", "1.2.3", "NaN"].map(cpuMillis)).toEqual([0, 0, 0, 0, 0, 0, 0])
  })
})
