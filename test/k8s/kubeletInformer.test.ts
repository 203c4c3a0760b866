import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, Ref } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { kubeconfigConnection } from "../../src/k8s/connection.js"
import { freePort } from "../support/ports.js"
import { containerIds, eventually, fixture, fixturePath, podUids } from "./fakeKube.js"
import { errorsIn, kubeletWorld, startInformer, tempDir, tokenConnection, withCapturedLogs } from "./support.js"

// The fixture's requests: nginx 250m, log-shipper 50m (init and ephemeral containers: none).
const web = { podId: podUids.web, podName: "web-6c7f9d8b5-q2w4e", namespace: "default", podCpuRequestMillis: 300 }

/** kubelet-pods.json plus one pod whose container has `id`. */
const withExtraPod = (id: string): string => {
  const body = JSON.parse(fixture("kubelet-pods.json").toString("utf8")) as { items: Array<unknown> }
  body.items.push({
    metadata: { name: "late-pod", namespace: "late", uid: "0f0f0f0f-0000-4000-8000-000000000001" },
    status: { containerStatuses: [{ name: "late", containerID: `containerd://${id}` }] }
  })
  return JSON.stringify(body)
}

describe("PodInformer, kubelet mode", () => {
  it.scopedLive("maps regular, init and ephemeral containers to their pod, with the Kubernetes container name", () =>
    Effect.gen(function*() {
      const world = yield* kubeletWorld
      const informer = yield* startInformer({
        mode: "kubelet",
        connection: tokenConnection(world.api.base, world.tokenFile)
      })

      const found = yield* informer.lookupAll(Object.values(containerIds))
      expect(found.get(containerIds.nginx)).toEqual({ ...web, containerName: "nginx", cpuRequestMillis: 250 })
      expect(found.get(containerIds.logShipper)).toEqual({ ...web, containerName: "log-shipper", cpuRequestMillis: 50 })
      expect(found.get(containerIds.migrate)).toEqual({ ...web, containerName: "migrate", cpuRequestMillis: 0 })
      expect(found.get(containerIds.debugger)).toEqual({ ...web, containerName: "debugger-x7k2", cpuRequestMillis: 0 })
      expect(found.get(containerIds.coredns)).toEqual({
        podId: podUids.coredns,
        podName: "coredns-5d78c9869d-7xk2p",
        namespace: "kube-system",
        containerName: "coredns",
        // "0.1" cores.
        cpuRequestMillis: 100,
        podCpuRequestMillis: 100
      })
      expect(found.get(containerIds.kubeProxy)?.podId).toBe(podUids.kubeProxy)
      // Only in lastState: the previous incarnation is not a running container.
      expect(found.has(containerIds.kubeProxyOld)).toBe(false)
      expect(found.size).toBe(7)
      expect(yield* informer.lookup(containerIds.joulemon)).toEqual(
        Option.some({
          podId: podUids.joulemon,
          podName: "joulemon-8kq2z",
          namespace: "joulemon",
          containerName: "joulemon",
          cpuRequestMillis: 0,
          podCpuRequestMillis: 0
        })
      )

      // The kubelet was found through the Node object, and both got the service-account token.
      const nodeRequests = yield* world.api.requests
      expect(nodeRequests.map((r) => r.path)).toEqual(["/api/v1/nodes/worker-1"])
      const kubeletRequests = yield* world.kubelet.requests
      expect(kubeletRequests.every((r) => r.path === "/pods" && r.authorization === "Bearer token-1")).toBe(true)
      expect(nodeRequests[0]?.authorization).toBe("Bearer token-1")
      // The lookups joined the initial fetch; kube-proxy's old id, not in it, became a confirmed
      // miss, which later lookups do not fetch again.
      expect(kubeletRequests).toHaveLength(1)
      expect(yield* informer.lookup(containerIds.kubeProxyOld)).toEqual(Option.none())
      expect(yield* world.podsRequests).toBe(1)
    }))

  it.scopedLive("100 concurrent lookups of an unknown id cause exactly one re-fetch", () =>
    Effect.gen(function*() {
      const world = yield* kubeletWorld
      const informer = yield* startInformer({
        mode: "kubelet",
        connection: tokenConnection(world.api.base, world.tokenFile)
      })
      expect(Option.isSome(yield* informer.lookup(containerIds.nginx))).toBe(true)
      expect(yield* world.podsRequests).toBe(1)

      // A slow kubelet, so that all 100 lookups are waiting while the one request is in flight.
      yield* Ref.set(world.control.delay, 100)
      const unknown = "ab".repeat(32)
      const answers = yield* Effect.all(Array.from({ length: 100 }, () => informer.lookup(unknown)), {
        concurrency: "unbounded"
      })
      expect(answers.every(Option.isNone)).toBe(true)
      expect(yield* world.podsRequests).toBe(2)

      // 100 different unknown ids in one call: one re-fetch for all of them.
      const many = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(64, "c"))
      expect((yield* informer.lookupAll(many)).size).toBe(0)
      expect(yield* world.podsRequests).toBe(3)

      // Confirmed misses (a pod's sandbox, say) do not cost a request on every reading.
      yield* informer.lookupAll([unknown, ...many])
      yield* informer.lookup(unknown)
      expect(yield* world.podsRequests).toBe(3)
    }))

  it.scopedLive("a container started after the last poll is found by one re-fetch, which re-reads the rotated token", () =>
    Effect.gen(function*() {
      const world = yield* kubeletWorld
      const informer = yield* startInformer({
        mode: "kubelet",
        connection: tokenConnection(world.api.base, world.tokenFile)
      })
      expect(Option.isSome(yield* informer.lookup(containerIds.coredns))).toBe(true)

      const late = "12".repeat(32)
      yield* Ref.set(world.control.body, withExtraPod(late))
      fs.writeFileSync(world.tokenFile, "token-2\n")
      expect(yield* informer.lookup(late)).toEqual(
        Option.some({
          podId: "0f0f0f0f-0000-4000-8000-000000000001",
          podName: "late-pod",
          namespace: "late",
          containerName: "late",
          cpuRequestMillis: 0,
          podCpuRequestMillis: 0
        })
      )
      const requests = yield* world.kubelet.requests
      expect(requests.map((r) => r.authorization)).toEqual(["Bearer token-1", "Bearer token-2"])
    }))

  it.scopedLive("the periodic poll keeps the index current without any lookup", () =>
    Effect.gen(function*() {
      const world = yield* kubeletWorld
      const informer = yield* startInformer({
        mode: "kubelet",
        connection: tokenConnection(world.api.base, world.tokenFile),
        pollInterval: Duration.millis(20)
      })
      const late = "34".repeat(32)
      // First a confirmed miss, so lookups stop asking; then the poll alone brings the pod.
      expect(yield* informer.lookup(late)).toEqual(Option.none())
      yield* Ref.set(world.control.body, withExtraPod(late))
      const polledBefore = yield* world.podsRequests
      yield* eventually(
        Effect.gen(function*() {
          const found = yield* informer.lookup(late)
          if (Option.isNone(found)) return yield* Effect.fail("not yet")
        })
      )
      expect(yield* world.podsRequests).toBeGreaterThan(polledBefore)
    }))

  it.scopedLive("401, 403 and an unreachable kubelet: lookups answer None, it retries, each problem is logged once with its fix", () =>
    withCapturedLogs((logs) =>
      Effect.gen(function*() {
        const world = yield* kubeletWorld
        yield* Ref.set(world.control.status, 401)
        const informer = yield* startInformer({
          mode: "kubelet",
          connection: tokenConnection(world.api.base, world.tokenFile)
        })
        const errors = errorsIn(logs)
        const retried = (atLeast: number) =>
          eventually(Effect.flatMap(world.podsRequests, (n) => (n >= atLeast ? Effect.void : Effect.fail("waiting"))))

        yield* retried(4)
        expect(yield* informer.lookup(containerIds.nginx)).toEqual(Option.none())
        expect((yield* informer.lookupAll(Object.values(containerIds))).size).toBe(0)
        const after401 = yield* errors
        expect(after401).toHaveLength(1)
        expect(after401[0]?.annotations["status"]).toBe(401)
        expect(String(after401[0]?.annotations["fix"])).toContain("authentication.webhook.enabled")

        yield* Ref.set(world.control.status, 403)
        yield* retried((yield* world.podsRequests) + 3)
        expect(yield* informer.lookup(containerIds.nginx)).toEqual(Option.none())
        const after403 = yield* errors
        expect(after403).toHaveLength(2)
        expect(after403[1]?.annotations["status"]).toBe(403)
        expect(String(after403[1]?.annotations["fix"])).toContain("get on nodes/pods")

        // The Node now names a port where nothing listens.
        const closed = yield* Effect.promise(freePort)
        yield* Ref.set(world.kubeletPort, closed)
        yield* Ref.set(world.control.status, 200)
        const nodeLookups = Effect.map(world.api.requests, (rs) => rs.length)
        const before = yield* nodeLookups
        yield* eventually(Effect.flatMap(nodeLookups, (n) => (n >= before + 3 ? Effect.void : Effect.fail("waiting"))))
        expect(yield* informer.lookup(containerIds.nginx)).toEqual(Option.none())
        const unreachable = yield* errors
        expect(unreachable).toHaveLength(3)
        expect(unreachable[2]?.annotations["status"]).toBe(0)
        expect(unreachable[2]?.message).toContain("ECONNREFUSED")
        expect(String(unreachable[2]?.annotations["fix"])).toContain("reachable")

        // Back: pods are found again, and the recovery is logged once.
        yield* Ref.set(world.kubeletPort, world.kubelet.port)
        yield* eventually(
          Effect.flatMap(
            informer.lookup(containerIds.nginx),
            (found) => (Option.isSome(found) ? Effect.void : Effect.fail("waiting"))
          )
        )
        const entries = yield* logs
        expect(entries.filter((e) => e.message.includes("connected again"))).toHaveLength(1)
        expect(yield* errors).toHaveLength(3)
      })
    ))

  it.scopedLive("403 on the Node names the nodes rule; 404 says the node name is wrong", () =>
    withCapturedLogs((logs) =>
      Effect.gen(function*() {
        const world = yield* kubeletWorld
        yield* Ref.set(world.nodeStatus, 403)
        const informer = yield* startInformer({
          mode: "kubelet",
          connection: tokenConnection(world.api.base, world.tokenFile)
        })
        const errors = errorsIn(logs)
        yield* eventually(Effect.flatMap(errors, (e) => (e.length >= 1 ? Effect.void : Effect.fail("waiting"))))
        expect(String((yield* errors)[0]?.annotations["fix"])).toContain("get on nodes")
        expect(yield* informer.lookup(containerIds.nginx)).toEqual(Option.none())
        expect(yield* world.podsRequests).toBe(0)

        yield* startInformer({
          mode: "kubelet",
          nodeName: "no-such-node",
          connection: tokenConnection(world.api.base, world.tokenFile)
        })
        const otherErrors = Effect.map(errors, (entries) =>
          entries.filter((e) => e.annotations["node"] === "no-such-node"))
        yield* eventually(Effect.flatMap(otherErrors, (e) => (e.length >= 1 ? Effect.void : Effect.fail("waiting"))))
        expect(String((yield* otherErrors)[0]?.annotations["fix"])).toContain("no node named \"no-such-node\"")
      })
    ))

  it.scopedLive("an unreadable token file is a retried failure with the fix, not a crash", () =>
    withCapturedLogs((logs) =>
      Effect.gen(function*() {
        const world = yield* kubeletWorld
        const missing = path.join(path.dirname(world.tokenFile), "absent")
        const informer = yield* startInformer({ mode: "kubelet", connection: tokenConnection(world.api.base, missing) })
        expect(yield* informer.lookup(containerIds.nginx)).toEqual(Option.none())
        const errors = yield* errorsIn(logs)
        expect(errors).toHaveLength(1)
        expect(errors[0]?.message).toContain("cannot read the bearer token")
        expect(String(errors[0]?.annotations["fix"])).toContain("automountServiceAccountToken")
        fs.writeFileSync(missing, "token-3")
        yield* eventually(
          Effect.flatMap(
            informer.lookup(containerIds.nginx),
            (found) => (Option.isSome(found) ? Effect.void : Effect.fail("waiting"))
          )
        )
      })
    ))

  it.scopedLive("a kubeconfig with a CA file and a client certificate: both servers see the certificate", () =>
    Effect.gen(function*() {
      const world = yield* kubeletWorld
      const dir = yield* tempDir
      const kubeconfig = path.join(dir, "kubeconfig")
      for (const name of ["ca.crt", "client.crt", "client.key"]) {
        fs.copyFileSync(fixturePath(name), path.join(dir, name))
      }
      fs.writeFileSync(
        kubeconfig,
        [
          "apiVersion: v1",
          "kind: Config",
          "current-context: test",
          "clusters:",
          `- name: fake\n  cluster:\n    server: ${world.api.base}\n    certificate-authority: ca.crt`,
          "users:",
          "- name: joulemon\n  user:\n    client-certificate: client.crt\n    client-key: client.key",
          "contexts:",
          "- name: test\n  context:\n    cluster: fake\n    user: joulemon"
        ].join("\n")
      )
      const connection = yield* kubeconfigConnection(kubeconfig)
      const informer = yield* startInformer({ mode: "kubelet", connection })
      expect(Option.isSome(yield* informer.lookup(containerIds.nginx))).toBe(true)
      const seen = [...(yield* world.api.requests), ...(yield* world.kubelet.requests)]
      expect(seen.length).toBeGreaterThanOrEqual(2)
      for (const request of seen) {
        expect(request.clientCn).toBe("system:serviceaccount:joulemon:joulemon")
        expect(request.authorization).toBeUndefined()
      }
    }))
})
