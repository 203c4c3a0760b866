/** `joulemon doctor`, `--help` and `--completions` as an operator runs them: the real entry point, output piped. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { buildTree, type TreeSpec } from "../doctor/hostTree.js"
import { type Running, startJoulemon, withTimeout } from "../support/binary.js"

const running: Array<Running> = []
const roots: Array<string> = []
afterEach(() => {
  for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill("SIGKILL")
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true })
})

/** Runs joulemon to its end; the bound is for a hang, not a speed test. */
const runToEnd = async (args: ReadonlyArray<string>) => {
  const r = startJoulemon(args)
  running.push(r)
  const { code } = await withTimeout(r.exited, 20_000, "joulemon exit")
  return { code, output: r.output() }
}

const tree = (spec: TreeSpec) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-doctor-e2e-"))
  roots.push(root)
  const t = buildTree(root, spec)
  return [`--host.sysfs=${t.sysfs}`, `--host.procfs=${t.procfs}`]
}

interface JsonReport {
  readonly formatVersion: number
  readonly outcome: string
  readonly exitCode: number
  readonly checks: ReadonlyArray<
    { readonly id: string; readonly verdict: string; readonly message: string; readonly fix: string | null }
  >
}

describe("joulemon doctor (binary)", () => {
  it("no powercap, --output json: one JSON document, powercap failed with its fix, exit 1", async () => {
    const { code, output } = await runToEnd(["doctor", "--output", "json", ...tree({ cgroup: "v2" })])
    const report = JSON.parse(output) as JsonReport
    expect(report).toMatchObject({ formatVersion: 1, outcome: "degraded", exitCode: 1 })
    const powercap = report.checks.find((c) => c.id === "powercap")
    expect(powercap?.verdict).toBe("failed")
    expect(powercap?.fix).toContain("modprobe intel_rapl_common")
    expect(code).toBe(1)
  })

  it("energy_uj a FIFO, human output piped: finishes, no escapes, the failed line and its fix", async () => {
    const { code, output } = await runToEnd([
      "doctor",
      ...tree({ raplZones: ["package-0"], energy: "fifo", cgroup: "v1" })
    ])
    expect(output).not.toContain("\u001b")
    expect(output).toMatch(
      /^FAIL {2}powercap \(RAPL\): zones: package-0 \(intel-rapl:0\); .*energy_uj is a fifo, not a regular file$/m
    )
    expect(output).toMatch(/^ {6}fix: point --host\.sysfs/m)
    expect(output).toMatch(/^PASS {2}cgroups and runtimes: cgroup v1: cpu,cpuacct, memory, pids/m)
    expect(output).toMatch(/: joulemon would start, but measurement would be degraded \(exit 1\)$/m)
    expect(code).toBe(1)
  })

  it("flags given before the subcommand count too; an invalid configuration exits 2", async () => {
    const { code, output } = await runToEnd(["--monitor.parallelism=0", "doctor", ...tree({ cgroup: "v2" })])
    expect(output).toMatch(/^FAIL {2}configuration: .*parallelism/m)
    expect(code).toBe(2)
  })

  it("a healthy synthetic host exits 0", async () => {
    const { code, output } = await runToEnd(["doctor", ...tree({ raplZones: ["package-0", "dram"], cgroup: "v2" })])
    expect(output).toMatch(/^PASS {2}cpu power meter: rapl, measured/m)
    expect(output).toMatch(/joulemon would start and measure \(exit 0\)$/m)
    expect(code).toBe(0)
  })
})

describe("joulemon --help and --completions (binary)", () => {
  it("--help piped: one screen, no escape characters, no placeholder text, every flag optional, doctor and measure listed", async () => {
    const { code, output } = await runToEnd(["--help"])
    expect(code).toBe(0)
    expect(output).not.toContain("\u001b")
    expect(output).not.toContain("A user-defined piece of text")
    expect(output.trimEnd().split("\n").length).toBeLessThanOrEqual(50)
    expect(output).toContain("Usage: joulemon [FLAGS] [COMMAND]")
    expect(output).toContain("Flags (all optional; VALUE... may be repeated):")
    expect(output).toMatch(
      /^ {2}--metrics LEVEL\.\.\. {14}metric levels: node, process, container, vm, pod \(default all\)$/m
    )
    expect(output).toMatch(/^ {2}--\[no-\]kube\.enable {14}attribute energy to Kubernetes pods \(default off\)$/m)
    expect(output).toMatch(/^ {2}doctor {3}checks everything/m)
    expect(output).toMatch(/^ {2}measure {2}runs one command and reports the energy it caused/m)
    expect(output).toMatch(/^ {2}record {3}runs joulemon and records every refresh's inputs/m)
    expect(output).toMatch(/^ {2}replay {3}replays a recording/m)
  })

  it("help flags: the full texts, repeatable flags in brackets, no placeholder", async () => {
    const { code, output } = await runToEnd(["help", "flags"])
    expect(code).toBe(0)
    expect(output).not.toContain("\u001b")
    expect(output).not.toContain("A user-defined piece of text")
    expect(output).toContain("[--metrics LEVEL...]")
    expect(output).toContain("[--web.listen-address HOST:PORT...]")
    expect(output).toContain("[--experimental.hwmon.zones LABEL...]")
    expect(output).toContain("Repeat the flag for several (--metrics node --metrics pod)")
  })

  it("doctor --help: one screen with --output; help doctor: the full description; an unknown topic fails", async () => {
    const short = await runToEnd(["doctor", "--help"])
    expect(short.code).toBe(0)
    expect(short.output).toMatch(/^ {2}--output human \| json {11}report format: human or json \(default human\)$/m)
    expect(short.output).toContain(
      "Exit status: 0 all good, 1 measurement would be degraded, 2 joulemon could not start."
    )
    const full = await runToEnd(["help", "doctor"])
    expect(full.output).toContain("Reads the same config file and flags as the daemon.")
    expect(full.output).not.toContain("A user-defined piece of text")
    const unknown = await runToEnd(["help", "bogus"])
    expect(unknown.output).toContain("joulemon help: no topic \"bogus\"")
    expect(unknown.code).toBe(1)
  })

  it("--completions bash prints a completion script", async () => {
    const { code, output } = await runToEnd(["--completions", "bash"])
    expect(code).toBe(0)
    expect(output).toMatch(/^complete -F _joulemon_bash_completions .*joulemon$/m)
    expect(output).toContain("--kube.node-name")
  })
})
