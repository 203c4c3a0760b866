/**
 * What `joulemon measure` reports, computed from the monitor's snapshots and nothing else, so
 * the command's share is exactly the attribution the exporter would have booked (DESIGN.md §3):
 *
 * - node energy per zone: Σ of the zone's booked deltas between the reading taken just before
 *   the command started and the one taken just after it exited (total, active, idle);
 * - the command's share per zone: Σ over the processes of its tree of their attributed
 *   (cumulative) energy at the last reading that saw each — all of it booked inside the run,
 *   since every one of them started after the first reading. Share ≤ node active, per zone.
 *
 * Energies stay exact µJ (bigint) until they are printed as joules.
 */
import type { NodeZone, ProcessWorkload, Snapshot } from "../monitor/snapshot.js"
import { joules, MICRO } from "../monitor/snapshot.js"
import { USER_HZ } from "../resource/types.js"

/** The last values seen of one process of the command's tree. */
export interface MemberValues {
  readonly energy: ReadonlyArray<bigint>
  readonly cpuSeconds: number
}

/** Every member's latest values, by incarnation key. */
export type MemberLedger = ReadonlyMap<string, MemberValues>

/** The ledger with the values of `snapshot`'s processes that are in `members`. */
export const recordMembers = (
  ledger: MemberLedger,
  members: ReadonlySet<string>,
  snapshot: Snapshot
): MemberLedger => {
  const next = new Map(ledger)
  const take = (p: ProcessWorkload) => {
    if (members.has(p.key)) next.set(p.key, { energy: p.energy, cpuSeconds: p.cpuSeconds })
  }
  // Terminated entries are frozen last-running values: the same or older than a running one.
  for (const p of snapshot.processes.terminated) if (!next.has(p.key)) take(p)
  for (const p of snapshot.processes.running) take(p)
  return next
}

/** How the command ended: `status` is what `joulemon measure` exits with. */
export interface CommandOutcome {
  readonly code: number | null
  readonly signal: string | null
  /** The exit code, or 128 + the signal's number. */
  readonly status: number
}

export interface MeasureInput {
  readonly command: ReadonlyArray<string>
  readonly pid: number
  readonly outcome: CommandOutcome
  readonly meterName: string
  /** Seconds from spawn to exit. */
  readonly wallSeconds: number
  readonly intervalSeconds: number
  /** Readings taken while the command ran, the final one included (the first is not). */
  readonly readings: number
  readonly failedReadings: number
  readonly first: Snapshot
  readonly last: Snapshot
  readonly ledger: MemberLedger
  /** Members seen by the tree scans (some may never have been in a reading). */
  readonly processesSeen: number
  /** The kernel's CPU time of the reaped command tree (joulemon's cutime + cstime delta), ticks. */
  readonly kernelCpuTicks: number | undefined
}

export interface ZoneReport {
  readonly name: string
  readonly path: string
  readonly estimated: boolean
  readonly nodeJoules: number
  readonly nodeActiveJoules: number
  readonly nodeIdleJoules: number
  readonly commandJoules: number
  /** commandJoules / nodeActiveJoules; 0 when no active energy was booked. */
  readonly shareOfActive: number
  /** Over the readings' window. */
  readonly nodeWatts: number
  /** Over the command's wall time. */
  readonly commandWatts: number
}

export interface MeasureReport {
  readonly formatVersion: 1
  readonly command: ReadonlyArray<string>
  readonly pid: number
  readonly exit: CommandOutcome
  readonly wallSeconds: number
  /** From the reading before the command to the one after it: what the node figures cover. */
  readonly windowSeconds: number
  readonly intervalSeconds: number
  readonly readings: number
  readonly failedReadings: number
  readonly meter: {
    readonly name: string
    /** `measured` when every zone is a sensor, `estimated` when any is the model. */
    readonly kind: "measured" | "estimated"
    readonly paths: ReadonlyArray<string>
  }
  readonly zones: ReadonlyArray<ZoneReport>
  readonly processes: {
    /** Processes of the tree the attribution booked energy or CPU time to. */
    readonly attributed: number
    readonly seen: number
    /** CPU seconds of the tree the attribution saw (each process's utime + stime at its last reading). */
    readonly attributedCpuSeconds: number
    /** CPU seconds of the whole tree as the kernel accounts it once reaped; null when unknown. */
    readonly kernelCpuSeconds: number | null
  }
}

const zoneDelta = (first: NodeZone | undefined, last: NodeZone, pick: (z: NodeZone) => bigint): bigint =>
  pick(last) - (first === undefined ? 0n : pick(first))

const perSecond = (j: number, s: number): number => (s > 0 ? j / s : 0)

