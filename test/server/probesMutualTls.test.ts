/**
 * Health probes under mutual TLS (issue 16): the kubelet's httpGet probe has no client
 * certificate, so with RequireAndVerifyClientCert it fails the handshake; the `exec` probe
 * docs/kubernetes.md gives instead is taken from the doc as written and run against the real
 * server with the fixture CA's client certificate.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"
import { fixture, get, pem, serve, writeConfig } from "./realServer.js"

const DOC = fileURLToPath(new URL("../../docs/kubernetes.md", import.meta.url))

interface ExecProbe {
  readonly exec: { readonly command: ReadonlyArray<string> }
}

const isExecProbe = (v: unknown): v is ExecProbe =>
  typeof v === "object" && v !== null && "exec" in v && typeof v.exec === "object" && v.exec !== null &&
  "command" in v.exec && Array.isArray(v.exec.command) && v.exec.command.every((c) => typeof c === "string")

/** The liveness and readiness `exec` probes in the doc's "Health probes and web-config" section. */
const documentedProbes = Effect.promise(() => fs.readFile(DOC, "utf8")).pipe(
  Effect.map((text) => {
    const section = text.slice(text.indexOf("### Health probes and web-config"))
    // Fenced blocks, some indented inside a list item: each without its fence's indentation.
    const blocks = [...section.slice(0, section.indexOf("\n## ")).matchAll(/^( *)```yaml\n([\s\S]*?)^\1```/gm)]
      .map((m) => (m[2] ?? "").replace(new RegExp(`^${m[1] ?? ""}`, "gm"), ""))
    for (const block of blocks) {
      const doc: unknown = parse(block)
      if (typeof doc !== "object" || doc === null) continue
      const liveness: unknown = "livenessProbe" in doc ? doc.livenessProbe : undefined
      const readiness: unknown = "readinessProbe" in doc ? doc.readinessProbe : undefined
      if (isExecProbe(liveness) && isExecProbe(readiness)) return { liveness, readiness }
    }
    throw new Error("no exec liveness and readiness probes in docs/kubernetes.md")
  })
)

/** Runs a probe's command as the kubelet would, here: this Node, this port, this certificate. */
const runProbe = (probe: ExecProbe, port: number, certDir: string) =>
  Effect.async<number>((resume) => {
    const [binary, ...args] = probe.exec.command
    expect(binary).toBe("/nodejs/bin/node")
    const local = args.map((a) => a.replace("28282", String(port)).replace("/etc/joulemon/probe-tls/", `${certDir}/`))
    const child = execFile(process.execPath, local, { timeout: 10_000 }, () => undefined)
    child.on("exit", (code) => resume(Effect.succeed(code ?? -1)))
  })

describe("health probes under RequireAndVerifyClientCert", () => {
  it.live(
    "an httpGet probe (no client certificate) fails; the documented exec probe passes with one",
    () =>
      Effect.gen(function*() {
        const port = yield* serve(fixture("mtls.yml"))
        const { liveness, readiness } = yield* documentedProbes

        // What the kubelet's httpGet probe does: HTTPS without verifying, without a certificate.
        const kubelet = yield* get(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false }).pipe(Effect.exit)
        expect(Exit.isFailure(kubelet)).toBe(true)

        const dir = path.dirname(yield* writeConfig(""))
        const install = (into: string, cert: string, key: string) =>
          Effect.promise(async () => {
            await fs.mkdir(into, { recursive: true })
            await fs.writeFile(path.join(into, "tls.crt"), await pem(cert))
            await fs.writeFile(path.join(into, "tls.key"), await pem(key))
          })
        const trusted = path.join(dir, "probe-tls")
        yield* install(trusted, "client.pem", "client-key.pem")
        expect(yield* runProbe(liveness, port, trusted)).toBe(0)
        // Readiness answers what /readyz answers to the same client.
        const [ca, cert, key] = yield* Effect.promise(() =>
          Promise.all([pem("ca.pem"), pem("client.pem"), pem("client-key.pem")])
        )
        const ready = (yield* get(`https://127.0.0.1:${port}/readyz`, { ca, cert, key })).status
        expect(yield* runProbe(readiness, port, trusted)).toBe(ready === 200 ? 0 : 1)

        // A certificate from another CA is refused, and the probe says so.
        const stranger = path.join(dir, "stranger-tls")
        yield* install(stranger, "stranger.pem", "stranger-key.pem")
        expect(yield* runProbe(liveness, port, stranger)).toBe(1)
      }).pipe(Effect.scoped),
    60_000
  )
})
