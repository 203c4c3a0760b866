/**
 * Snapshot → metric families with Kepler's names, labels and help texts
 * (kepler-behaviour.md §1.3–§1.9). Pure: the exporter renders these with prom-client.
 */
import type { MetricsLevel } from "../../config/Config.js"
import type {
  ContainerWorkload,
  PodWorkload,
  ProcessWorkload,
  Snapshot,
  VmWorkload,
  Workloads
} from "../../monitor/snapshot.js"
import { joules } from "../../monitor/snapshot.js"
import { type Fold, processFold } from "./processLimit.js"

export type MetricType = "gauge" | "counter"

export interface Sample {
  /** Values in the order of the family's `labelNames`. */
  readonly labels: ReadonlyArray<string>
  readonly value: number
  /**
   * When `labels` starts with the values of this shared array (a workload's identity, the same
   * for all its zones and both its joules and watts), the writer renders that part once.
   */
  readonly identity?: ReadonlyArray<string>
  /**
   * Names the workload `identity` belongs to, stable across scrapes (level and pid:starttime or
   * id): the exporter's label cache keys its rendered identity by it (labelCache.ts).
   */
  readonly identityKey?: string
}

export interface MetricFamily {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly labelNames: ReadonlyArray<string>
  /**
   * Re-iterable. The workload families produce their samples lazily as the writer pulls them:
   * ~80,000 samples held in arrays for a whole scrape were promoted to V8's old generation and
   * drove the daemon's RSS (390 MB at 10k processes under scrapes, scripts/bench.ts "daemon").
   */
  readonly samples: Iterable<Sample>
}

/** An Iterable that runs `make` afresh for each iteration. */
const lazy = <A>(make: () => Generator<A>): Iterable<A> => ({ [Symbol.iterator]: make })

type Level = "node" | "process" | "container" | "vm" | "pod"

const energyHelp = (level: Level, state?: "active" | "idle") =>
  state === undefined
    ? `Energy consumption of cpu at ${level} level in joules`
    : `Energy consumption of cpu in ${state} state at ${level} level in joules`
const powerHelp = (level: Level, state?: "active" | "idle") =>
  state === undefined
    ? `Power consumption of cpu at ${level} level in watts`
    : `Power consumption of cpu in ${state} state at ${level} level in watts`
const secondsHelp = (level: Level) => `Total user and system time of cpu at ${level} level in seconds`

export interface FamilyOptions {
  readonly levels: ReadonlySet<MetricsLevel>
  /** Constant label on every power family (kepler-behaviour.md §1.4). */
  readonly nodeName: string
  /** `exporter.prometheus.maxProcesses`: 0 or absent exports every process (processLimit.ts). */
  readonly maxProcesses?: number
}

export const nodeFamilies = (s: Snapshot, nodeName: string): Array<MetricFamily> => {
  const labelNames = ["zone", "path", "node_name"]
  const per = (value: (z: Snapshot["zones"][number]) => number) =>
    s.zones.map((z) => ({ labels: [z.name, z.path, nodeName], value: value(z) }))
  return [
    {
      name: "kepler_node_cpu_joules_total",
      help: energyHelp("node"),
      type: "counter",
      labelNames,
      samples: per((z) => joules(z.energyTotal))
    },
    {
      name: "kepler_node_cpu_active_joules_total",
      help: energyHelp("node", "active"),
      type: "counter",
      labelNames,
      samples: per((z) => joules(z.activeEnergyTotal))
    },
    {
      name: "kepler_node_cpu_idle_joules_total",
      help: energyHelp("node", "idle"),
      type: "counter",
      labelNames,
      samples: per((z) => joules(z.idleEnergyTotal))
    },
    { name: "kepler_node_cpu_watts", help: powerHelp("node"), type: "gauge", labelNames, samples: per((z) => z.watts) },
    {
      name: "kepler_node_cpu_active_watts",
      help: powerHelp("node", "active"),
      type: "gauge",
      labelNames,
      samples: per((z) => z.activeWatts)
    },
    {
      name: "kepler_node_cpu_idle_watts",
      help: powerHelp("node", "idle"),
      type: "gauge",
      labelNames,
      samples: per((z) => z.idleWatts)
    },
    {
      name: "kepler_node_cpu_usage_ratio",
      help: "CPU usage ratio of a node (value between 0.0 and 1.0)",
      type: "gauge",
      labelNames: ["node_name"],
      samples: [{ labels: [nodeName], value: s.usageRatio }]
    }
  ]
}

/** One sample's labels; `identity` is the shared leading part (see Sample.identity). */
interface Row<W> {
  readonly workload: W
  /** Position in the workload's rows: the zone for joules/watts, 0 for seconds. */
  readonly index: number
  readonly state: "running" | "terminated"
  readonly labels: ReadonlyArray<string>
  readonly identity: ReadonlyArray<string>
  readonly identityKey: string
}

