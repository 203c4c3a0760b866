/**
 * deploy/prometheus/ checked by the real promtool (Debian's `prometheus` package; .ci/run
 * installs it): the rule files are valid, and their unit tests (deploy/prometheus/tests) pass.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { ROOT } from "../support/binary.js"
import { which } from "../support/which.js"

const DIR = path.join(ROOT, "deploy", "prometheus")
const PROMTOOL = which("promtool")
const ruleFiles = fs.readdirSync(DIR).filter((f) => f.endsWith(".rules.yml")).sort()
const testFiles = fs.readdirSync(path.join(DIR, "tests")).filter((f) => f.endsWith(".test.yml")).sort()

type Rule = Readonly<Record<string, unknown>>

/** The rules of every group of a rule file. */
const rulesOf = (file: string): ReadonlyArray<Rule> => {
  const doc: unknown = YAML.parse(fs.readFileSync(path.join(DIR, file), "utf8"))
  const groups = typeof doc === "object" && doc !== null && "groups" in doc && Array.isArray(doc.groups)
    ? doc.groups
    : []
  return groups.flatMap((g: unknown) =>
    typeof g === "object" && g !== null && "rules" in g && Array.isArray(g.rules)
      ? (g.rules as ReadonlyArray<Rule>)
      : []
  )
}

const promtool = (args: ReadonlyArray<string>) => {
  if (PROMTOOL === undefined) throw new Error("promtool is not installed (Debian/Ubuntu: apt-get install prometheus)")
  const r = spawnSync(PROMTOOL, args, { cwd: DIR, encoding: "utf8" })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

describe("deploy/prometheus rules", () => {
  it("has promtool installed (Debian/Ubuntu: apt-get install prometheus)", () => {
    expect(PROMTOOL).toBeDefined()
  })

  it("ships the recording, alerting and carbon rule files, each with unit tests", () => {
    expect(ruleFiles).toEqual(["alerts.rules.yml", "carbon.rules.yml", "recording.rules.yml"])
    expect(testFiles).toEqual(["alerts.test.yml", "recording.test.yml"])
  })

  it("passes promtool check rules", () => {
    const r = promtool(["check", "rules", ...ruleFiles])
    expect(r.output).not.toContain("FAILED")
    expect(r.status, r.output).toBe(0)
  })

  it.each(testFiles)("passes promtool test rules tests/%s", (file) => {
    const r = promtool(["test", "rules", path.join("tests", file)])
    expect(r.status, r.output).toBe(0)
    expect(r.output).toContain("SUCCESS")
  })

  it("gives every alert a severity, a summary, a description and a runbook", () => {
    const alerts = rulesOf("alerts.rules.yml").filter((r) => "alert" in r)
    expect(alerts.map((a) => a["alert"])).toEqual([
      "JoulemonDown",
      "JoulemonTargetMissing",
      "JoulemonSnapshotStale",
      "JoulemonMeterEstimated",
      "JoulemonZoneReadErrors",
      "JoulemonZoneGlitches",
      "JoulemonUnattributedEnergyHigh",
      "JoulemonPodInformerDisconnected"
    ])
    for (const a of alerts) {
      expect(a["labels"], String(a["alert"])).toMatchObject({
        severity: expect.stringMatching(/^(info|warning|critical)$/)
      })
      expect(a["annotations"], String(a["alert"])).toMatchObject({
        summary: expect.stringMatching(/\S/),
        description: expect.stringMatching(/\S/),
        runbook: expect.stringMatching(/\S[\s\S]{100,}/)
      })
    }
  })
})
