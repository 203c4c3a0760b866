/**
 * The stdout exporter's view of one snapshot (kepler-behaviour.md §1.11): Kepler's node-zone
 * table, byte for byte, then joulemon's additions — the processes and containers drawing the
 * most power. Pure: snapshot in, text out.
 */
import type { ContainerWorkload, NodeZone, ProcessWorkload, Snapshot, ZoneValues } from "../../monitor/snapshot.js"
import { type Column, printable, renderTable } from "./table.js"

/** Rows in each top-N table: what fits on a terminal beside the zone table. */
export const DEFAULT_TOP = 10

export interface ViewOptions {
  readonly top: number
}

/**
 * µJ → `%.2fJ`, rounded half-to-even on the exact integer (Kepler divides a float first, so a
 * value exactly on a tie can differ in the last digit; this one is the exact decimal rounding).
 */
export const formatJoules = (microjoules: bigint): string => {
  let hundredths = microjoules / 10_000n
  const rest = microjoules % 10_000n
  if (rest > 5_000n || (rest === 5_000n && hundredths % 2n === 1n)) hundredths += 1n
  return `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, "0")}J`
}

/** W → `%.2fW`. The monitor never produces NaN or infinities; shown as 0 if one slips through. */
export const formatWatts = (watts: number): string => `${(Number.isFinite(watts) ? watts : 0).toFixed(2)}W`

const byName = (a: NodeZone, b: NodeZone): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/** Kepler's table: zones sorted by name, every cell right-aligned. */
export const renderZoneTable = (zones: ReadonlyArray<NodeZone>): string =>
  renderTable(
    [
      { header: "ZONE", align: "right" },
      { header: "POWER ( W )", align: "right" },
      { header: "ABSOLUTE ( J )", align: "right" }
    ],
    [...zones].sort(byName).map((z) => [z.name, formatWatts(z.watts), formatJoules(z.energyTotal)])
  )

/** What an operator needs to read the zone table right: estimates, failed reads, dropped intervals. */
export const zoneNotes = (snapshot: Snapshot): ReadonlyArray<string> => {
  const notes: Array<string> = []
  const estimated = snapshot.zones.filter((z) => z.estimated).map((z) => z.name)
  if (estimated.length > 0) notes.push(`estimated, not measured: ${estimated.join(", ")}`)
  if (snapshot.zones.length > 0 && snapshot.zones.every((z) => z.status === "baseline")) {
    notes.push("first reading: power shows from the next interval")
  }
  for (const z of [...snapshot.zones].sort(byName)) {
    if (z.status === "read-error") notes.push(`${z.name}: read failed (${z.error}); booked at the next good read`)
    else if (z.status === "glitch") notes.push(`${z.name}: implausible jump, interval dropped`)
    else if (z.status === "reset") notes.push(`${z.name}: counter went backwards, interval dropped`)
  }
  return notes
}

/** Highest primary-zone power first; then energy, then the key, so equal rows keep one order. */
const rank = <W extends ZoneValues>(primary: number, key: (w: W) => string) => (a: W, b: W): number => {
  const power = (b.watts[primary] ?? 0) - (a.watts[primary] ?? 0)
  if (power !== 0) return power
  const ea = a.energy[primary] ?? 0n
  const eb = b.energy[primary] ?? 0n
  if (ea !== eb) return eb > ea ? 1 : -1
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
}

const zoneColumns = (snapshot: Snapshot): ReadonlyArray<Column> => [
  ...snapshot.zones.map((z): Column => ({ header: `${z.name.toUpperCase()} ( W )`, align: "right" })),
  { header: `${(snapshot.zones[snapshot.primaryZone]?.name ?? "").toUpperCase()} ( J )`, align: "right" }
]

const zoneCells = (snapshot: Snapshot, w: ZoneValues): ReadonlyArray<string> => [
  ...snapshot.zones.map((_, i) => formatWatts(w.watts[i] ?? 0)),
  formatJoules(w.energy[snapshot.primaryZone] ?? 0n)
]

