/** Every startup error of the web config, with the exact file and key it names. */
import { HttpServerRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { AppConfig } from "../../src/config/Config.js"
import { RequestGuard, ServerFactory } from "../../src/server/HttpServer.js"
import { loadWebConfig, WebConfigError, WebConfigLive } from "../../src/server/webConfig.js"
import { testConfig } from "../support/config.js"

const FIXTURES = fileURLToPath(new URL("../fixtures/web/", import.meta.url))
const HASH = "$2y$08$pVA38559dnb1ZNNpf5ZdBeY53/PPPVxUE7mTyeYm/BlfR/W8xLX4q"

const withConfigFile = <A, E>(yaml: string, use: (file: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "joulemon-web-"))
      const file = path.join(dir, "web.yml")
      await fs.writeFile(file, yaml.replaceAll("{fixtures}", FIXTURES))
      return file
    }),
    use,
    (file) => Effect.promise(() => fs.rm(path.dirname(file), { recursive: true, force: true }))
  )

const problemsOf = (yaml: string) =>
  withConfigFile(yaml, (file) =>
    loadWebConfig(file).pipe(
      Effect.flip,
      Effect.map((e) => ({ file, message: e.message, problems: e.problems }))
    ))

const tls = (lines: string) => `tls_server_config:\n${lines}`
const serverPair = "  cert_file: {fixtures}server.pem\n  key_file: {fixtures}server-key.pem\n"

