/**
 * The checkpoint file of the cumulative counters (`monitor.stateDir`, issue 13 item 2): pure
 * encode, decode and resume, so every way a file can be wrong is tested without a disk.
 *
 * The file is an envelope around a payload string: the envelope names the format version, the
 * boot and the node it belongs to and the SHA-256 of the payload, so a truncated or edited
 * file fails its checksum and a file from another boot (RAPL and /proc start over, workloads
 * are new) or another host (a copied volume) is never resumed.
 *
 * What is kept: node zones (total, active, idle, unattributed), joulemon's own energy, and the
 * containers, VMs and pods that are running or tracked as terminated (bounded by
 * `monitor.maxTerminated`). Processes are not kept: a node can have tens of thousands, most
 * short-lived, which would make the file — written every interval — large for little gain.
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import type { IdlePolicy } from "../config/Config.js"
import { initialMonitorState, type MonitorState } from "../monitor/attribute.js"
import { type IdleAllocation, initialIdleAllocation } from "../monitor/idleAllocation.js"
import { initialZoneState, type ZoneMeta, type ZoneState } from "../monitor/nodeEnergy.js"
import type { ContainerWorkload, PodWorkload, VmWorkload } from "../monitor/snapshot.js"
import { USER_HZ } from "../resource/types.js"

export const FORMAT_VERSION = 1
export const FORMAT_NAME = "joulemon-counters"

/** Exact µJ as a decimal string (JSON numbers lose precision past 2^53). */
const Microjoules = Schema.BigInt.pipe(Schema.filter((n) => n >= 0n, { message: () => "a negative energy" }))
const Energies = Schema.Array(Microjoules)

const ZoneCounters = Schema.Struct({
  name: Schema.String,
  index: Schema.Int,
  energyTotal: Microjoules,
  activeEnergyTotal: Microjoules,
  idleEnergyTotal: Microjoules,
  unattributedEnergyTotal: Microjoules
})

const ContainerCounters = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  runtime: Schema.Literal("docker", "containerd", "crio", "podman", "kubernetes", "unknown"),
  podId: Schema.String,
  cpuTicks: Schema.NonNegative,
  energy: Energies,
  terminated: Schema.Boolean
})

const VmCounters = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  hypervisor: Schema.Literal("kvm", "xen", "virtualbox", "vmware"),
  energy: Energies,
  terminated: Schema.Boolean
})

const PodCounters = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  namespace: Schema.String,
  energy: Energies,
  terminated: Schema.Boolean
})

const EnergyEntry = Schema.Struct({ id: Schema.String, energy: Energies })

/** The idle energy charged under `monitor.idlePolicy`; absent under `none` and in older files. */
const IdleCounters = Schema.Struct({
  policy: Schema.String,
  nodeLevel: Energies,
  containers: Schema.Array(EnergyEntry),
  vms: Schema.Array(EnergyEntry),
  pods: Schema.Array(EnergyEntry)
})

/** Short-lived energy (`monitor.shortLived: cgroup`); absent under `none` and in older files. */
const ShortLivedCounters = Schema.Struct({
  containers: Schema.Array(EnergyEntry),
  pods: Schema.Array(EnergyEntry)
})

export const CounterPayload = Schema.Struct({
  zones: Schema.Array(ZoneCounters),
  selfEnergy: Energies,
  containers: Schema.Array(ContainerCounters),
  vms: Schema.Array(VmCounters),
  pods: Schema.Array(PodCounters),
  // Optional, so files written before it existed still resume (same format version).
  idle: Schema.optional(IdleCounters),
  shortLived: Schema.optional(ShortLivedCounters)
})
export type CounterPayload = typeof CounterPayload.Type

/** The envelope; `version` is checked before anything else so a newer file is named as such. */
const Envelope = Schema.Struct({
  format: Schema.Literal(FORMAT_NAME),
  version: Schema.Int,
  bootId: Schema.String,
  nodeName: Schema.String,
  writtenAt: Schema.Number,
  sha256: Schema.String,
  payload: Schema.String
})

export interface Owner {
  readonly bootId: string
  readonly nodeName: string
}

export type RejectReason = "truncated-or-corrupt" | "checksum" | "future-version" | "foreign-boot" | "foreign-node"

export class CounterFileRejected extends Data.TaggedError("CounterFileRejected")<{
  readonly reason: RejectReason
  readonly detail: string
}> {
  override get message(): string {
    return this.detail
  }
}

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

const decodeEnvelope = Schema.decodeUnknownEither(Schema.parseJson(Envelope))
const decodePayload = Schema.decodeUnknownEither(Schema.parseJson(CounterPayload))
const encodePayload = Schema.encodeSync(Schema.parseJson(CounterPayload))
const encodeEnvelope = Schema.encodeSync(Schema.parseJson(Envelope))

