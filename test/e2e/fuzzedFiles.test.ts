/**
 * The fuzz property of issue 16: the real binary over a synthetic /proc and powercap tree in
 * which random files are damaged at random each reading (missing, empty, truncated, garbage,
 * 2 MiB, negative, fractional, NaN, past 2^64, a directory, /dev/zero, a symlink loop), while
 * processes come and go. Over every scrape: /metrics answers 200, no sample of any family
 * (kepler_*, joulemon_*, nodejs_*, process_*) is NaN, infinite or negative, no counter (nor a
 * histogram's cumulative series) ever decreases, promtool finds nothing, and the memory of
 * joulemon and its collector stays bounded.
 */
import { FastCheck as fc } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cpuAfterRounds } from "../resource/procDir.js"
import { type Running, startOverTrees } from "../support/binary.js"
import { parseSamples } from "../support/exposition.js"
import { largestRss } from "../support/processMemory.js"
import { makeProcTree, type ProcTree, qemuCmdline, withStatField } from "../support/procTree.js"
import { which } from "../support/which.js"

const PROMTOOL = which("promtool")
const CONTAINER_ID = "b176419186d75a44628851daf7841d3374a2ec56d0b038ee3bd1e0c6d331e5b1"
const VM_ID = "df12672f-fedb-4f6f-9d51-0166868835fb"

const KINDS = [
  "missing",
  "empty",
  "truncated",
  "garbage",
  "huge",
  "negative",
  "fraction",
  "nan",
  "overflow",
  "directory",
  "devzero",
  "loop"
] as const
type Kind = (typeof KINDS)[number]
const PROC_FILES = ["stat", "comm", "cmdline", "cgroup", "environ"] as const
const TARGETS = [...PROC_FILES, "procstat", "energy_pkg", "energy_dram", "max_energy"] as const
type Target = (typeof TARGETS)[number]

interface Damage {
  readonly target: Target
  readonly kind: Kind
  /** Which live process, for the per-process files (modulo their number). */
  readonly which: number
  readonly bytes: Uint8Array
}
interface Round {
  readonly damages: ReadonlyArray<Damage>
  readonly churn: "none" | "exit" | "spawn"
}

const damage: fc.Arbitrary<Damage> = fc.record({
  target: fc.constantFrom(...TARGETS),
  kind: fc.constantFrom(...KINDS),
  which: fc.nat(20),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 64 })
})
const round: fc.Arbitrary<Round> = fc.record({
  damages: fc.array(damage, { maxLength: 4 }),
  churn: fc.constantFrom("none", "none", "exit", "spawn")
})

let tree: ProcTree
let joulemon: Running
let url = ""
let tmp = ""
let zone = ""
let dram = ""

/** Plain processes come and go; their pids are never reused, so no label set restarts at 0. */
const plain: Array<number> = [100, 101, 102]
let nextPid = 200
let tick = 0

const writeAll = (): void => {
  tick++
  const common = { utime: 10 * tick, stime: 2 * tick }
  for (const pid of plain) {
    tree.setProcess({ pid, comm: `app${pid}`, startTime: pid * 10, exe: `/usr/bin/app${pid}`, ...common })
  }
  tree.setProcess({
    pid: 91,
    comm: "nginx",
    startTime: 910,
    exe: "/usr/sbin/nginx",
    cgroup: `0::/system.slice/docker-${CONTAINER_ID}.scope\n`,
    ...common
  })
  tree.setProcess({
    pid: 92,
    comm: "qemu-system-x86",
    startTime: 920,
    exe: "/usr/bin/qemu-system-x86_64",
    cmdline: qemuCmdline("web", VM_ID),
    ...common
  })
  tree.setProcess({ pid: 2, comm: "kthreadd", startTime: 20, ...common })
  fs.rmSync(path.join(tree.procfs, "stat"), { recursive: true, force: true })
  tree.setCpu(cpuAfterRounds(tick))
  for (const [dir, uj] of [[zone, 50_000_000], [dram, 5_000_000]] as const) {
    for (const f of ["energy_uj", "max_energy_range_uj"]) fs.rmSync(path.join(dir, f), { recursive: true, force: true })
    fs.writeFileSync(path.join(dir, "energy_uj"), `${uj * tick}\n`)
    fs.writeFileSync(path.join(dir, "max_energy_range_uj"), "262143328850\n")
  }
}

const fileOf = (d: Damage): string => {
  const pids = [...plain, 91, 92, 2]
  switch (d.target) {
    case "procstat":
      return path.join(tree.procfs, "stat")
    case "energy_pkg":
      return path.join(zone, "energy_uj")
    case "energy_dram":
      return path.join(dram, "energy_uj")
    case "max_energy":
      return path.join(zone, "max_energy_range_uj")
    default:
      return path.join(tree.procfs, String(pids[d.which % pids.length]), d.target)
  }
}

/**
 * The file's bytes when it is a regular file; empty when an earlier damage of the same round
 * made it a directory, a loop or /dev/zero (reading that would never end).
 */
const regularContent = (file: string): Buffer => {
  const stat = fs.lstatSync(file, { throwIfNoEntry: false })
  return stat?.isFile() === true ? fs.readFileSync(file) : Buffer.alloc(0)
}

/** A number in the file's own syntax: a stat field, a /proc/stat cpu field, or the whole file. */
const withNumber = (file: string, text: string): string => {
  const current = regularContent(file).toString("latin1")
  if (file.endsWith(`${path.sep}stat`) && path.dirname(file) !== tree.procfs) return withStatField(current, 14, text)
  if (file === path.join(tree.procfs, "stat")) return current.replace(/^cpu  \d+/, `cpu  ${text}`)
  return `${text}\n`
}

