import { describe, expect, it } from "@effect/vitest"
import { failureSignature, fixFor } from "../../src/k8s/informerHealth.js"
import { KubeRequestError, kubeUrl } from "../../src/k8s/KubeHttp.js"

const error = (status: number, url = "https://10.0.0.1:10250/pods", reason = "x") =>
  new KubeRequestError({ url, status, reason })

describe("fixFor", () => {
  it.each(
    [
      [403, "node", "get on nodes"],
      [403, "kubelet", "get on nodes/pods"],
      [403, "kubelet", "optional/rbac-kubelet-legacy.yaml"],
      [403, "pods", "list and watch on pods"],
      [401, "kubelet", "authentication.webhook.enabled"],
      [401, "pods", "service-account token is mounted"],
      [0, "kubelet", "https://10.0.0.1:10250 is reachable"],
      [0, "node", "API server at https://10.0.0.1:10250 is reachable"]
    ] as const
  )("HTTP %i on %s → %s", (status, target, expected) => {
    expect(fixFor(error(status), target, "worker-1")).toContain(expected)
  })

  it("names the node when the Node does not exist, and the RBAC manifest when refused", () => {
    expect(fixFor(error(404), "node", "worker-9")).toContain("no node named \"worker-9\"")
    expect(fixFor(error(403), "kubelet", "w")).toContain("deploy/kubernetes/rbac.yaml")
  })

  it("an unreadable token says to mount it; other statuses have no specific fix", () => {
    expect(fixFor(error(0, "https://a/pods", "cannot read the bearer token /t: ENOENT"), "kubelet", "w")).toContain(
      "automountServiceAccountToken"
    )
    expect(fixFor(error(500), "pods", "w")).toBe("")
  })
})

describe("failureSignature", () => {
  it("ignores the query (a watch's resourceVersion changes) but not the status or endpoint", () => {
    const a = failureSignature(error(403, "https://api/api/v1/pods?watch=true&resourceVersion=1"))
    expect(failureSignature(error(403, "https://api/api/v1/pods?watch=true&resourceVersion=2"))).toBe(a)
    expect(failureSignature(error(401, "https://api/api/v1/pods?watch=true"))).not.toBe(a)
    expect(failureSignature(error(403, "https://api/api/v1/nodes/n"))).not.toBe(a)
  })

  it("transport failures differ by reason", () => {
    expect(failureSignature(error(0, "https://k/pods", "ECONNREFUSED"))).not.toBe(
      failureSignature(error(0, "https://k/pods", "timeout"))
    )
  })
})

describe("kubeUrl", () => {
  it("joins a base with a path prefix and encodes parameters", () => {
    expect(
      kubeUrl("https://proxy.example/k8s/clusters/c-1/", "/api/v1/pods", {
        fieldSelector: "spec.nodeName=worker 1",
        watch: "true"
      })
    ).toBe(
      "https://proxy.example/k8s/clusters/c-1/api/v1/pods?fieldSelector=spec.nodeName%3Dworker+1&watch=true"
    )
    expect(kubeUrl("https://[fd00::1]:6443", "/api/v1/nodes/n")).toBe("https://[fd00::1]:6443/api/v1/nodes/n")
  })

  it("messages name the URL and the status", () => {
    expect(error(403, "https://a/b", "forbidden").message).toBe("GET https://a/b answered HTTP 403: forbidden")
    expect(error(0, "https://a/b", "ECONNREFUSED").message).toBe("GET https://a/b failed: ECONNREFUSED")
  })
})