const shortId = (id: string): string => id.slice(0, 12)

const heading = (shown: number, total: number, what: string, snapshot: Snapshot): string => {
  const zone = snapshot.zones[snapshot.primaryZone]?.name ?? "primary zone"
  return total === 0 ? `No running ${what}.\n` : `Top ${shown} of ${total} running ${what} by ${zone} power\n`
}

export const renderTopProcesses = (snapshot: Snapshot, top: number): string => {
  const running = snapshot.processes.running
  const shown = [...running].sort(rank<ProcessWorkload>(snapshot.primaryZone, (p) => p.key)).slice(0, top)
  const title = heading(shown.length, running.length, "processes", snapshot)
  if (shown.length === 0) return title
  return (
    title +
    renderTable(
      [
        { header: "PID", align: "right" },
        { header: "COMM", align: "left" },
        { header: "CONTAINER", align: "left" },
        ...zoneColumns(snapshot)
      ],
      shown.map((p) => [String(p.pid), p.comm, shortId(p.containerId), ...zoneCells(snapshot, p)])
    )
  )
}

export const renderTopContainers = (snapshot: Snapshot, top: number): string => {
  const running = snapshot.containers.running
  const shown = [...running].sort(rank<ContainerWorkload>(snapshot.primaryZone, (c) => c.id)).slice(0, top)
  const title = heading(shown.length, running.length, "containers", snapshot)
  if (shown.length === 0) return title
  return (
    title +
    renderTable(
      [
        { header: "CONTAINER", align: "left" },
        { header: "NAME", align: "left" },
        { header: "RUNTIME", align: "left" },
        ...zoneColumns(snapshot)
      ],
      shown.map((c) => [shortId(c.id), c.name, c.runtime, ...zoneCells(snapshot, c)])
    )
  )
}

/** The GPUs: power split, energy, mode, and what the last reading said; empty without GPUs. */
export const renderGpuTable = (snapshot: Snapshot): string => {
  const devices = snapshot.gpu?.devices ?? []
  if (devices.length === 0) return ""
  const table = renderTable(
    [
      { header: "GPU", align: "right" },
      { header: "NAME", align: "left" },
      { header: "MODE", align: "left" },
      { header: "POWER ( W )", align: "right" },
      { header: "IDLE ( W )", align: "right" },
      { header: "ABSOLUTE ( J )", align: "right" },
      { header: "UNATTRIBUTED ( J )", align: "right" },
      { header: "STATUS", align: "left" }
    ],
    devices.map((d) => [
      String(d.index),
      d.name,
      d.mode,
      formatWatts(d.watts),
      formatWatts(d.idleWatts),
      formatJoules(d.energyTotal),
      formatJoules(d.unattributedEnergyTotal),
      d.status === "read-error" || d.status === "lost" ? `${d.status}: ${d.error}` : d.status
    ])
  )
  const integrated = devices.filter((d) => !d.energyCounter).map((d) => String(d.index))
  const note = integrated.length > 0 ? `  no energy counter, power × time: GPU ${integrated.join(", ")}\n` : ""
  return table + note
}

/** One frame: a status line, Kepler's zone table and its notes, then the top workloads. */
export const renderView = (snapshot: Snapshot, options: ViewOptions = { top: DEFAULT_TOP }): string => {
  const time = new Date(snapshot.timestamp).toISOString()
  const busy = (snapshot.usageRatio * 100).toFixed(1)
  const status = `joulemon · ${time} · refresh #${snapshot.sequence} · CPU ${busy} % busy\n`
  const notes = zoneNotes(snapshot).map((n) => `  ${printable(n)}\n`).join("")
  return [
    status + renderZoneTable(snapshot.zones) + notes,
    ...(snapshot.gpu === undefined || snapshot.gpu.devices.length === 0 ? [] : [renderGpuTable(snapshot)]),
    renderTopProcesses(snapshot, options.top),
    renderTopContainers(snapshot, options.top)
  ].join("\n")
}
