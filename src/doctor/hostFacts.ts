/**
 * Everything the host-side doctor checks look at, read once through the same `host.sysfs` and
 * `host.procfs` the daemon uses. Reading is all this module does; `hostChecks.ts` judges it.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as path from "node:path"
import type { JoulemonConfig, MeterName } from "../config/Config.js"
import { buildMeter } from "../device/meterSelection.js"
import { energyFile, powercapDir } from "../device/raplDiscovery.js"
import { matchContainer } from "../resource/classify/container.js"
import { type FileProbe, isDirectory, listDir, probeFile, probeLink } from "./fileProbe.js"

export interface PowercapZoneFacts {
  /** The directory entry under class/powercap, e.g. `intel-rapl:0:1`. */
  readonly entry: string
  readonly name: FileProbe
  readonly maxEnergy: FileProbe
  readonly energy: FileProbe
}

export interface HwmonFacts {
  readonly entry: string
  readonly name: string | undefined
  /** `power1_input`, `energy1_input`, … */
  readonly powerFiles: ReadonlyArray<string>
}

export type MeterAttempt =
  | {
    readonly meter: MeterName
    readonly _tag: "Usable"
    readonly estimated: boolean
    readonly zones: ReadonlyArray<string>
  }
  | { readonly meter: MeterName; readonly _tag: "Unusable"; readonly reason: string; readonly hint?: string }

/** Whether a file of another user's process could be read: "readable" or the errno. */
export type Access = "readable" | string

export interface OtherProcessFacts {
  readonly pid: number
  readonly uid: number
  readonly exe: Access
  readonly environ: Access
}

export interface HostFacts {
  readonly sysfs: string
  readonly procfs: string
  readonly osrelease: FileProbe
  /** undefined: there is no class/powercap directory at all. */
  readonly powercap: ReadonlyArray<PowercapZoneFacts> | undefined
  readonly hwmon: ReadonlyArray<HwmonFacts> | undefined
  /** In `cpu.preferredMeters` order, up to and including the first usable one. */
  readonly meters: ReadonlyArray<MeterAttempt>
  /** CapEff of joulemon itself (/proc/self/status under host.procfs). */
  readonly capEff: bigint | undefined
  readonly uid: number | undefined
  /** The first process, in pid order, owned by another user; undefined when none is visible. */
  readonly otherProcess: OtherProcessFacts | undefined
  readonly cgroup: {
    /** `<sysfs>/fs/cgroup/cgroup.controllers` exists: the root is cgroup v2. */
    readonly v2Root: boolean
    /** v1 controller hierarchies found (`cpu`, `cpuacct`, `memory`, …). */
    readonly v1Hierarchies: ReadonlyArray<string>
    /** `<sysfs>/fs/cgroup/unified`: systemd's hybrid layout. */
    readonly hybridUnified: boolean
  }
  /** Container runtimes seen in /proc/<pid>/cgroup, sorted, each once. */
  readonly runtimes: ReadonlyArray<string>
  readonly cpuinfoHypervisor: boolean | undefined
  readonly sysVendor: string | undefined
}

/** Meters are built for real, as at startup, unless a file they would open is not a regular file. */
const METER_TIMEOUT = Duration.seconds(10)

const V1_HIERARCHIES = ["cpu", "cpuacct", "cpu,cpuacct", "memory", "pids", "blkio", "systemd"] as const

/** Bound on how many processes are scanned for runtimes: enough to see each runtime once. */
const RUNTIME_SCAN_LIMIT = 2000

const readPowercap = (sysfs: string): Effect.Effect<ReadonlyArray<PowercapZoneFacts> | undefined> =>
  Effect.gen(function*() {
    const dir = powercapDir(sysfs)
    const entries = yield* listDir(dir)
    if (entries === undefined) return undefined
    // Control types (`intel-rapl`, `intel-rapl-mmio`) have no name file and are not zones.
    const zones = yield* Effect.forEach(
      entries,
      (entry) =>
        Effect.gen(function*(): Effect.fn.Return<PowercapZoneFacts | undefined> {
          const zoneDir = path.join(dir, entry)
          const name = yield* probeFile(path.join(zoneDir, "name"))
          if (name._tag === "Missing") return undefined
          return {
            entry,
            name,
            maxEnergy: yield* probeFile(path.join(zoneDir, "max_energy_range_uj")),
            energy: yield* probeFile(energyFile(zoneDir))
          } satisfies PowercapZoneFacts
        })
    )
    return zones.filter((z): z is PowercapZoneFacts => z !== undefined)
  })

const readHwmon = (sysfs: string): Effect.Effect<ReadonlyArray<HwmonFacts> | undefined> =>
  Effect.gen(function*() {
    const dir = path.join(sysfs, "class", "hwmon")
    const entries = yield* listDir(dir)
    if (entries === undefined) return undefined
    return yield* Effect.forEach(entries, (entry) =>
      Effect.gen(function*() {
        const files = (yield* listDir(path.join(dir, entry))) ?? []
        const name = yield* probeFile(path.join(dir, entry, "name"))
        return {
          entry,
          name: name._tag === "Read" ? name.text.trim() : undefined,
          powerFiles: files.filter((f) => /^(power|energy)\d+_input$/.test(f))
        } satisfies HwmonFacts
      }))
  })

