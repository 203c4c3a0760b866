import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { loadConfig } from "../../src/config/load.js"
import { kubeCheck, readKubeFacts } from "../../src/doctor/kubeCheck.js"
import { fixturePath, TEST_NODE } from "../k8s/fakeKube.js"
import { kubeletWorld, tempDir } from "../k8s/support.js"

/** A kubeconfig for the fake API server, with the world's token file. */
const kubeconfigFor = (dir: string, server: string, tokenFile: string): string => {
  const file = path.join(dir, "kubeconfig")
  fs.writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "current-context: test",
      "clusters:",
      "- name: fake",
      `  cluster: {server: "${server}", certificate-authority: "${fixturePath("ca.crt")}"}`,
      "users:",
      `- name: joulemon`,
      `  user: {tokenFile: "${tokenFile}"}`,
      "contexts:",
      "- name: test",
      "  context: {cluster: fake, user: joulemon}",
      ""
    ].join("\n")
  )
  return file
}

const doctorKube = Effect.gen(function*() {
  const world = yield* kubeletWorld
  const dir = yield* tempDir
  const kubeConfig = kubeconfigFor(dir, world.api.base, world.tokenFile)
  const { config } = yield* loadConfig(undefined, { kubeEnable: true, kubeConfig, kubeNodeName: TEST_NODE })
  const check = Effect.map(readKubeFacts(config), (facts) => kubeCheck(facts, config))
  return { world, check, kubeConfig }
})

describe("doctor: Kubernetes reachability with the configured credentials", () => {
  it.scoped("API server and kubelet answer: passed", () =>
    Effect.gen(function*() {
      const { check, kubeConfig } = yield* doctorKube
      expect(yield* check).toMatchObject({
        verdict: "passed",
        message: `the API server (GET Node) and the kubelet (GET /pods) answered, with ${kubeConfig}`
      })
    }))

  it.scoped("a kubelet answering 403: failed (degraded) with the nodes/pods RBAC rule, nodes/proxy for old clusters", () =>
    Effect.gen(function*() {
      const { world, check, kubeConfig } = yield* doctorKube
      yield* Ref.set(world.control.status, 403)
      const result = yield* check
      expect(result).toMatchObject({ verdict: "failed", impact: "degraded" })
      expect(result.message).toMatch(
        /^the kubelet \(GET \/pods\) at https:\/\/127\.0\.0\.1:\d+\/pods answered HTTP 403: Forbidden/
      )
      expect(result.fix).toBe(
        `grant the credentials of ${kubeConfig} the ClusterRole rule {apiGroups: [""], resources: ["nodes/pods"], verbs: ["get"]} (Kubernetes 1.33+; before 1.33 nodes/proxy, deploy/kubernetes/optional/rbac-kubelet-legacy.yaml) and bind it to joulemon's service account ` +
          "(kubectl auth can-i get nodes --subresource=pods --as=system:serviceaccount:<namespace>:<name>)"
      )
    }))

  it.scoped("the API server answering 403 for the Node: the nodes rule", () =>
    Effect.gen(function*() {
      const { world, check } = yield* doctorKube
      yield* Ref.set(world.nodeStatus, 403)
      const result = yield* check
      expect(result.message).toContain(`answered HTTP 403: nodes "${TEST_NODE}" is forbidden`)
      expect(result.fix).toContain("resources: [\"nodes\"], verbs: [\"get\"]")
    }))

  it.scoped("a kubelet answering 401: the credentials were rejected", () =>
    Effect.gen(function*() {
      const { world, check } = yield* doctorKube
      yield* Ref.set(world.control.status, 401)
      const result = yield* check
      expect(result.message).toContain("answered HTTP 401")
      expect(result.fix).toMatch(/were rejected: renew the token or client certificate/)
    }))

  it.effect("Kubernetes off: passed, nothing requested", () =>
    Effect.gen(function*() {
      const { config } = yield* loadConfig(undefined, {})
      expect(kubeCheck(yield* readKubeFacts(config), config)).toMatchObject({
        verdict: "passed",
        message: "off (--kube.enable not given): no pod attribution"
      })
    }))
})
