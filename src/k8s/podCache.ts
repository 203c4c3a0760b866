/**
 * The pod informer's cache as a value, with pure transitions; the informer keeps it in a Ref.
 *
 * Misses: a container id that a successful fetch did not find (a pod's sandbox "pause"
 * container, a container started outside Kubernetes) is remembered, so it does not trigger a
 * re-fetch on every reading — Kepler re-fetches the kubelet's whole pod list each time. A
 * remembered miss never hides a pod: lookups check the index first, and the periodic poll
 * replaces the index, so a container whose status was late is found by the next poll at the
 * latest. Misses not asked for during a whole poll period are forgotten (the container is gone).
 */
import type { PodContainer, PodIndex } from "./podIndex.js"
import { emptyPodIndex } from "./podIndex.js"

/** starting: no fetch has finished yet; failing: the last fetch failed (the index is kept). */
export type Phase = "starting" | "ok" | "failing"

export interface PodCache {
  readonly index: PodIndex
  readonly phase: Phase
  /** Confirmed misses → the poll period in which they were last asked for. */
  readonly misses: ReadonlyMap<string, number>
  /** Number of periodic polls completed. */
  readonly period: number
}

export const initialPodCache: PodCache = { index: emptyPodIndex, phase: "starting", misses: new Map(), period: 0 }

export interface Lookup {
  readonly found: ReadonlyMap<string, PodContainer>
  /** Ids in neither the index nor the misses: worth one re-fetch. */
  readonly unknown: ReadonlyArray<string>
  readonly cache: PodCache
}

/** Looks ids up; known misses are marked as still asked for in this period. */
export const lookIn = (cache: PodCache, ids: Iterable<string>): Lookup => {
  const found = new Map<string, PodContainer>()
  const unknown: Array<string> = []
  let misses: Map<string, number> | undefined
  for (const id of ids) {
    const hit = cache.index.get(id)
    if (hit !== undefined) {
      found.set(id, hit)
    } else if (cache.misses.has(id)) {
      if (cache.misses.get(id) !== cache.period) {
        misses ??= new Map(cache.misses)
        misses.set(id, cache.period)
      }
    } else {
      unknown.push(id)
    }
  }
  return { found, unknown, cache: misses === undefined ? cache : { ...cache, misses } }
}

/** After a re-fetch: the ids still not in the index become confirmed misses. */
export const settle = (
  cache: PodCache,
  ids: ReadonlyArray<string>
): { readonly found: ReadonlyMap<string, PodContainer>; readonly cache: PodCache } => {
  const found = new Map<string, PodContainer>()
  let misses: Map<string, number> | undefined
  for (const id of ids) {
    const hit = cache.index.get(id)
    if (hit !== undefined) {
      found.set(id, hit)
    } else {
      misses ??= new Map(cache.misses)
      misses.set(id, cache.period)
    }
  }
  return { found, cache: misses === undefined ? cache : { ...cache, misses } }
}

export const fetched = (cache: PodCache, index: PodIndex): PodCache => ({ ...cache, index, phase: "ok" })

/** The index is kept: container ids are unique, so a stale entry can only be right or unused. */
export const fetchFailed = (
  cache: PodCache
): PodCache => (cache.phase === "failing" ? cache : { ...cache, phase: "failing" })

/** A periodic poll succeeded: a new period starts; misses not asked for in the last one go. */
export const polled = (cache: PodCache): PodCache => {
  const misses = new Map<string, number>()
  for (const [id, period] of cache.misses) if (period >= cache.period) misses.set(id, period)
  return { ...cache, misses, period: cache.period + 1 }
}
