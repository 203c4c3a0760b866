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
  const out: Array<readonly [string, PodContainer]> = []
  for (
    const statuses of [
      pod.status.containerStatuses,
      pod.status.initContainerStatuses,
      pod.status.ephemeralContainerStatuses
    ]
  ) {
    for (const status of statuses) {
      const id = stripRuntimePrefix(status.containerID.trim())
      if (id !== "") out.push([id, { podId: uid, podName: name, namespace, containerName: status.name }])
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
