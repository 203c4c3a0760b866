/**
 * Durable counters through the real binary (issue 13, item 2): with `monitor.stateDir` set,
 * a restart continues every counter from where it was; a truncated, corrupt, foreign-boot or
 * newer-format file is named in a warning, set aside and joulemon starts from 0; and a SIGKILL
 * at any point of a run that checkpoints every few milliseconds never leaves a file that is
 * then trusted but partial.
 */
import { Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeCounterFile } from "../../src/state/counterFile.js"
import { cpuAfterRounds } from "../resource/procDir.js"
import { type Running, startJoulemon, waitForOutput, withTimeout } from "../support/binary.js"
import { type ParsedSample, parseSamples } from "../support/exposition.js"
import { freePort } from "../support/ports.js"
import { makeProcTree, type ProcTree } from "../support/procTree.js"
import { type RaplTree, startRaplTree } from "../support/raplTree.js"

const CONTAINER_ID = "b176419186d75a44628851daf7841d3374a2ec56d0b038ee3bd1e0c6d331e5b1"
const BOOT_ID = "8d2a5c1e-52f1-4c1b-9f3e-0c1d2e3f4a5b"
const NODE_NAME = "restart-node"

let rapl: RaplTree
let tree: ProcTree
let tmp = ""
let stateDir = ""
let counterFile = ""
let round = 0

const bootIdFile = (): string => path.join(tree.procfs, "sys", "kernel", "random", "boot_id")
const setBootId = (id: string): void => {
  fs.mkdirSync(path.dirname(bootIdFile()), { recursive: true })
  fs.writeFileSync(bootIdFile(), `${id}\n`)
}

/** Every process used 10 more ticks; `selfPid` (joulemon) too, so its own energy moves. */
const advance = (selfPid?: number): void => {
  round++
  const utime = 10 * round
  tree.setProcess({ pid: 90, comm: "app", utime, stime: 0, startTime: 300, exe: "/usr/bin/app" })
  tree.setProcess({
    pid: 91,
    comm: "nginx",
    utime,
    stime: 0,
    startTime: 301,
    exe: "/usr/sbin/nginx",
    cgroup: `0::/system.slice/docker-${CONTAINER_ID}.scope\n`
  })
  if (selfPid !== undefined) {
    tree.setProcess({ pid: selfPid, comm: "node", utime, stime: 0, startTime: 400, exe: "/usr/bin/node" })
  }
  tree.setCpu(cpuAfterRounds(round))
}

/** `fast`: every scrape refreshes (and checkpoints). `frozen`: the first snapshot is served as is. */
const configs = {
  fast: "monitor:\n  interval: 0s\n  staleness: 1ms\n  idlePolicy: cpu-share\n",
  frozen: "monitor:\n  interval: 1h\n  staleness: 1h\n  idlePolicy: cpu-share\n",
  racing: "monitor:\n  interval: 5ms\n  staleness: 1ms\n  idlePolicy: cpu-share\n"
}

interface Instance {
  readonly joulemon: Running
  readonly url: string
}

const start = async (kind: keyof typeof configs): Promise<Instance> => {
  const config = path.join(tmp, `${kind}.yaml`)
  fs.writeFileSync(
    config,
    `cpu:\n  preferredMeters: [rapl]\n${configs[kind]}  stateDir: ${stateDir}\nkube:\n  nodeName: ${NODE_NAME}\n`
  )
  const port = await freePort()
  const joulemon = startJoulemon([
    `--config.file=${config}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--host.sysfs=${rapl.sysfs}`,
    `--host.procfs=${tree.procfs}`
  ])
  await waitForOutput(joulemon, (o) => o.includes("message=listening"))
  return { joulemon, url: `http://127.0.0.1:${port}` }
}

const kill = async (instance: Instance): Promise<void> => {
  instance.joulemon.child.kill("SIGKILL")
  await withTimeout(instance.joulemon.exited, 10_000, "joulemon exiting on SIGKILL")
}

