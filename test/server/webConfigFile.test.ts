import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { loadWebConfig } from "../../src/server/webConfig.js"
import { parseWebConfigFile } from "../../src/server/webConfigFile.js"

const FIXTURES = fileURLToPath(new URL("../fixtures/web/", import.meta.url))

describe("parseWebConfigFile", () => {
  it("resolves relative certificate paths against the file's directory and keeps absolute ones", () => {
    const parsed = Either.getOrThrow(
      parseWebConfigFile(
        "/etc/joulemon/web.yml",
        "tls_server_config:\n  cert_file: tls/server.pem\n  key_file: /secrets/key.pem\n  client_ca_file: ../ca.pem\n"
      )
    )
    expect(parsed.tls).toEqual({
      cert_file: "/etc/joulemon/tls/server.pem",
      key_file: "/secrets/key.pem",
      client_ca_file: "/etc/ca.pem"
    })
  })

  it("an empty file, empty sections and null keys mean the defaults: no TLS, no users", () => {
    for (
      const text of ["", "# nothing\n", "tls_server_config:\nbasic_auth_users:\n", "tls_server_config:\n  cert_file:\n"]
    ) {
      const parsed = Either.getOrThrow(parseWebConfigFile("/w.yml", text))
      expect(parsed.users).toEqual({})
      expect(parsed.tls === undefined || Object.keys(parsed.tls).length === 0).toBe(true)
      expect(parsed.rateLimit).toEqual({ intervalMillis: 0, burst: 0 })
    }
  })

  it("accepts exporter-toolkit's old RequireClientCert spelling, Go durations and every section", () => {
    const parsed = Either.getOrThrow(
      parseWebConfigFile(
        "/w.yml",
        `tls_server_config:
  client_auth_type: RequireClientCert
  min_version: TLS13
  prefer_server_cipher_suites: false
  client_allowed_sans: [a, b]
http_server_config:
  http2: false
  headers:
    Strict-Transport-Security: max-age=31536000
rate_limit:
  interval: 1m30s
  burst: 10
basic_auth_users:
  "123": $2y$08$pVA38559dnb1ZNNpf5ZdBeY53/PPPVxUE7mTyeYm/BlfR/W8xLX4q
`
      )
    )
    expect(parsed.tls).toEqual({
      client_auth_type: "RequireAnyClientCert",
      min_version: "TLS13",
      prefer_server_cipher_suites: false,
      client_allowed_sans: ["a", "b"]
    })
    expect(parsed.http2).toBe(false)
    expect(parsed.headers).toEqual({ "Strict-Transport-Security": "max-age=31536000" })
    expect(parsed.rateLimit).toEqual({ intervalMillis: 90_000, burst: 10 })
    expect(Object.keys(parsed.users)).toEqual(["123"])
  })

  it("rejects duplicate keys (YAML) rather than silently keeping one", () => {
    const parsed = parseWebConfigFile("/w.yml", "basic_auth_users:\n  a: x\n  a: y\n")
    expect(Either.isLeft(parsed)).toBe(true)
  })
})

describe("loadWebConfig", () => {
  const withFile = (yaml: string) =>
    Effect.acquireUseRelease(
      Effect.promise(async () => {
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), "joulemon-web-"))
        await fs.writeFile(path.join(dir, "web.yml"), yaml)
        return dir
      }),
      (dir) => loadWebConfig(path.join(dir, "web.yml")),
      (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
    )

  it.live("loads the committed fixture (relative paths) with TLS and one user", () =>
    Effect.gen(function*() {
      const settings = yield* loadWebConfig(path.join(FIXTURES, "tls-basic-auth.yml"))
      expect(settings.tls?.clientAuth).toBe("NoClientCert")
      expect(Object.keys(settings.users)).toEqual(["prometheus"])
      expect(settings.headers).toEqual({ "X-Frame-Options": "deny", "X-Content-Type-Options": "nosniff" })
      expect(settings.warnings).toEqual([])
    }))

  it.effect("takes inline PEM certificates and keys", () =>
    Effect.gen(function*() {
      const [cert, key] = yield* Effect.promise(() =>
        Promise.all([
          fs.readFile(path.join(FIXTURES, "server.pem"), "utf8"),
          fs.readFile(path.join(FIXTURES, "server-key.pem"), "utf8")
        ])
      )
      const indent = (pem: string) => pem.trimEnd().split("\n").map((l) => `    ${l}`).join("\n")
      const settings = yield* withFile(`tls_server_config:\n  cert: |\n${indent(cert)}\n  key: |\n${indent(key)}\n`)
      expect(settings.tls?.options.cert).toBe(`${cert.trimEnd()}\n`)
    }))

  it.effect("warns (without failing) about HTTP/2, a burst without interval, and basic auth without TLS", () =>
    Effect.gen(function*() {
      const settings = yield* withFile(
        "http_server_config:\n  http2: true\nrate_limit:\n  burst: 5\nbasic_auth_users:\n  a: $2y$08$pVA38559dnb1ZNNpf5ZdBeY53/PPPVxUE7mTyeYm/BlfR/W8xLX4q\n"
      )
      expect(settings.warnings).toEqual([
        "rate_limit.burst is set but rate_limit.interval is 0, which disables the rate limit",
        "http_server_config.http2: HTTP/2 is not supported; clients are served HTTP/1.1",
        "basic_auth_users without TLS: passwords cross the network in clear text; add tls_server_config"
      ])
    }))
})