/** A file that would be opened by a meter but is not a regular file (a FIFO would block it). */
const blockingFile = (zones: ReadonlyArray<PowercapZoneFacts> | undefined): FileProbe | undefined =>
  zones?.flatMap((z) => [z.name, z.maxEnergy, z.energy]).find((p) => p._tag === "NotAFile")

const tryMeters = (config: JoulemonConfig, powercap: ReadonlyArray<PowercapZoneFacts> | undefined) =>
  Effect.gen(function*() {
    const attempts: Array<MeterAttempt> = []
    for (const meter of config.cpu.preferredMeters) {
      const blocker = meter === "rapl" ? blockingFile(powercap) : undefined
      if (blocker !== undefined && blocker._tag === "NotAFile") {
        attempts.push({ meter, _tag: "Unusable", reason: `${blocker.path} is a ${blocker.kind}, not a regular file` })
        continue
      }
      const built = yield* buildMeter(meter, config).pipe(
        Effect.timeoutFail({
          duration: METER_TIMEOUT,
          onTimeout: () => ({
            reason: `building the meter took longer than ${Duration.format(METER_TIMEOUT)}`,
            hint: undefined
          })
        }),
        Effect.either
      )
      if (Either.isRight(built)) {
        attempts.push({
          meter,
          _tag: "Usable",
          estimated: built.right.estimated,
          zones: built.right.zones.map((z) => z.name)
        })
        break
      }
      const { reason, hint } = built.left
      attempts.push({ meter, _tag: "Unusable", reason, ...(hint === undefined ? {} : { hint }) })
    }
    return attempts
  })

const access = (
  probe: FileProbe
): Access => (probe._tag === "Read" ? "readable" : probe._tag === "Unreadable" ? probe.code : probe._tag)

const uidOf = (status: FileProbe): number | undefined => {
  if (status._tag !== "Read") return undefined
  const uid = /^Uid:\s+(\d+)/m.exec(status.text)?.[1]
  return uid === undefined ? undefined : Number(uid)
}

const pidsOf = (entries: ReadonlyArray<string>): ReadonlyArray<number> =>
  entries.filter((e) => /^\d+$/.test(e)).map(Number).sort((a, b) => a - b)

const readOtherProcess = (procfs: string, ownUid: number | undefined, pids: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    if (ownUid === undefined) return undefined
    for (const pid of pids) {
      const uid = uidOf(yield* probeFile(path.join(procfs, String(pid), "status")))
      if (uid === undefined || uid === ownUid) continue
      const exe = access(yield* probeLink(path.join(procfs, String(pid), "exe")))
      // Only whether it opens: the contents (other users' secrets) are dropped at once.
      const environ = access(yield* probeFile(path.join(procfs, String(pid), "environ")))
      return { pid, uid, exe, environ } satisfies OtherProcessFacts
    }
    return undefined
  })

const readRuntimes = (procfs: string, pids: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const seen = new Set<string>()
    for (const pid of pids.slice(0, RUNTIME_SCAN_LIMIT)) {
      const cgroup = yield* probeFile(path.join(procfs, String(pid), "cgroup"))
      if (cgroup._tag !== "Read") continue
      const match = matchContainer(cgroup.text)
      if (match !== undefined) seen.add(match.runtime)
    }
    return [...seen].sort()
  })

const capEffOf = (status: FileProbe): bigint | undefined => {
  if (status._tag !== "Read") return undefined
  const hex = /^CapEff:\s+([0-9a-fA-F]+)/m.exec(status.text)?.[1]
  return hex === undefined ? undefined : BigInt(`0x${hex}`)
}

export const readHostFacts: (config: JoulemonConfig) => Effect.Effect<HostFacts> = Effect.fn("Doctor.readHostFacts")(
  function*(config: JoulemonConfig) {
    const { sysfs, procfs } = config.host
    const powercap = yield* readPowercap(sysfs)
    const selfStatus = yield* probeFile(path.join(procfs, "self", "status"))
    const uid = uidOf(selfStatus)
    const pids = pidsOf((yield* listDir(procfs)) ?? [])
    const cgroupRoot = path.join(sysfs, "fs", "cgroup")
    const v1Hierarchies: Array<string> = []
    for (const name of V1_HIERARCHIES) if (yield* isDirectory(path.join(cgroupRoot, name))) v1Hierarchies.push(name)
    const cpuinfo = yield* probeFile(path.join(procfs, "cpuinfo"))
    const sysVendor = yield* probeFile(path.join(sysfs, "class", "dmi", "id", "sys_vendor"))
    return {
      sysfs,
      procfs,
      osrelease: yield* probeFile(path.join(procfs, "sys", "kernel", "osrelease")),
      powercap,
      hwmon: yield* readHwmon(sysfs),
      meters: yield* tryMeters(config, powercap),
      capEff: capEffOf(selfStatus),
      uid,
      otherProcess: yield* readOtherProcess(procfs, uid, pids),
      cgroup: {
        v2Root: (yield* probeFile(path.join(cgroupRoot, "cgroup.controllers")))._tag === "Read",
        v1Hierarchies,
        hybridUnified: yield* isDirectory(path.join(cgroupRoot, "unified"))
      },
      runtimes: yield* readRuntimes(procfs, pids),
      cpuinfoHypervisor: cpuinfo._tag === "Read" ? /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo.text) : undefined,
      sysVendor: sysVendor._tag === "Read" ? sysVendor.text.trim() : undefined
    } satisfies HostFacts
  }
)
