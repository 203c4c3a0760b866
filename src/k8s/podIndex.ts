/**
 * Container id → pod, built from pod statuses (kepler-behaviour.md §4.7). Pure: both informer
 * modes feed it whatever pods they hold.
 */
import type { Pod } from "./kubeObjects.js"

/** What joulemon learns about a container from Kubernetes. */
export interface PodContainer {
  /** Pod UID. */
  readonly podId: string
  readonly podName: string
  readonly namespace: string
  /** The name in the pod spec, which replaces the HOSTNAME-derived container name. */
  readonly containerName: string
  /** The container's CPU request in millicores (0 when unset, or an init/ephemeral container). */
  readonly cpuRequestMillis: number
  /** Σ of the pod's regular containers' CPU requests, millicores. */
  readonly podCpuRequestMillis: number
}

/**
 * A Kubernetes CPU quantity in millicores: `250m`, `1`, `0.5`, `1.5e3m`… A value that is not a
 * plain decimal with an optional `m` (or is negative) counts as no request: the request only
 * weighs idle energy, and a pod must not be charged on a misread.
 */
export const cpuMillis = (quantity: string): number => {
  const m = /^(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(m?)$/.exec(quantity.trim())
  if (m === null) return 0
  const value = Number(m[1]) * (m[2] === "m" ? 1 : 1000)
  return Number.isFinite(value) && value > 0 ? Math.round(value) : 0
}

export type PodIndex = ReadonlyMap<string, PodContainer>

export const emptyPodIndex: PodIndex = new Map()

/**
 * `containerd://0123…` → `0123…`. The runtime prefix (containerd, cri-o, docker, …) is whatever
 * precedes `://`; the id after it is what the cgroup path carries.
 */
export const stripRuntimePrefix = (containerID: string): string => {
  const at = containerID.indexOf("://")
  return at < 0 ? containerID : containerID.slice(at + 3)
}

/**
 * Every container of the pod that has an id: regular, init and ephemeral ones. A container
 * still being created has no id yet and is skipped (it has no processes either).
 */
export const podContainers = (pod: Pod): Array<readonly [string, PodContainer]> => {
  const { uid, name, namespace } = pod.metadata
  const requests = new Map(pod.spec.containers.map((c) => [c.name, cpuMillis(c.resources.requests.cpu)]))
  let podCpuRequestMillis = 0
  for (const r of requests.values()) podCpuRequestMillis += r
  const out: Array<readonly [string, PodContainer]> = []
  for (
    const [statuses, regular] of [
      [pod.status.containerStatuses, true],
      [pod.status.initContainerStatuses, false],
      [pod.status.ephemeralContainerStatuses, false]
    ] as const
  ) {
    for (const status of statuses) {
      const id = stripRuntimePrefix(status.containerID.trim())
      if (id === "") continue
      out.push([id, {
        podId: uid,
        podName: name,
        namespace,
        containerName: status.name,
        cpuRequestMillis: regular ? (requests.get(status.name) ?? 0) : 0,
        podCpuRequestMillis
      }])
    }
  }
  return out
}

/**
 * The index of all pods. A container id belongs to exactly one pod in a sane cluster; if two
 * pods ever claimed one, the first in the given order wins so the answer stays deterministic
 * (Kepler's API-server mode fails the whole refresh instead).
 */
export const indexPods = (pods: Iterable<Pod>): PodIndex => {
  const index = new Map<string, PodContainer>()
  for (const pod of pods) {
    for (const [id, container] of podContainers(pod)) {
      if (!index.has(id)) index.set(id, container)
    }
  }
  return index
}