/**
 * Running entries first, then terminated ones whose label set is not already out. Running
 * label sets are unique by construction (distinct pids and ids), so only terminated entries
 * are checked — against running ones only when no `state` label tells them apart — and a
 * reused PID can never produce a duplicate series (a 500 in Kepler).
 */
function* uniqueRows<W>(
  workloads: Workloads<W>,
  rowsOf: (w: W, state: "running" | "terminated") => ReadonlyArray<Row<W>>,
  stateLabelled: boolean
): Generator<Row<W>> {
  const seen = new Set<string>()
  const trackRunning = !stateLabelled && workloads.terminated.length > 0
  for (const w of workloads.running) {
    for (const row of rowsOf(w, "running")) {
      if (trackRunning) seen.add(row.labels.join("\u0000"))
      yield row
    }
  }
  for (const w of workloads.terminated) {
    for (const row of rowsOf(w, "terminated")) {
      const key = row.labels.join("\u0000")
      if (seen.has(key)) continue
      seen.add(key)
      yield row
    }
  }
}

interface Identity<W> {
  readonly names: ReadonlyArray<string>
  readonly values: (w: W) => ReadonlyArray<string>
  /** Stable across scrapes and unique within the level (see Sample.identityKey). */
  readonly key: (w: W) => string
}

interface IdentityOf {
  readonly values: ReadonlyArray<string>
  readonly key: string
}

/** Each workload's identity values, computed once per scrape and shared by its families. */
const memoIdentity = <W>(identity: Identity<W>): (w: W) => IdentityOf => {
  const ids = new Map<W, IdentityOf>()
  return (w) => {
    let id = ids.get(w)
    if (id === undefined) {
      id = { values: identity.values(w), key: identity.key(w) }
      ids.set(w, id)
    }
    return id
  }
}

/**
 * The samples of `rows`; with a fold, the rows of workloads it does not keep are summed per state
 * and index instead, and those sums follow as the fold's series — so every sum over the family
 * is what it is without the fold (energy is summed in µJ, exactly).
 */
function* foldedSamples<W, A>(
  rows: Iterable<Row<W>>,
  fold: Fold<W> | undefined,
  value: (r: Row<W>) => A,
  add: (a: A, b: A) => A,
  sample: (r: Row<W>, v: A) => Sample,
  otherLabels: (state: "running" | "terminated", index: number) => ReadonlyArray<string>,
  exported: (v: A) => number
): Generator<Sample> {
  if (fold === undefined) {
    for (const r of rows) yield sample(r, value(r))
    return
  }
  // Insertion order: running before terminated (uniqueRows' order), indexes ascending.
  const sums = new Map<"running" | "terminated", Map<number, A>>()
  for (const r of rows) {
    if (fold.kept.has(r.workload)) {
      yield sample(r, value(r))
      continue
    }
    let byIndex = sums.get(r.state)
    if (byIndex === undefined) {
      byIndex = new Map()
      sums.set(r.state, byIndex)
    }
    const sum = byIndex.get(r.index)
    byIndex.set(r.index, sum === undefined ? value(r) : add(sum, value(r)))
  }
  for (const [state, byIndex] of sums) {
    for (const [index, sum] of byIndex) {
      yield { labels: otherLabels(state, index), identity: fold.identity, value: exported(sum) }
    }
  }
}

/** `rows` with one state, for a family whose series do not tell the states apart. */
function* asOneState<W>(rows: Iterable<Row<W>>): Generator<Row<W>> {
  for (const r of rows) yield r.state === "running" ? r : { ...r, state: "running" }
}

const addBigint = (a: bigint, b: bigint) => a + b
const addNumber = (a: number, b: number) => a + b
const asNumber = (v: number) => v

/** The joules and watts families of one workload kind: one sample per workload, state and zone. */
const workloadFamilies = <W extends { readonly energy: ReadonlyArray<bigint>; readonly watts: ReadonlyArray<number> }>(
  s: Snapshot,
  level: Level,
  workloads: Workloads<W>,
  identity: Identity<W>,
  nodeName: string,
  fold?: Fold<W>
): { joules: MetricFamily; watts: MetricFamily } => {
  // Kepler's declared order puts `state` after the identity labels and `zone` last.
  const labelNames = [...identity.names, "state", "zone", "node_name"]
  const idOf = memoIdentity(identity)
  const rows = () =>
    uniqueRows(
      workloads,
      (w, state) => {
        const id = idOf(w)
        return s.zones.map((zone, z) => ({
          workload: w,
          index: z,
          state,
          labels: [...id.values, state, zone.name, nodeName],
          identity: id.values,
          identityKey: id.key
        }))
      },
      true
    )
  const otherLabels = (state: "running" | "terminated", z: number): ReadonlyArray<string> => [
    ...(fold?.identity ?? []),
    state,
    s.zones[z]?.name ?? "",
    nodeName
  ]
  return {
    joules: {
      name: `kepler_${level}_cpu_joules_total`,
      help: energyHelp(level),
      type: "counter",
      labelNames,
      samples: lazy(() =>
        foldedSamples(
          rows(),
          fold,
          (r) => r.workload.energy[r.index] ?? 0n,
          addBigint,
          (r, v) => ({ labels: r.labels, identity: r.identity, identityKey: r.identityKey, value: joules(v) }),
          otherLabels,
          joules
        )
      )
    },
    watts: {
      name: `kepler_${level}_cpu_watts`,
      help: powerHelp(level),
      type: "gauge",
      labelNames,
      samples: lazy(() =>
        foldedSamples(
          rows(),
          fold,
          (r) => r.workload.watts[r.index] ?? 0,
          addNumber,
          (r, v) => ({ labels: r.labels, identity: r.identity, identityKey: r.identityKey, value: v }),
          otherLabels,
          asNumber
        )
      )
    }
  }
}