const apply = (d: Damage): void => {
  const file = fileOf(d)
  if (!fs.existsSync(path.dirname(file))) return
  const numeric: Partial<Record<Kind, string>> = {
    negative: "-12345",
    fraction: "1.5e3",
    nan: "NaN",
    overflow: "18446744073709551616"
  }
  const number = numeric[d.kind]
  if (number !== undefined) {
    const text = withNumber(file, number)
    fs.rmSync(file, { recursive: true, force: true })
    return fs.writeFileSync(file, text, "latin1")
  }
  const current = regularContent(file)
  fs.rmSync(file, { recursive: true, force: true })
  switch (d.kind) {
    case "missing":
      return
    case "empty":
      return fs.writeFileSync(file, "")
    case "truncated":
      return fs.writeFileSync(file, current.subarray(0, (d.bytes[0] ?? 0) % Math.max(1, current.length)))
    case "garbage":
      return fs.writeFileSync(file, d.bytes)
    case "huge":
      return fs.writeFileSync(file, Buffer.alloc(2 * 1024 * 1024, "9"))
    case "directory":
      return fs.mkdirSync(file)
    case "devzero":
      return fs.symlinkSync("/dev/zero", file)
    case "loop":
      return fs.symlinkSync(file, file)
    case "negative":
    case "fraction":
    case "nan":
    case "overflow":
      return // written above, in the file's own syntax
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Counter samples, and a histogram's or summary's _count, _sum and _bucket: cumulative. */
const cumulativeNames = (body: string): Set<string> => {
  const names = new Set<string>()
  for (const m of body.matchAll(/^# TYPE (\S+) (counter|histogram|summary)$/gm)) {
    const [, name = "", type] = m
    if (type === "counter") names.add(name)
    else for (const suffix of ["_count", "_sum", ...(type === "histogram" ? ["_bucket"] : [])]) names.add(name + suffix)
  }
  return names
}

describe("random malformed /proc and powercap files over many scrapes, through the real binary", () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-fuzz-"))
    const sysfs = path.join(tmp, "sys")
    zone = path.join(sysfs, "class", "powercap", "intel-rapl:0")
    dram = path.join(sysfs, "class", "powercap", "intel-rapl:0:0")
    for (const dir of [zone, dram]) fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(zone, "name"), "package-0\n")
    fs.writeFileSync(path.join(dram, "name"), "dram\n")
    tree = makeProcTree(cpuAfterRounds(0))
    writeAll()
    ;({ joulemon, url } = await startOverTrees(tmp, { sysfs, procfs: tree.procfs }))
  }, 60_000)

  afterAll(() => {
    joulemon?.child.kill("SIGTERM")
    tree?.remove()
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("has promtool installed (Debian/Ubuntu: apt-get install prometheus)", () => {
    expect(PROMTOOL).toBeDefined()
  })

  it(
    "never decreases a counter, never exports NaN, Inf or a negative, stays promtool-clean and bounded in memory",
    async () => {
      const last = new Map<string, number>()
      let scrapes = 0
      let maxRss = 0
      await fc.assert(
        fc.asyncProperty(fc.array(round, { minLength: 10, maxLength: 25 }), async (rounds) => {
          for (const r of rounds) {
            if (r.churn === "exit" && plain.length > 1) {
              const gone = plain.shift()
              fs.rmSync(path.join(tree.procfs, String(gone)), { recursive: true, force: true })
            } else if (r.churn === "spawn") plain.push(nextPid++)
            writeAll()
            for (const d of r.damages) apply(d)
            await pause(20)
            const res = await fetch(`${url}/metrics`)
            const body = await res.text()
            scrapes++
            expect(res.status).toBe(200)
            const cumulative = cumulativeNames(body)
            for (const s of parseSamples(body)) {
              const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`
              expect({ key, value: s.value, sane: Number.isFinite(s.value) && s.value >= 0 }).toMatchObject({
                sane: true
              })
              if (!cumulative.has(s.name)) continue
              const before = last.get(key)
              expect({ key, before, now: s.value, decreased: before !== undefined && s.value < before })
                .toMatchObject({ decreased: false })
              last.set(key, s.value)
            }
            const lint = spawnSync(PROMTOOL ?? "promtool", ["check", "metrics"], { input: body, encoding: "utf8" })
            expect(`${lint.stdout}${lint.stderr}`).toBe("")
            maxRss = Math.max(maxRss, largestRss(joulemon.child.pid ?? 0))
          }
        }),
        // The binary is one long-lived system: shrinking would replay against a changed state.
        // Seeded, so every run damages the same files the same way: the checks below that the
        // damage reached joulemon (refused as malformed and as not regular) cannot depend on luck.
        { numRuns: 4, endOnFailure: true, seed: 20261207 }
      )
      expect(scrapes).toBeGreaterThanOrEqual(40)
      expect(joulemon.child.exitCode).toBeNull()
      // The damage reached joulemon: it refused files as malformed and as not regular.
      expect(joulemon.output()).toContain("malformed")
      expect(joulemon.output()).toContain("not a regular file")
      expect(maxRss).toBeGreaterThan(0)
      expect(maxRss).toBeLessThan(400 * 1024 * 1024)
      // The watched workloads are still there after all of it.
      writeAll()
      await pause(20)
      const names = parseSamples(await fetch(`${url}/metrics`).then((r) => r.text()))
      expect(
        names.some((s) => s.name === "kepler_container_cpu_joules_total" && s.labels["container_id"] === CONTAINER_ID)
      )
        .toBe(true)
      expect(names.some((s) => s.name === "kepler_vm_cpu_joules_total" && s.labels["vm_id"] === VM_ID)).toBe(true)
    },
    240_000
  )
})
