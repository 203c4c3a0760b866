/**
 * `joulemon measure` as an operator runs it: the real entry point, the command a real child.
 * This machine has no RAPL, so the meter is the estimate (`estimated:linear-model`) unless the
 * test says otherwise.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { afterEach, describe, expect, it } from "vitest"
import { ROOT, shippedEntry, withTimeout } from "../support/binary.js"

interface Run {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const running: Array<Run> = []
afterEach(() => {
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL")
  }
})

/** joulemon with stdout and stderr apart (the report must stay off stdout). */
const startMeasure = (args: ReadonlyArray<string>, input?: string): Run => {
  const child = spawn(process.execPath, [...shippedEntry(), ...args], {
    cwd: ROOT,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "" }
  })
  if (input !== undefined) child.stdin?.end(input)
  let out = ""
  let err = ""
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()))
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  )
  const run = { child, stdout: () => out, stderr: () => err, exited }
  running.push(run)
  return run
}

/** Runs to the end; the bound is for a hang, not a speed test. */
const measureToEnd = async (args: ReadonlyArray<string>, input?: string) => {
  const r = startMeasure(args, input)
  const { code } = await withTimeout(r.exited, 60_000, "joulemon measure exit")
  return { code, stdout: r.stdout(), stderr: r.stderr() }
}

const waitFor = (what: () => boolean, ms: number, label: string): Promise<void> =>
  withTimeout(
    new Promise<void>((resolve) => {
      const tick = () => (what() ? resolve() : setTimeout(tick, 25))
      tick()
    }),
    ms,
    label
  )

interface JsonReport {
  readonly formatVersion: number
  readonly command: ReadonlyArray<string>
  readonly pid: number
  readonly exit: { readonly code: number | null; readonly signal: string | null; readonly status: number }
  readonly wallSeconds: number
  readonly windowSeconds: number
  readonly intervalSeconds: number
  readonly readings: number
  readonly failedReadings: number
  readonly meter: { readonly name: string; readonly kind: string; readonly paths: ReadonlyArray<string> }
  readonly zones: ReadonlyArray<{
    readonly name: string
    readonly path: string
    readonly estimated: boolean
    readonly nodeJoules: number
    readonly nodeActiveJoules: number
    readonly nodeIdleJoules: number
    readonly commandJoules: number
    readonly shareOfActive: number
    readonly nodeWatts: number
    readonly commandWatts: number
  }>
  readonly processes: {
    readonly attributed: number
    readonly seen: number
    readonly attributedCpuSeconds: number
    readonly kernelCpuSeconds: number | null
  }
}

/** A child of `sh` that keeps a CPU busy for about `ms`, then the shell prints a line. */
const burnInChild = (
  ms: number
) => [
  "sh",
  "-c",
  `${JSON.stringify(process.execPath)} -e 'const t = Date.now(); while (Date.now() - t < ${ms}) {}'; echo burnt`
]

