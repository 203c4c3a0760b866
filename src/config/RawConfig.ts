/**
 * The configuration while it is being assembled (defaults ← file ← flags), before validation.
 *
 * It has the shape of `JoulemonConfig` with two differences, so that validation can see and
 * name every bad value instead of the types having silently rejected it earlier:
 * - enumerations (log level, meters, pod-informer mode, …) are plain strings;
 * - durations are signed Go nanoseconds (`GoDuration`), so `-1s` survives until validation
 *   can report it (Effect's `Duration` cannot be negative).
 */
import * as Duration from "effect/Duration"
import type { JoulemonConfig } from "./Config.js"
import { fromDuration, type GoDuration } from "./duration.js"

type Raw<T> = T extends Duration.Duration ? GoDuration
  : T extends string ? string
  : T extends number | boolean ? T
  : T extends ReadonlyArray<infer U> ? ReadonlyArray<Raw<U>>
  : { readonly [K in keyof T]: Raw<T[K]> }

export type RawConfig = Raw<JoulemonConfig>

/**
 * A layer laid over a `RawConfig`: every key may be missing (or `undefined`, which also means
 * "keep what is below"). Objects merge key by key; lists and scalars replace.
 */
export type Patch<T> = T extends GoDuration | string | number | boolean | ReadonlyArray<unknown> ? T
  : { readonly [K in keyof T]?: Patch<T[K]> | undefined }

export type ConfigPatch = Patch<RawConfig>

const isPlainObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && Object.getPrototypeOf(u) === Object.prototype

const overlayUnknown = (base: unknown, patch: unknown): unknown => {
  if (patch === undefined) return base
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch
  const merged: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    merged[key] = overlayUnknown(base[key], value)
  }
  return merged
}

/**
 * Lays `patch` over `base`. The walk is generic (the config has a dozen nested sections);
 * `Patch<T>` guarantees that every key present in `patch` has `T`'s shape, which is why the
 * result may be read back as a `T`.
 */
export const overlay = <T>(base: T, patch: Patch<T>): T => overlayUnknown(base, patch) as T

const rawDuration = (duration: Duration.Duration): GoDuration => fromDuration(duration)

/** A resolved configuration seen as a raw one (used to seed the layering with the defaults). */
export const toRawConfig = (config: JoulemonConfig): RawConfig => ({
  ...config,
  monitor: {
    ...config.monitor,
    interval: rawDuration(config.monitor.interval),
    staleness: rawDuration(config.monitor.staleness)
  },
  kube: {
    ...config.kube,
    podInformer: {
      ...config.kube.podInformer,
      pollInterval: rawDuration(config.kube.podInformer.pollInterval)
    }
  },
  experimental: {
    ...config.experimental,
    platform: {
      redfish: {
        ...config.experimental.platform.redfish,
        httpTimeout: rawDuration(config.experimental.platform.redfish.httpTimeout)
      }
    }
  }
})
