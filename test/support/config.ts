import type { JoulemonConfig } from "../../src/config/Config.js"
import { defaultConfig } from "../../src/config/defaults.js"

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends ReadonlyArray<unknown> ? T[K] : T[K] extends object ? DeepPartial<T[K]>
  : T[K]
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype

const merge = (base: unknown, over: unknown): unknown => {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v)
  return out
}

/** The default configuration with some keys replaced (lists and durations replace, objects merge). */
export const testConfig = (over: DeepPartial<JoulemonConfig> = {}): JoulemonConfig =>
  merge({ ...defaultConfig, kube: { ...defaultConfig.kube, nodeName: "test-node" } }, over) as JoulemonConfig