const scrape = async (instance: Instance): Promise<Array<ParsedSample>> => {
  const res = await fetch(`${instance.url}/metrics`)
  expect(res.status).toBe(200)
  return parseSamples(await res.text())
}

const COUNTERS =
  /^(kepler_node_cpu(_active|_idle)?_joules_total|kepler_container_cpu_joules_total|joulemon_self_cpu_joules_total|joulemon_container_cpu_idle_joules_total|joulemon_node_cpu_idle_unallocated_joules_total)$/
const seriesKey = (s: ParsedSample): string => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`
const counters = (samples: ReadonlyArray<ParsedSample>): Map<string, number> =>
  new Map(
    samples.filter((s) => COUNTERS.test(s.name) && s.labels["state"] !== "terminated").map((
      s
    ) => [seriesKey(s), s.value])
  )
const nodeTotal = (samples: ReadonlyArray<ParsedSample>): number =>
  samples.find((s) => s.name === "kepler_node_cpu_joules_total" && s.labels["zone"] === "package")?.value ?? Number.NaN

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Runs joulemon fast for a few refreshes so the counter file holds non-zero counters. */
const runUp = async (): Promise<Map<string, number>> => {
  const instance = await start("fast")
  const pid = instance.joulemon.child.pid
  let last = new Map<string, number>()
  for (let i = 0; i < 3; i++) {
    advance(pid)
    await pause(30)
    last = counters(await scrape(instance))
  }
  await kill(instance)
  return last
}

describe("durable counters (monitor.stateDir) through the real binary", () => {
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-restart-"))
    stateDir = path.join(tmp, "state")
    counterFile = path.join(stateDir, "counters.json")
    rapl = startRaplTree({ package: 50 })
    tree = makeProcTree(cpuAfterRounds(0))
    setBootId(BOOT_ID)
    advance()
  })

  afterAll(() => {
    rapl?.stop()
    tree?.remove()
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("continues every counter after a SIGKILL: none is lower after the restart", async () => {
    const before = await runUp()
    const watched = [...before.keys()]
    expect(watched.some((k) => k.includes(CONTAINER_ID))).toBe(true)
    expect(watched.some((k) => k.startsWith("joulemon_self_cpu_joules_total"))).toBe(true)
    // The idle energy charged under monitor.idlePolicy is kept too.
    expect(watched.some((k) => k.startsWith("joulemon_container_cpu_idle_joules_total") && k.includes(CONTAINER_ID)))
      .toBe(true)
    for (const key of watched) expect({ key, positive: (before.get(key) ?? 0) > 0 }).toEqual({ key, positive: true })

    // The first snapshot after the restart is its baseline: exactly the resumed counters.
    const frozen = await start("frozen")
    expect(frozen.joulemon.output()).toContain("counters resumed from the counter file")
    const resumed = counters(await scrape(frozen))
    for (const key of watched) {
      const [b = Number.NaN, r = Number.NaN] = [before.get(key), resumed.get(key)]
      expect({ key, notLower: r >= b }).toEqual({ key, notLower: true })
    }
    await kill(frozen)

    // And they keep counting from there.
    const fast = await start("fast")
    advance(fast.joulemon.child.pid)
    await scrape(fast)
    advance(fast.joulemon.child.pid)
    await pause(30)
    const later = await scrape(fast)
    const nodeBefore = [...before.entries()].find(([k]) => k.startsWith("kepler_node_cpu_joules_total"))?.[1] ??
      Number.NaN
    expect(nodeTotal(later)).toBeGreaterThan(nodeBefore)
    for (const key of watched) {
      const [b = Number.NaN, l = Number.NaN] = [before.get(key), counters(later).get(key)]
      expect({ key, notLower: l >= b }).toEqual({ key, notLower: true })
    }
    await kill(fast)
  }, 120_000)

  const damages: ReadonlyArray<{
    readonly what: string
    readonly damage: (valid: string) => string
    readonly boot?: string
    readonly says: string
  }> = [
    {
      what: "truncated",
      damage: (valid) => valid.slice(0, Math.floor(valid.length / 2)),
      says: "truncated or corrupt"
    },
    {
      what: "corrupt",
      // One digit of a saved energy changed: still JSON, only the checksum catches it.
      damage: (valid) =>
        valid.replace(/(\\"energyTotal\\":\\")(\d)/, (_m, head: string, d: string) => `${head}${(Number(d) + 1) % 10}`),
      says: "checksum does not match"
    },
    {
      what: "foreign-boot",
      damage: (valid) => valid,
      boot: "00000000-another-boot",
      says: "written during another boot"
    },
    {
      what: "future-version",
      damage: (valid) => valid.replace("\"version\":1,", "\"version\":2,"),
      says: "format version 2 is newer"
    }
  ]

  for (const { what, damage, boot, says } of damages) {
    it(`a ${what} counter file: a warning naming the file and why, set aside, a clean start`, async () => {
      await runUp()
      const valid = fs.readFileSync(counterFile, "utf8")
      expect(Either.isRight(decodeCounterFile(valid, { bootId: BOOT_ID, nodeName: NODE_NAME }))).toBe(true)
      const damaged = damage(valid)
      if (boot === undefined) expect(damaged).not.toBe(valid)
      fs.writeFileSync(counterFile, damaged)
      for (const f of fs.readdirSync(stateDir)) if (f.includes(".rejected-")) fs.rmSync(path.join(stateDir, f))
      if (boot !== undefined) setBootId(boot)
      try {
        const frozen = await start("frozen")
        const out = frozen.joulemon.output()
        const warning = out.split("\n").find((line) => line.includes("counter file rejected"))
        expect(warning).toBeDefined()
        expect(warning).toContain(says)
        expect(warning).toContain(`file=${counterFile}`)
        // Clean: the first snapshot is a baseline from 0.
        expect(nodeTotal(await scrape(frozen))).toBe(0)
        const aside = fs.readdirSync(stateDir).filter((f) => f.startsWith("counters.json.rejected-"))
        expect(aside.length).toBe(1)
        expect(fs.readFileSync(path.join(stateDir, aside[0] ?? ""), "utf8")).toBe(damaged)
        expect(frozen.joulemon.child.exitCode).toBe(null)
        await kill(frozen)
      } finally {
        setBootId(BOOT_ID)
      }
    }, 120_000)
  }

  it(
    "SIGKILL at arbitrary points of a run that checkpoints every 5 ms never leaves a partial file that is trusted",
    async () => {
      fs.rmSync(stateDir, { recursive: true, force: true })
      const owner = { bootId: BOOT_ID, nodeName: NODE_NAME }
      // Fixed, spread delays after startup: kills land anywhere in the write/fsync/rename cycle.
      const delays = [3, 41, 117, 9, 263, 77, 151, 22]
      let previousTotal = 0n
      let resumedRuns = 0
      for (const delay of delays) {
        const instance = await start("racing")
        if (instance.joulemon.output().includes("counters resumed from the counter file")) resumedRuns++
        expect(instance.joulemon.output()).not.toContain("counter file rejected")
        const ticker = setInterval(() => advance(instance.joulemon.child.pid), 7)
        await pause(delay)
        await kill(instance)
        clearInterval(ticker)
        if (!fs.existsSync(counterFile)) continue
        const decoded = decodeCounterFile(fs.readFileSync(counterFile, "utf8"), owner)
        expect(Either.isRight(decoded) ? "valid" : decoded.left.message).toBe("valid")
        if (Either.isRight(decoded)) {
          const total = decoded.right.zones[0]?.energyTotal ?? 0n
          expect(total >= previousTotal).toBe(true)
          previousTotal = total
        }
      }
      expect(previousTotal).toBeGreaterThan(0n)
      expect(resumedRuns).toBeGreaterThan(0)
    },
    240_000
  )
})
