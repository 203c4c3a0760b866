import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { findGpuLibrary, NVML, parseLdSoConf } from "../../src/doctor/gpuLibrary.js"
import { gpuCheck } from "../../src/doctor/hostChecks.js"
import { readRedfishFacts, redfishCheck } from "../../src/doctor/redfishCheck.js"
import { fixtureTree, startRedfishServer } from "../platform/redfishServer.js"
import { testConfig } from "../support/config.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-doctor-platform-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const CREDS = { username: "reader", password: "pa55" }

const bmcFile = (dir: string, endpoint: string, password: string) => {
  const file = path.join(dir, "bmc.yaml")
  fs.writeFileSync(
    file,
    [
      "nodes:",
      "  worker-1: lab",
      "bmcs:",
      "  lab:",
      `    endpoint: ${endpoint}`,
      `    username: ${CREDS.username}`,
      `    password: ${password}`,
      ""
    ].join("\n")
  )
  return file
}

const redfishConfig = (configFile: string) =>
  testConfig({ kube: { nodeName: "worker-1" }, experimental: { platform: { redfish: { enabled: true, configFile } } } })

describe("doctor: Redfish BMC", () => {
  it.scopedLive("a BMC answering with the configured credentials: passed", () =>
    Effect.gen(function*() {
      const server = yield* startRedfishServer({ tree: fixtureTree("legacy-only"), credentials: CREDS })
      const dir = yield* tempDir
      const result = redfishCheck(yield* readRedfishFacts(redfishConfig(bmcFile(dir, server.endpoint, CREDS.password))))
      expect(result).toMatchObject({ verdict: "passed", message: `${server.endpoint} answered /redfish/v1/Chassis` })
    }))

  it.scopedLive("wrong password: failed (degraded), the credentials named in the fix", () =>
    Effect.gen(function*() {
      const server = yield* startRedfishServer({ tree: fixtureTree("legacy-only"), credentials: CREDS })
      const dir = yield* tempDir
      const result = redfishCheck(yield* readRedfishFacts(redfishConfig(bmcFile(dir, server.endpoint, "wrong"))))
      expect(result).toMatchObject({ verdict: "failed", impact: "degraded" })
      expect(result.message.startsWith(`${server.endpoint}: Redfish `)).toBe(true)
      expect(result.fix).toContain("username and password in the BMC file")
    }))

  it.scopedLive("this node not in the BMC file: failed (fatal, as at startup)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = bmcFile(dir, "https://bmc.example", CREDS.password)
      const config = testConfig({
        kube: { nodeName: "rack-9" },
        experimental: { platform: { redfish: { enabled: true, configFile: file } } }
      })
      const result = redfishCheck(yield* readRedfishFacts(config))
      expect(result).toMatchObject({ verdict: "failed", impact: "fatal" })
      expect(result.message).toContain("node rack-9 not found in BMC configuration")
    }))

  it.effect("off: passed without a request", () =>
    Effect.gen(function*() {
      expect(redfishCheck(yield* readRedfishFacts(testConfig()))).toMatchObject({ verdict: "passed", impact: "none" })
    }))
})

describe("doctor: GPU library on the loader's search path", () => {
  it("ld.so.conf: directories and include patterns, comments dropped", () => {
    expect(parseLdSoConf("# c\ninclude /etc/ld.so.conf.d/*.conf\n/opt/lib # local\n\n")).toEqual({
      dirs: ["/opt/lib"],
      includes: ["/etc/ld.so.conf.d/*.conf"]
    })
  })

  it.scoped("found through LD_LIBRARY_PATH or an included ld.so.conf.d file; searched in loader order", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const viaEnv = path.join(dir, "env")
      const viaConf = path.join(dir, "conf")
      for (const d of [viaEnv, viaConf, path.join(dir, "ld.so.conf.d")]) fs.mkdirSync(d)
      fs.writeFileSync(path.join(dir, "ld.so.conf"), "include ld.so.conf.d/*.conf\n")
      fs.writeFileSync(path.join(dir, "ld.so.conf.d", "nvidia.conf"), `${viaConf}\n`)
      fs.writeFileSync(path.join(viaConf, NVML), "")
      const conf = path.join(dir, "ld.so.conf")

      const fromConf = yield* findGpuLibrary(undefined, conf)
      expect(fromConf.found).toBe(path.join(viaConf, NVML))
      expect(fromConf.searched[0]).toBe(viaConf)

      fs.writeFileSync(path.join(viaEnv, NVML), "")
      expect((yield* findGpuLibrary(viaEnv, conf)).found).toBe(path.join(viaEnv, NVML))
    }))

  it("missing: passed while GPU power is off, warned (never failed) when it is on", () => {
    const missing = { found: undefined, searched: ["/usr/lib"] }
    expect(gpuCheck(missing, testConfig())).toMatchObject({ verdict: "passed", impact: "none" })
    const on = gpuCheck(missing, testConfig({ experimental: { gpu: { enabled: true } } }))
    expect(on).toMatchObject({ verdict: "warned", impact: "none", message: "libnvidia-ml.so.1 not found in /usr/lib" })
  })
})