export const measureReport = (input: MeasureInput): MeasureReport => {
  const windowSeconds = Math.max(0, (input.last.timestamp - input.first.timestamp) / 1000)
  const members = [...input.ledger.values()]
  const zones = input.last.zones.map((zone, z): ZoneReport => {
    const before = input.first.zones.find((f) => f.name === zone.name && f.index === zone.index)
    const node = zoneDelta(before, zone, (x) => x.energyTotal)
    const active = zoneDelta(before, zone, (x) => x.activeEnergyTotal)
    const idle = zoneDelta(before, zone, (x) => x.idleEnergyTotal)
    const command = members.reduce((sum, m) => sum + (m.energy[z] ?? 0n), 0n)
    const commandJoules = joules(command)
    return {
      name: zone.name,
      path: zone.path,
      estimated: zone.estimated,
      nodeJoules: joules(node),
      nodeActiveJoules: joules(active),
      nodeIdleJoules: joules(idle),
      commandJoules,
      shareOfActive: active > 0n ? Number((command * BigInt(MICRO)) / active) / MICRO : 0,
      nodeWatts: perSecond(joules(node), windowSeconds),
      commandWatts: perSecond(commandJoules, input.wallSeconds)
    }
  })
  const estimated = input.last.zones.some((z) => z.estimated)
  return {
    formatVersion: 1,
    command: input.command,
    pid: input.pid,
    exit: input.outcome,
    wallSeconds: input.wallSeconds,
    windowSeconds,
    intervalSeconds: input.intervalSeconds,
    readings: input.readings,
    failedReadings: input.failedReadings,
    meter: { name: input.meterName, kind: estimated ? "estimated" : "measured", paths: zones.map((z) => z.path) },
    zones,
    processes: {
      attributed: members.filter((m) => m.cpuSeconds > 0 || m.energy.some((e) => e > 0n)).length,
      seen: input.processesSeen,
      attributedCpuSeconds: members.reduce((sum, m) => sum + m.cpuSeconds, 0),
      kernelCpuSeconds: input.kernelCpuTicks === undefined ? null : input.kernelCpuTicks / USER_HZ
    }
  }
}

/** Exit status as a shell reports it. */
export const outcomeOf = (
  code: number | null,
  signal: string | null,
  signalNumber: number | undefined
): CommandOutcome => ({
  code,
  signal,
  status: code ?? (signalNumber === undefined ? 1 : 128 + signalNumber)
})

export const renderJson = (report: MeasureReport): string => JSON.stringify(report, null, 2)

const fixed = (value: number, digits: number) => value.toFixed(digits)
const joulesText = (j: number) => `${fixed(j, 3).padStart(10)} J`
const wattsText = (w: number) => `${fixed(w, 2).padStart(7)} W`

const quoteWord = (
  word: string
): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)

/** The human report: a header, one line per zone, the process-tree line, and how to read it. */
export const renderHuman = (report: MeasureReport): string => {
  const exit = report.exit.signal === null
    ? `exit status ${report.exit.status}`
    : `killed by ${report.exit.signal} (status ${report.exit.status})`
  const kind = report.meter.kind === "estimated"
    ? `ESTIMATED by the ${report.meter.name} meter (${report.meter.paths.join(", ")}), not measured`
    : `measured by the ${report.meter.name} meter (${report.meter.paths.join(", ")})`
  const width = Math.max(4, ...report.zones.map((z) => z.name.length))
  const zoneLines = report.zones.flatMap((z) => [
    `  ${z.name.padEnd(width)}  node    ${joulesText(z.nodeJoules)}  ${wattsText(z.nodeWatts)}  (active ${
      fixed(z.nodeActiveJoules, 3)
    } J, idle ${fixed(z.nodeIdleJoules, 3)} J)`,
    `  ${"".padEnd(width)}  command ${joulesText(z.commandJoules)}  ${wattsText(z.commandWatts)}  ${
      fixed(z.shareOfActive * 100, 1)
    }% of the node's active energy`
  ])
  const p = report.processes
  const cpu = p.kernelCpuSeconds === null
    ? `${fixed(p.attributedCpuSeconds, 2)} s CPU seen by the attribution`
    : `${fixed(p.attributedCpuSeconds, 2)} s of its ${fixed(p.kernelCpuSeconds, 2)} s CPU seen by the attribution`
  return [
    "",
    ` joulemon measure: ${report.command.map(quoteWord).join(" ")}`,
    `  pid ${report.pid}, ${exit}, ${fixed(report.wallSeconds, 3)} s wall`,
    `  energy ${kind}`,
    `  node over ${fixed(report.windowSeconds, 3)} s, ${report.readings} reading(s) every ${report.intervalSeconds} s${
      report.failedReadings > 0 ? `, ${report.failedReadings} failed` : ""
    }:`,
    ...zoneLines,
    `  command's process tree: ${p.attributed} of ${p.seen} process(es) seen were attributed energy; ${cpu}`,
    "  (the command's share is its processes' attributed active energy; idle energy stays with the node)",
    ""
  ].join("\n")
}
