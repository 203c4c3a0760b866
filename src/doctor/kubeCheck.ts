/**
 * Whether the pod informer would get its data: the same connection (`kube.config` or the
 * service account) and the same requests the informer makes first — the Node from the API
 * server, then the kubelet's /pods (kubelet mode) or one page of this node's pods (apiserver
 * mode). `readKubeFacts` makes the requests; `kubeCheck` judges the answers.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { JoulemonConfig } from "../config/Config.js"
import { joinHostPort, resolveConnection } from "../k8s/connection.js"
import { type KubeRequestError, kubeUrl, makeKubeHttp, makeKubeletHttp } from "../k8s/KubeHttp.js"
import { DEFAULT_KUBELET_PORT } from "../k8s/kubeletInformer.js"
import { Node, PodList } from "../k8s/kubeObjects.js"
import { type CheckResult, failed, passed } from "./verdict.js"

export type KubeTarget = "node" | "kubelet" | "pods"

export interface KubeStep {
  readonly target: KubeTarget
  readonly url: string
  /** undefined: the request succeeded. */
  readonly error: { readonly status: number; readonly reason: string } | undefined
}

export type KubeFacts =
  | { readonly _tag: "Off" }
  | { readonly _tag: "BadConnection"; readonly reason: string }
  | {
    readonly _tag: "Requested"
    readonly server: string
    readonly credentials: string
    readonly steps: ReadonlyArray<KubeStep>
  }

const REQUEST_TIMEOUT = Duration.seconds(5)

const step = (target: KubeTarget, url: string, result: Either.Either<unknown, KubeRequestError>): KubeStep => ({
  target,
  url,
  error: Either.isLeft(result) ? { status: result.left.status, reason: result.left.reason } : undefined
})

export const readKubeFacts = (config: JoulemonConfig): Effect.Effect<KubeFacts> =>
  Effect.gen(function*() {
    if (!config.kube.enabled) return { _tag: "Off" } as const
    const resolved = yield* Effect.either(resolveConnection(config.kube.config))
    if (Either.isLeft(resolved)) return { _tag: "BadConnection", reason: resolved.left.message } as const
    const c = resolved.right
    const tls = {
      ca: c.ca,
      clientCert: c.clientCert,
      clientKey: c.clientKey,
      verifyServer: !c.insecureSkipTlsVerify,
      serverName: c.tlsServerName
    }
    const api = yield* makeKubeHttp({ tls, auth: c.auth, requestTimeout: REQUEST_TIMEOUT })
    const nodeName = config.kube.nodeName
    const steps: Array<KubeStep> = []
    const done = () => ({ _tag: "Requested", server: c.server, credentials: c.source, steps }) as const

    if (config.kube.podInformer.mode === "apiserver") {
      const url = kubeUrl(c.server, "/api/v1/pods", { fieldSelector: `spec.nodeName=${nodeName}`, limit: "1" })
      steps.push(step("pods", url, yield* Effect.either(api.getJson(url, PodList))))
      return done()
    }
    const nodeUrl = kubeUrl(c.server, `/api/v1/nodes/${encodeURIComponent(nodeName)}`)
    const node = yield* Effect.either(api.getJson(nodeUrl, Node))
    steps.push(step("node", nodeUrl, node))
    if (Either.isLeft(node)) return done()
    const ip = node.right.status.addresses.find((a) => a.type === "InternalIP")?.address ?? ""
    if (ip === "") {
      steps.push({
        target: "kubelet",
        url: nodeUrl,
        error: { status: 200, reason: `node ${JSON.stringify(nodeName)} has no InternalIP address` }
      })
      return done()
    }
    const port = node.right.status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0
    const kubelet = yield* makeKubeletHttp(c, REQUEST_TIMEOUT)
    const podsUrl = kubeUrl(`https://${joinHostPort(ip, port > 0 ? port : DEFAULT_KUBELET_PORT)}`, "/pods")
    steps.push(step("kubelet", podsUrl, yield* Effect.either(kubelet.getJson(podsUrl, PodList))))
    return done()
  }).pipe(Effect.scoped, Effect.withSpan("Doctor.readKubeFacts"))

/** The RBAC rule each request needs, as a ClusterRole rule. */
const RBAC: Record<KubeTarget, string> = {
  node: "{apiGroups: [\"\"], resources: [\"nodes\"], verbs: [\"get\"]}",
  // Kubernetes 1.33+ (KubeletFineGrainedAuthz) authorises /pods as nodes/pods; older kubelets
  // only as nodes/proxy, which deploy/kubernetes/optional/rbac-kubelet-legacy.yaml grants.
  kubelet:
    "{apiGroups: [\"\"], resources: [\"nodes/pods\"], verbs: [\"get\"]} (Kubernetes 1.33+; before 1.33 nodes/proxy, deploy/kubernetes/optional/rbac-kubelet-legacy.yaml)",
  pods: "{apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"get\", \"list\", \"watch\"]}"
}

const WHAT: Record<KubeTarget, string> = {
  node: "the API server (GET Node)",
  kubelet: "the kubelet (GET /pods)",
  pods: "the API server (list Pods on this node)"
}

const TITLE = "Kubernetes"

export const kubeCheck = (facts: KubeFacts, config: JoulemonConfig): CheckResult => {
  switch (facts._tag) {
    case "Off":
      return passed("kube", TITLE, "off (--kube.enable not given): no pod attribution")
    case "BadConnection":
      return failed(
        "kube",
        TITLE,
        facts.reason,
        "set --kube.config (YAML kube.config) to a readable kubeconfig, or run in a pod with its service account mounted",
        "fatal"
      )
    case "Requested": {
      const bad = facts.steps.find((s) => s.error !== undefined)
      if (bad === undefined || bad.error === undefined) {
        return passed(
          "kube",
          TITLE,
          `${facts.steps.map((s) => WHAT[s.target]).join(" and ")} answered, with ${facts.credentials}`
        )
      }
      const { status, reason } = bad.error
      const head = `${WHAT[bad.target]} at ${bad.url} ` +
        (status === 0 ? `is unreachable: ${reason}` : `answered HTTP ${status}: ${reason}`)
      const who = `the credentials of ${facts.credentials}`
      const fix = status === 401
        ? `${who} were rejected: renew the token or client certificate (a projected service-account token expires), or point --kube.config at a valid kubeconfig`
        : status === 403
        ? `grant ${who} the ClusterRole rule ${
          RBAC[bad.target]
        } and bind it to joulemon's service account (kubectl auth can-i ${
          bad.target === "kubelet"
            ? "get nodes --subresource=pods"
            : bad.target === "node"
            ? `get nodes/${config.kube.nodeName}`
            : "list pods"
        } --as=system:serviceaccount:<namespace>:<name>)`
        : status === 404 && bad.target === "node"
        ? `no node named ${
          JSON.stringify(config.kube.nodeName)
        }: set --kube.node-name (YAML kube.nodeName) to this node's name (the downward API's spec.nodeName)`
        : status === 0
        ? bad.target === "kubelet"
          ? "let joulemon reach the kubelet's port (hostNetwork, or a NetworkPolicy allowing it), or use kube.podInformer.mode: apiserver (YAML)"
          : `check that ${facts.server} is reachable from this host (DNS, proxy, firewall) and its certificate is trusted`
        : `see the answer above; joulemon keeps retrying and exports no pod labels meanwhile`
      return failed("kube", TITLE, head, fix, "degraded")
    }
  }
}