describe("web config startup errors", () => {
  it.effect("a missing file names the file", () =>
    Effect.gen(function*() {
      const error = yield* loadWebConfig("/nonexistent/web.yml").pipe(Effect.flip)
      expect(error).toBeInstanceOf(WebConfigError)
      expect(error.message).toBe("invalid web config file \"/nonexistent/web.yml\": cannot read the file: no such file")
    }))

  it.effect("YAML syntax errors and a non-mapping document", () =>
    Effect.gen(function*() {
      const syntax = yield* problemsOf("tls_server_config: [\n")
      expect(syntax.message).toContain(`invalid web config file ${JSON.stringify(syntax.file)}: not valid YAML`)
      const list = yield* problemsOf("- a\n- b\n")
      expect(list.problems).toEqual([{ key: "", problem: "expected a mapping of sections at the top level" }])
    }))

  it.effect("unknown keys and wrong values are all reported at once, each by key", () =>
    Effect.gen(function*() {
      const { problems } = yield* problemsOf(`
tls_server_config:
  cert_fil: server.pem
  client_auth_type: RequireSomething
  min_version: TLS9
  cipher_suites: TLS_AES_128_GCM_SHA256
http_server_config:
  http2: maybe
basic_auth_user:
  alice: ${HASH}
rate_limit:
  interval: 5
  burst: -1
`)
      expect(problems).toEqual(
        expect.arrayContaining([
          { key: "basic_auth_user", problem: "unknown key" },
          { key: "tls_server_config.cert_fil", problem: "unknown key" },
          {
            key: "tls_server_config.client_auth_type",
            problem:
              "expected one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert, got \"RequireSomething\""
          },
          { key: "tls_server_config.min_version", problem: "expected one of TLS10, TLS11, TLS12, TLS13, got \"TLS9\"" },
          {
            key: "tls_server_config.cipher_suites",
            problem: "expected a list of strings, got \"TLS_AES_128_GCM_SHA256\""
          },
          { key: "http_server_config.http2", problem: "expected true or false, got \"maybe\"" },
          { key: "rate_limit.interval", problem: "expected a duration like \"1s\", got 5" },
          { key: "rate_limit.burst", problem: "expected a whole number ≥ 0, got -1" }
        ])
      )
      expect(problems).toHaveLength(8)
    }))

  it.effect("a missing or unreadable certificate, key or CA file names the key and the path", () =>
    Effect.gen(function*() {
      const missing = yield* problemsOf(tls("  cert_file: nope.pem\n  key_file: {fixtures}server-key.pem\n"))
      const expected = path.join(path.dirname(missing.file), "nope.pem")
      expect(missing.problems).toEqual([{
        key: "tls_server_config.cert_file",
        problem: `cannot read ${JSON.stringify(expected)}: no such file`
      }])

      const directory = yield* problemsOf(tls(`  cert_file: {fixtures}server.pem\n  key_file: {fixtures}\n`))
      expect(directory.problems).toEqual([
        { key: "tls_server_config.key_file", problem: `cannot read ${JSON.stringify(FIXTURES)}: is a directory` }
      ])

      const ca = yield* problemsOf(
        tls(`${serverPair}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: /nonexistent/ca.pem\n`)
      )
      expect(ca.problems).toEqual([{
        key: "tls_server_config.client_ca_file",
        problem: "cannot read \"/nonexistent/ca.pem\": no such file"
      }])
    }))

  it.effect("TLS without a certificate or a key", () =>
    Effect.gen(function*() {
      const noCert = yield* problemsOf(tls("  key_file: {fixtures}server-key.pem\n"))
      expect(noCert.problems).toEqual([{
        key: "tls_server_config",
        problem: "TLS is configured but neither cert_file nor cert is set"
      }])
      const onlyPolicy = yield* problemsOf(tls("  client_auth_type: RequireAndVerifyClientCert\n"))
      expect(onlyPolicy.problems).toEqual([
        { key: "tls_server_config", problem: "TLS is configured but neither cert_file nor cert is set" },
        { key: "tls_server_config", problem: "TLS is configured but neither key_file nor key is set" }
      ])
    }))

  it.effect("a certificate and key that do not belong together", () =>
    Effect.gen(function*() {
      const { problems } = yield* problemsOf(
        tls("  cert_file: {fixtures}server.pem\n  key_file: {fixtures}client-key.pem\n")
      )
      expect(problems).toEqual([
        {
          key: "tls_server_config.key_file",
          problem:
            `key_file "${FIXTURES}client-key.pem" does not match the certificate in cert_file "${FIXTURES}server.pem"`
        }
      ])
    }))

  it.effect("a file that is not a certificate, a key that is not a key, a CA file without certificates", () =>
    Effect.gen(function*() {
      const swapped = yield* problemsOf(
        tls("  cert_file: {fixtures}server-key.pem\n  key_file: {fixtures}server.pem\n")
      )
      expect(swapped.problems.map((p) => p.key)).toEqual(["tls_server_config.cert_file", "tls_server_config.key_file"])
      expect(swapped.problems[0]?.problem).toBe(`cert_file "${FIXTURES}server-key.pem": no PEM certificate found`)
      expect(swapped.problems[1]?.problem).toMatch(
        new RegExp(`^key_file "${FIXTURES}server.pem": not a PEM private key`)
      )

      const ca = yield* problemsOf(
        tls(`${serverPair}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {fixtures}README.md\n`)
      )
      expect(ca.problems).toEqual([{
        key: "tls_server_config.client_ca_file",
        problem: `client_ca_file "${FIXTURES}README.md": no PEM certificate found`
      }])
    }))

  it.effect("policy mistakes: a CA without a policy, SANs without a required certificate, min above max", () =>
    Effect.gen(function*() {
      const { problems } = yield* problemsOf(
        tls(
          `${serverPair}  client_ca_file: {fixtures}ca.pem\n  client_allowed_sans: [a]\n  min_version: TLS13\n  max_version: TLS12\n`
        )
      )
      expect(problems).toEqual([
        {
          key: "tls_server_config.client_auth_type",
          problem:
            "client_ca_file is set but client_auth_type is NoClientCert; set client_auth_type (e.g. RequireAndVerifyClientCert) or remove client_ca_file"
        },
        {
          key: "tls_server_config.client_allowed_sans",
          problem: "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert, not NoClientCert"
        },
        {
          key: "tls_server_config.min_version",
          problem: "TLS13 is above max_version TLS12: no connection could succeed"
        }
      ])
    }))

  it.effect("unknown cipher suites and curves", () =>
    Effect.gen(function*() {
      const { problems } = yield* problemsOf(
        tls(`${serverPair}  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n  curve_preferences: [CurveP256, Curve25519]\n`)
      )
      expect(problems.map((p) => p.key)).toEqual([
        "tls_server_config.cipher_suites[0]",
        "tls_server_config.curve_preferences[1]"
      ])
      expect(problems[0]?.problem).toMatch(
        /^unknown cipher suite "TLS_RSA_WITH_RC4_128_SHA" \(known: TLS_RSA_WITH_AES_128_CBC_SHA, /
      )
      expect(problems[1]?.problem).toBe("unknown curve \"Curve25519\" (known: CurveP256, CurveP384, CurveP521, X25519)")
    }))

  it.effect("a password that is not a bcrypt hash, without echoing it", () =>
    Effect.gen(function*() {
      const { problems, message } = yield* problemsOf(
        `basic_auth_users:\n  alice: plaintext-secret\n  bob: ${HASH}\n  carol: "$2y$03$pVA38559dnb1ZNNpf5ZdBeY53/PPPVxUE7mTyeYm/BlfR/W8xLX4q"\n`
      )
      expect(problems.map((p) => p.key)).toEqual(["basic_auth_users.alice", "basic_auth_users.carol"])
      expect(problems[0]?.problem).toMatch(
        /^not a bcrypt hash \(expected \$2y\$, \$2b\$ or \$2a\$, a cost from 04 to 31/
      )
      expect(message).not.toContain("plaintext-secret")
    }))

  it.effect("response headers exporter-toolkit does not allow, or with values it does not allow", () =>
    Effect.gen(function*() {
      const { problems } = yield* problemsOf(
        "http_server_config:\n  headers:\n    X-Powered-By: joulemon\n    X-Frame-Options: allow\n"
      )
      expect(problems).toEqual([
        {
          key: "http_server_config.headers.X-Powered-By",
          problem:
            "this header can not be configured (allowed: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, Content-Security-Policy)"
        },
        {
          key: "http_server_config.headers.X-Frame-Options",
          problem: "expected one of deny, sameorigin, got \"allow\""
        }
      ])
    }))

  it.effect("a rate limit that would refuse everything", () =>
    Effect.gen(function*() {
      const { problems } = yield* problemsOf("rate_limit:\n  interval: 1s\n")
      expect(problems).toEqual([
        {
          key: "rate_limit.burst",
          problem: "must be at least 1 when rate_limit.interval is set, or no request would ever be served"
        }
      ])
    }))

  it.effect("problems from the text and from the files come in one error", () =>
    Effect.gen(function*() {
      const { message, file } = yield* problemsOf(
        `${tls("  cert_file: nope.pem\n  key_file: {fixtures}server-key.pem\n")}basic_auth_users:\n  alice: x\n`
      )
      expect(message).toBe(
        `invalid web config file ${
          JSON.stringify(file)
        }: basic_auth_users.alice: not a bcrypt hash (expected $2y$, $2b$ or $2a$, a cost from 04 to 31, "$" and 53 characters; make one with: htpasswd -nBC 10 "" | tr -d ':\\n'); tls_server_config.cert_file: cannot read ${
          JSON.stringify(path.join(path.dirname(file), "nope.pem"))
        }: no such file`
      )
    }))

  it.scoped("WebConfigLive fails the layer with the WebConfigError", () =>
    withConfigFile("tls_server_config:\n  cert_file: nope.pem\n", (file) =>
      Effect.gen(function*() {
        const error = yield* Layer.build(WebConfigLive).pipe(
          Effect.provide(Layer.succeed(AppConfig, testConfig({ web: { configFile: file } }))),
          Effect.scoped,
          Effect.flip
        )
        expect(error).toBeInstanceOf(WebConfigError)
        expect(error.file).toBe(file)
      })))

  it.scoped("WebConfigLive with no file is plain HTTP and lets every request through", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(WebConfigLive).pipe(Effect.provide(Layer.succeed(AppConfig, testConfig())))
      const factory = yield* Effect.provide(ServerFactory, context)
      expect(factory.scheme).toBe("http")
      const guard = yield* Effect.provide(RequestGuard, context)
      const verdict = yield* guard.check(HttpServerRequest.fromWeb(new Request("http://localhost/metrics")))
      expect(Option.isNone(verdict)).toBe(true)
    }))
})