/**
 * `<level>_cpu_seconds_total`. Kepler gives the container family a `state` label but not the
 * process one; without `state`, a terminated entry with the labels of a running one (a reused
 * PID) is skipped — the running entry wins.
 */
const secondsFamily = <W extends { readonly cpuSeconds: number }>(
  level: Level,
  workloads: Workloads<W>,
  identity: Identity<W>,
  withState: boolean,
  nodeName: string,
  fold?: Fold<W>
): MetricFamily => {
  const idOf = memoIdentity(identity)
  return {
    name: `kepler_${level}_cpu_seconds_total`,
    help: secondsHelp(level),
    type: "counter",
    labelNames: withState ? [...identity.names, "state", "node_name"] : [...identity.names, "node_name"],
    samples: lazy(() => {
      const rows = uniqueRows(
        workloads,
        (w, state) => {
          const id = idOf(w)
          const labels = withState ? [...id.values, state, nodeName] : [...id.values, nodeName]
          return [{ workload: w, index: 0, state, labels, identity: id.values, identityKey: id.key }]
        },
        withState
      )
      // Without a `state` label the fold's running and terminated sums are one series.
      const other = fold?.identity ?? []
      return foldedSamples(
        withState || fold === undefined ? rows : asOneState(rows),
        fold,
        (r) => r.workload.cpuSeconds,
        addNumber,
        (r, v) => ({ labels: r.labels, identity: r.identity, identityKey: r.identityKey, value: v }),
        (state) => (withState ? [...other, state, nodeName] : [...other, nodeName]),
        asNumber
      )
    })
  }
}

const processIdentity = {
  names: ["pid", "comm", "exe", "type", "container_id", "vm_id"],
  values: (p: ProcessWorkload) => [String(p.pid), p.comm, p.exe, p.type, p.containerId, p.vmId],
  key: (p: ProcessWorkload) => p.key
}
const containerIdentity = {
  names: ["container_id", "container_name", "runtime", "pod_id"],
  values: (c: ContainerWorkload) => [c.id, c.name, c.runtime, c.podId],
  key: (c: ContainerWorkload) => c.id
}
const vmIdentity = {
  names: ["vm_id", "vm_name", "hypervisor"],
  values: (v: VmWorkload) => [v.id, v.name, v.hypervisor],
  key: (v: VmWorkload) => v.id
}
const podIdentity = {
  names: ["pod_id", "pod_name", "pod_namespace"],
  values: (p: PodWorkload) => [p.id, p.name, p.namespace],
  key: (p: PodWorkload) => p.id
}

/** Every power family the snapshot yields at the configured levels. */
export const snapshotFamilies = (s: Snapshot, options: FamilyOptions): Array<MetricFamily> => {
  const out: Array<MetricFamily> = []
  const { levels, nodeName } = options
  if (levels.has("node")) out.push(...nodeFamilies(s, nodeName))
  if (levels.has("process")) {
    const fold = processFold(s.processes, s.primaryZone, options.maxProcesses ?? 0)
    const f = workloadFamilies(s, "process", s.processes, processIdentity, nodeName, fold)
    out.push(f.joules, f.watts, secondsFamily("process", s.processes, processIdentity, false, nodeName, fold))
  }
  if (levels.has("container")) {
    const f = workloadFamilies(s, "container", s.containers, containerIdentity, nodeName)
    out.push(f.joules, f.watts, secondsFamily("container", s.containers, containerIdentity, true, nodeName))
  }
  if (levels.has("vm")) {
    const f = workloadFamilies(s, "vm", s.vms, vmIdentity, nodeName)
    out.push(f.joules, f.watts)
  }
  if (levels.has("pod")) {
    const f = workloadFamilies(s, "pod", s.pods, podIdentity, nodeName)
    out.push(f.joules, f.watts)
  }
  return out
}