/** The counters of `state` worth keeping: zones, self, and workloads running or tracked as terminated. */
export const payloadOf = (
  state: MonitorState,
  zones: ReadonlyArray<ZoneMeta>,
  idle?: IdleAllocation
): CounterPayload => {
  const zoneCounters = zones.map((meta, z) => {
    const s = state.zones[z]
    return {
      name: meta.name,
      index: meta.index,
      energyTotal: s?.energyTotal ?? 0n,
      activeEnergyTotal: s?.activeEnergyTotal ?? 0n,
      idleEnergyTotal: s?.idleEnergyTotal ?? 0n,
      unattributedEnergyTotal: s?.unattributedEnergyTotal ?? 0n
    }
  })
  const container = (c: ContainerWorkload, terminated: boolean) => ({
    id: c.id,
    name: c.name,
    runtime: c.runtime,
    podId: c.podId,
    cpuTicks: terminated ? Math.round(c.cpuSeconds * USER_HZ) : (state.containerTicks.get(c.id) ?? 0),
    energy: c.energy,
    terminated
  })
  const vm = (v: VmWorkload, terminated: boolean) => ({
    id: v.id,
    name: v.name,
    hypervisor: v.hypervisor,
    energy: v.energy,
    terminated
  })
  const pod = (p: PodWorkload, terminated: boolean) => ({
    id: p.id,
    name: p.name,
    namespace: p.namespace,
    energy: p.energy,
    terminated
  })
  return {
    zones: zoneCounters,
    selfEnergy: state.selfEnergy,
    containers: [
      ...[...state.containers.values()].map((c) => container(c, false)),
      ...state.terminated.containers.map((c) => container(c, true))
    ],
    vms: [...[...state.vms.values()].map((v) => vm(v, false)), ...state.terminated.vms.map((v) => vm(v, true))],
    pods: [...[...state.pods.values()].map((p) => pod(p, false)), ...state.terminated.pods.map((p) => pod(p, true))],
    ...(idle === undefined || idle.policy === "none" ? {} : { idle: idleCountersOf(idle) }),
    ...(state.shortLived === undefined
      ? {}
      : { shortLived: { containers: entries(state.shortLived.containers), pods: entries(state.shortLived.pods) } })
  }
}

const entries = (m: ReadonlyMap<string, ReadonlyArray<bigint>>) => [...m].map(([id, energy]) => ({ id, energy }))

const idleCountersOf = (idle: IdleAllocation): typeof IdleCounters.Type => {
  return {
    policy: idle.policy,
    nodeLevel: idle.nodeLevel,
    containers: entries(idle.containers),
    vms: entries(idle.vms),
    pods: entries(idle.pods)
  }
}

export const encodeCounterFile = (payload: CounterPayload, owner: Owner, writtenAt: number): string => {
  const text = encodePayload(payload)
  return `${
    encodeEnvelope({
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      bootId: owner.bootId,
      nodeName: owner.nodeName,
      writtenAt,
      sha256: sha256(text),
      payload: text
    })
  }\n`
}

/** The payload of `text` if it is intact, of this format version, and belongs to `owner`. */
export const decodeCounterFile = (text: string, owner: Owner): Either.Either<CounterPayload, CounterFileRejected> => {
  const envelope = decodeEnvelope(text)
  if (Either.isLeft(envelope)) {
    return Either.left(
      new CounterFileRejected({
        reason: "truncated-or-corrupt",
        detail: `not a complete counter file (truncated or corrupt): ${firstIssue(envelope.left)}`
      })
    )
  }
  const e = envelope.right
  if (e.version > FORMAT_VERSION) {
    return Either.left(
      new CounterFileRejected({
        reason: "future-version",
        detail:
          `format version ${e.version} is newer than this joulemon's ${FORMAT_VERSION} (written by a newer joulemon)`
      })
    )
  }
  if (sha256(e.payload) !== e.sha256) {
    return Either.left(
      new CounterFileRejected({ reason: "checksum", detail: "the checksum does not match the content (corrupt)" })
    )
  }
  if (e.bootId !== owner.bootId) {
    return Either.left(
      new CounterFileRejected({
        reason: "foreign-boot",
        detail: `written during another boot (boot id ${e.bootId}, this boot ${owner.bootId})`
      })
    )
  }
  if (e.nodeName !== owner.nodeName) {
    return Either.left(
      new CounterFileRejected({
        reason: "foreign-node",
        detail: `written on another node (${JSON.stringify(e.nodeName)}, this node ${JSON.stringify(owner.nodeName)})`
      })
    )
  }
  return Either.mapLeft(
    decodePayload(e.payload),
    (error) =>
      new CounterFileRejected({
        reason: "truncated-or-corrupt",
        detail: `the content is not valid counters (corrupt): ${firstIssue(error)}`
      })
  )
}