describe("joulemon measure (binary)", () => {
  it("exits with the command's status and names the estimated meter", async () => {
    const { code, stderr, stdout } = await measureToEnd(["measure", "--", "sh", "-c", "exit 3"])
    expect(code).toBe(3)
    expect(stdout).toBe("")
    expect(stderr).toMatch(/joulemon measure: sh -c 'exit 3'/)
    expect(stderr).toMatch(/exit status 3/)
    expect(stderr).toMatch(/ESTIMATED by the model meter \(estimated:linear-model\), not measured/)
  }, 90_000)

  it("a child burning CPU gets a share, within the node's active energy, in the documented JSON", async () => {
    const { code, stderr, stdout } = await measureToEnd([
      "measure",
      "--output",
      "json",
      "--interval",
      "250ms",
      "--",
      ...burnInChild(1500)
    ])
    expect(code).toBe(0)
    expect(stdout).toBe("burnt\n")
    const report = JSON.parse(stderr) as JsonReport
    expect(report).toMatchObject({
      formatVersion: 1,
      command: burnInChild(1500),
      exit: { code: 0, signal: null, status: 0 },
      intervalSeconds: 0.25,
      failedReadings: 0,
      meter: { name: "model", kind: "estimated", paths: ["estimated:linear-model"] }
    })
    expect(report.wallSeconds).toBeGreaterThanOrEqual(1.5)
    expect(report.windowSeconds).toBeGreaterThanOrEqual(report.wallSeconds)
    expect(report.readings).toBeGreaterThanOrEqual(2)
    expect(report.zones.length).toBeGreaterThan(0)
    for (const zone of report.zones) {
      expect(zone.estimated).toBe(true)
      expect(zone.commandJoules).toBeGreaterThan(0)
      expect(zone.commandJoules).toBeLessThanOrEqual(zone.nodeActiveJoules)
      expect(zone.nodeActiveJoules + zone.nodeIdleJoules).toBeCloseTo(zone.nodeJoules, 6)
      expect(zone.shareOfActive).toBeGreaterThan(0)
      expect(zone.shareOfActive).toBeLessThanOrEqual(1)
      expect(zone.commandWatts).toBeGreaterThan(0)
    }
    // sh and node: the child's energy is what counts, the shell's is near 0.
    expect(report.processes.seen).toBeGreaterThanOrEqual(2)
    expect(report.processes.attributed).toBeGreaterThanOrEqual(1)
    expect(report.processes.attributedCpuSeconds).toBeGreaterThan(0)
    expect(report.processes.kernelCpuSeconds).toBeGreaterThanOrEqual(report.processes.attributedCpuSeconds - 0.02)
  }, 90_000)

  it("the command's stdin and stdout pass through unchanged; the report is on stderr", async () => {
    // Octal escapes, so the report's echo of the command line cannot contain the output.
    const { code, stderr, stdout } = await measureToEnd([
      "measure",
      "--",
      "printf",
      "line\\040one\\n\\040\\040two,\\040indented\\n\\nfour:\\040\\303\\251t\\303\\251\\n"
    ])
    expect(code).toBe(0)
    expect(stdout).toBe("line one\n  two, indented\n\nfour: \u00e9t\u00e9\n")
    expect(stderr).toContain("joulemon measure: printf")
    expect(stderr).not.toContain("line one")
    // stdin too: what joulemon is given, the command reads.
    const piped = await measureToEnd(["measure", "--", "cat"], "from stdin\n")
    expect(piped.stdout).toBe("from stdin\n")
    expect(piped.code).toBe(0)
  }, 120_000)

  it("SIGTERM to joulemon is forwarded: the command gets it, the report is printed, exit 143", async () => {
    const script = [
      "process.once('SIGTERM', () => { console.log('child got SIGTERM'); process.kill(process.pid, 'SIGTERM') })",
      "console.log('ready')",
      "setInterval(() => {}, 1000)"
    ].join("; ")
    const r = startMeasure(["measure", "--", process.execPath, "-e", script])
    await waitFor(() => r.stdout().includes("ready"), 60_000, "the command to start")
    r.child.kill("SIGTERM")
    const { code } = await withTimeout(r.exited, 30_000, "joulemon measure exit")
    expect(r.stdout()).toBe("ready\nchild got SIGTERM\n")
    expect(r.stderr()).toMatch(/killed by SIGTERM \(status 143\)/)
    expect(code).toBe(143)
  }, 90_000)

  it("no command, or a bad --interval: an error naming what is wrong, and the CLI's usage status", async () => {
    const none = await measureToEnd(["measure"])
    expect(none.stderr).toContain("joulemon measure: no command given")
    expect(none.code).toBe(1)
    const empty = await measureToEnd(["measure", "--"])
    expect(empty.stderr).toContain("joulemon measure: no command given")
    expect(empty.code).toBe(1)
    const interval = await measureToEnd(["measure", "--interval", "soon", "--", "true"])
    expect(interval.stderr).toContain(`--interval: time: invalid duration "soon"`)
    expect(interval.code).toBe(1)
    const zero = await measureToEnd(["measure", "--interval=0s", "--", "true"])
    expect(zero.stderr).toContain(`--interval: must be more than 0, got "0s"`)
    expect(zero.code).toBe(1)
  }, 120_000)

  it("a command that does not exist: 127 and its name", async () => {
    const { code, stderr } = await measureToEnd(["measure", "--", "/nonexistent/joulemon-test-command"])
    expect(stderr).toContain(`cannot run "/nonexistent/joulemon-test-command": no such file`)
    expect(code).toBe(127)
  }, 90_000)
})
