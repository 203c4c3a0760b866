/**
 * Pod attribution as a decorator of the ResourceInformer: each reading's running containers get
 * their pod (and their Kubernetes container name), the reading's `pods` holds every pod with a
 * running container, and `terminated.pods` lists the pods of the previous reading that have none
 * now. The monitor's attribution then sums pods from containers (DESIGN.md §3), so a pod's
 * energy is exactly the sum of its containers'.
 *
 * A container Kubernetes does not know (a sandbox, a container started outside the kubelet, or
 * any container while the API is unreachable) keeps its HOSTNAME-derived name and no pod.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { AppConfig } from "../config/Config.js"
import type { Fatal } from "../Fatal.js"
import { ResourceInformer, type ResourceInformerShape } from "../resource/ResourceInformer.js"
import type { ContainerInfo, PodInfo, ResourceReading } from "../resource/types.js"
import type { SelfMetrics } from "../telemetry/SelfMetrics.js"
import type { KubeConfigError } from "./connection.js"
import type { PodContainer } from "./podIndex.js"
import { PodInformer } from "./PodInformer.js"
import type { PodInformerShape } from "./PodInformerShape.js"

/**
 * The reading with the pods of `found` (container id → pod) applied. `previousPods` are the pod
 * ids of the previous enriched reading; those without a running container now are terminated.
 */
export const enrichWithPods = (
  reading: ResourceReading,
  found: ReadonlyMap<string, PodContainer>,
  previousPods: ReadonlySet<string>
): ResourceReading => {
  const containers = new Map<string, ContainerInfo>()
  const pods = new Map<string, PodInfo>()
  const podCpuRequests = new Map<string, number>()
  for (const [id, container] of reading.containers) {
    const pod = found.get(id)
    if (pod === undefined) {
      containers.set(id, container)
      continue
    }
    containers.set(id, {
      ...container,
      name: pod.containerName,
      podId: pod.podId,
      cpuRequestMillis: pod.cpuRequestMillis
    })
    if (!pods.has(pod.podId)) {
      pods.set(pod.podId, { id: pod.podId, name: pod.podName, namespace: pod.namespace })
      podCpuRequests.set(pod.podId, pod.podCpuRequestMillis)
    }
  }
  const gone = new Set(reading.terminated.pods)
  for (const id of previousPods) if (!pods.has(id)) gone.add(id)
  return {
    ...reading,
    containers,
    pods,
    podCpuRequests,
    terminated: { ...reading.terminated, pods: [...gone] }
  }
}

/**
 * Enriches readings in order through `informer`: "terminated since the previous reading" needs
 * readings one at a time, so concurrent calls are serialised.
 */
export const makePodEnricher = (
  informer: PodInformerShape
): Effect.Effect<(reading: ResourceReading) => Effect.Effect<ResourceReading>> =>
  Effect.gen(function*() {
    const previousPods = yield* Ref.make<ReadonlySet<string>>(new Set())
    const lock = yield* Effect.makeSemaphore(1)
    const enrich = Effect.fn("PodAttribution.enrich")(function*(reading: ResourceReading) {
      const found = yield* informer.lookupAll([...reading.containers.keys()])
      const enriched = enrichWithPods(reading, found, yield* Ref.get(previousPods))
      yield* Ref.set(previousPods, new Set(enriched.pods.keys()))
      return enriched
    })
    return (reading: ResourceReading) => lock.withPermits(1)(enrich(reading))
  })

/** The ResourceInformer below, with every reading enriched through the PodInformer. */
export const withPods: Layer.Layer<ResourceInformer, never, ResourceInformer | PodInformer> = Layer.effect(
  ResourceInformer,
  Effect.gen(function*() {
    const inner = yield* ResourceInformer
    const enrich = yield* makePodEnricher(yield* PodInformer)
    // The scan and its enrichment form one step, so readings reach the enricher in scan order.
    const lock = yield* Effect.makeSemaphore(1)
    const refresh = lock.withPermits(1)(Effect.flatMap(inner.refresh, enrich))
    return { cpuInfo: inner.cpuInfo, refresh } satisfies ResourceInformerShape
  })
)

/**
 * For the composition root: with `kube.enabled` the ResourceInformer below enriched by the pod
 * informer of `kube.*`; without it, the ResourceInformer below unchanged (no Kubernetes client
 * is built). Use it in place of the plain informer:
 * `PodAttributionLive.pipe(Layer.provide(ResourceInformerLive))`.
 */
export const PodAttributionLive: Layer.Layer<
  ResourceInformer,
  KubeConfigError,
  ResourceInformer | AppConfig | Fatal | SelfMetrics
> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    config.kube.enabled
      ? withPods.pipe(Layer.provide(PodInformer.layer))
      : Layer.effect(ResourceInformer, ResourceInformer))
)