/** The first problem, with its path in the document: one line for a log. */
const firstIssue = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return "unknown problem"
  return issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message
}

/** Where each of the meter's zones is in the file (matched by name and index), if it is. */
const zonePositions = (payload: CounterPayload, zones: ReadonlyArray<ZoneMeta>) => {
  const saved = new Map(payload.zones.map((z, i) => [`${z.name}\u0000${z.index}`, { z, i }]))
  return zones.map((meta) => saved.get(`${meta.name}\u0000${meta.index}`))
}

/** Per-zone values of the file in the meter's zone order (0 for a zone the file does not know). */
const realigner =
  (positions: ReadonlyArray<{ readonly i: number } | undefined>) =>
  (values: ReadonlyArray<bigint>): ReadonlyArray<bigint> =>
    Object.freeze(positions.map((p) => (p === undefined ? 0n : (values[p.i] ?? 0n))))

/**
 * The idle allocation seeded with `payload`'s, when it was saved under the same policy; under
 * another policy the charges mean something else, so they start from 0.
 */
export const resumeIdle = (
  payload: CounterPayload,
  zones: ReadonlyArray<ZoneMeta>,
  policy: IdlePolicy
): IdleAllocation => {
  const saved = payload.idle
  if (policy === "none" || saved === undefined || saved.policy !== policy) return initialIdleAllocation(policy)
  const realign = realigner(zonePositions(payload, zones))
  const map = (entries: ReadonlyArray<{ readonly id: string; readonly energy: ReadonlyArray<bigint> }>) =>
    new Map(entries.map((e) => [e.id, realign(e.energy)]))
  return {
    policy,
    nodeLevel: realign(saved.nodeLevel),
    containers: map(saved.containers),
    vms: map(saved.vms),
    pods: map(saved.pods)
  }
}

/**
 * The monitor's initial state seeded with `payload`: every counter starts where it was saved,
 * so no exported counter goes down across a restart. Zones are matched by name and index (a
 * zone the file does not know starts at 0); their baselines stay unset, so the first reading
 * after a restart books nothing, as at any start.
 */
export const resumeState = (payload: CounterPayload, zones: ReadonlyArray<ZoneMeta>): MonitorState => {
  const base = initialMonitorState(zones.length)
  const positions = zonePositions(payload, zones)
  const zoneStates: Array<ZoneState> = positions.map((found) =>
    found === undefined
      ? initialZoneState
      : {
        ...initialZoneState,
        energyTotal: found.z.energyTotal,
        activeEnergyTotal: found.z.activeEnergyTotal,
        idleEnergyTotal: found.z.idleEnergyTotal,
        unattributedEnergyTotal: found.z.unattributedEnergyTotal
      }
  )
  const realign = realigner(positions)
  const watts = Object.freeze(zones.map(() => 0))

  const containers = new Map<string, ContainerWorkload>()
  const containerTicks = new Map<string, number>()
  const terminatedContainers: Array<ContainerWorkload> = []
  for (const { cpuTicks, energy, terminated, ...identity } of payload.containers) {
    const w: ContainerWorkload = Object.freeze({
      ...identity,
      cpuSeconds: cpuTicks / USER_HZ,
      energy: realign(energy),
      watts
    })
    if (terminated) terminatedContainers.push(w)
    else {
      containers.set(w.id, w)
      containerTicks.set(w.id, cpuTicks)
    }
  }
  const vms = new Map<string, VmWorkload>()
  const terminatedVms: Array<VmWorkload> = []
  for (const { energy, terminated, ...identity } of payload.vms) {
    const w: VmWorkload = Object.freeze({ ...identity, energy: realign(energy), watts })
    if (terminated) terminatedVms.push(w)
    else vms.set(w.id, w)
  }
  const pods = new Map<string, PodWorkload>()
  const terminatedPods: Array<PodWorkload> = []
  for (const { energy, terminated, ...identity } of payload.pods) {
    const w: PodWorkload = Object.freeze({ ...identity, energy: realign(energy), watts })
    if (terminated) terminatedPods.push(w)
    else pods.set(w.id, w)
  }
  return {
    ...base,
    zones: zoneStates,
    containers,
    containerTicks,
    vms,
    pods,
    selfEnergy: realign(payload.selfEnergy),
    terminated: { processes: [], containers: terminatedContainers, vms: terminatedVms, pods: terminatedPods },
    ...(payload.shortLived === undefined ? {} : {
      shortLived: {
        containers: new Map(payload.shortLived.containers.map((e) => [e.id, realign(e.energy)])),
        pods: new Map(payload.shortLived.pods.map((e) => [e.id, realign(e.energy)]))
      }
    })
  }
}
