import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as tls from "node:tls"
import { fileURLToPath } from "node:url"
import {
  admitPeer,
  GO_CIPHER_SUITES,
  GO_CURVES,
  parseCertificates,
  parseSubjectAltName,
  type PeerCertificate,
  planTls,
  tlsEnabled,
  type TlsMaterial
} from "../../src/server/tls.js"
import type { ClientAuthType } from "../../src/server/webConfigFile.js"

const FIXTURES = fileURLToPath(new URL("../fixtures/web/", import.meta.url))
const read = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8")

const material = (extra: Partial<TlsMaterial> = {}): TlsMaterial => ({
  cert: { key: "tls_server_config.cert_file", source: "/etc/joulemon/server.pem", pem: read("server.pem") },
  key: { key: "tls_server_config.key_file", source: "/etc/joulemon/server-key.pem", pem: read("server-key.pem") },
  clientCa: undefined,
  ...extra
})
const NOW = Date.parse("2030-01-01T00:00:00Z")

const peer = (p: Partial<PeerCertificate>): PeerCertificate => ({
  presented: false,
  authorized: false,
  authorizationError: undefined,
  sans: [],
  ...p
})

describe("planTls", () => {
  it("maps the defaults like exporter-toolkit: TLS 1.2–1.3, server cipher order, no client certificate", () => {
    const plan = Either.getOrThrow(planTls({ cert_file: "x", key_file: "y" }, material(), NOW))
    expect(plan.options.minVersion).toBe("TLSv1.2")
    expect(plan.options.maxVersion).toBe("TLSv1.3")
    expect(plan.options.honorCipherOrder).toBe(true)
    expect(plan.options.requestCert).toBe(false)
    expect(plan.options.rejectUnauthorized).toBe(false)
    expect(plan.options.ciphers).toBeUndefined()
    expect(plan.clientAuth).toBe("NoClientCert")
    expect(plan.warnings).toEqual([])
  })

  it("maps each client auth policy onto requestCert/rejectUnauthorized", () => {
    const table: ReadonlyArray<readonly [ClientAuthType, boolean, boolean]> = [
      ["NoClientCert", false, false],
      ["RequestClientCert", true, false],
      ["RequireAnyClientCert", true, false],
      ["VerifyClientCertIfGiven", true, false],
      ["RequireAndVerifyClientCert", true, true]
    ]
    for (const [policy, request, reject] of table) {
      const clientCa = policy === "NoClientCert"
        ? undefined
        : { key: "tls_server_config.client_ca_file", source: "ca.pem", pem: read("ca.pem") }
      const plan = Either.getOrThrow(planTls({ client_auth_type: policy }, material({ clientCa }), NOW))
      expect([policy, plan.options.requestCert, plan.options.rejectUnauthorized]).toEqual([policy, request, reject])
    }
  })

  it("keeps Node's TLS 1.3 suites when cipher_suites restricts TLS 1.2, and warns about TLS 1.3 names", () => {
    const plan = Either.getOrThrow(
      planTls({ cipher_suites: ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"] }, material(), NOW)
    )
    expect(plan.options.ciphers).toBe(
      "ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
    )
    expect(plan.warnings).toEqual([
      "tls_server_config.cipher_suites[1]: TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite; TLS 1.3 suites are not configurable (as in Go) and it is ignored"
    ])
  })

  it("maps curve preferences to OpenSSL names", () => {
    const plan = Either.getOrThrow(planTls({ curve_preferences: ["X25519", "CurveP384"] }, material(), NOW))
    expect(plan.options.ecdhCurve).toBe("X25519:P-384")
  })

  it("every cipher suite and curve it maps is one this OpenSSL knows", () => {
    const known = new Set(tls.getCiphers().map((c) => c.toUpperCase()))
    for (const openssl of GO_CIPHER_SUITES.values()) expect(known.has(openssl), openssl).toBe(true)
    for (const curve of GO_CURVES.values()) expect(() => tls.createSecureContext({ ecdhCurve: curve })).not.toThrow()
  })

  it("warns about an expired certificate, weak policies, verification against public CAs and TLS < 1.2", () => {
    const plan = Either.getOrThrow(
      planTls(
        { client_auth_type: "RequireAnyClientCert", min_version: "TLS10" },
        material(),
        Date.parse("2200-01-01T00:00:00Z")
      )
    )
    expect(plan.warnings).toEqual([
      "cert_file \"/etc/joulemon/server.pem\": the certificate expired on Oct 29 18:40:24 2126 GMT",
      "tls_server_config: client_auth_type RequireAnyClientCert does not verify client certificates; use RequireAndVerifyClientCert to authenticate clients",
      "tls_server_config.min_version TLS10: OpenSSL 3 refuses TLS below 1.2 at its default security level, so such clients still fail"
    ])
    const noCa = Either.getOrThrow(planTls({ client_auth_type: "RequireAndVerifyClientCert" }, material(), NOW))
    expect(noCa.warnings).toEqual([
      "tls_server_config: client_auth_type RequireAndVerifyClientCert without client_ca_file verifies client certificates against the system's public CAs"
    ])
  })

  it("accepts inline PEM (cert/key) and names the inline key in problems", () => {
    const inline = material({
      cert: { key: "tls_server_config.cert", source: "cert", pem: read("server.pem") },
      key: { key: "tls_server_config.key", source: "key", pem: read("client-key.pem") }
    })
    expect(planTls({}, inline, NOW)).toEqual(
      Either.left([{ key: "tls_server_config.key", problem: "key does not match the certificate in cert" }])
    )
  })
})

describe("tlsEnabled", () => {
  it("is on when any certificate, key, CA or policy key is set (exporter-toolkit's rule)", () => {
    expect(tlsEnabled({})).toBe(false)
    expect(tlsEnabled({ min_version: "TLS13", cipher_suites: [] })).toBe(false)
    expect(tlsEnabled({ cert_file: "" })).toBe(false)
    expect(tlsEnabled({ key_file: "k" })).toBe(true)
    expect(tlsEnabled({ client_auth_type: "NoClientCert" })).toBe(true)
    expect(tlsEnabled({ client_ca: "pem" })).toBe(true)
  })
})

describe("parseCertificates", () => {
  it("reads every certificate of a bundle", () => {
    const bundle = `${read("ca.pem")}\n${read("client.pem")}`
    expect(Either.map(parseCertificates(bundle), (certs) => certs.map((c) => c.subject))).toEqual(
      Either.right(["CN=joulemon test CA", "CN=prometheus"])
    )
    expect(parseCertificates("hello")).toEqual(Either.left("no PEM certificate found"))
    expect(Either.isLeft(parseCertificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"))).toBe(true)
  })
})

describe("parseSubjectAltName", () => {
  it("reads DNS, e-mail, IP and URI entries as Go prints them", () => {
    expect(parseSubjectAltName("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1")).toEqual([
      "localhost",
      "127.0.0.1",
      "::1"
    ])
    expect(parseSubjectAltName("email:ops@example.com, URI:spiffe://cluster.local/ns/m/sa/p, DirName:CN=x")).toEqual([
      "ops@example.com",
      "spiffe://cluster.local/ns/m/sa/p"
    ])
    expect(parseSubjectAltName("DNS:\"a, b\", DNS:c")).toEqual(["a, b", "c"])
    expect(parseSubjectAltName(undefined)).toEqual([])
  })

  it("reads the fixture client certificate", () => {
    const cert = new crypto.X509Certificate(read("client.pem"))
    expect(parseSubjectAltName(cert.subjectAltName)).toEqual([
      "prometheus.monitoring.svc",
      "spiffe://cluster.local/ns/monitoring/sa/prometheus"
    ])
  })
})

describe("admitPeer", () => {
  const none = peer({})
  const trusted = peer({ presented: true, authorized: true, sans: ["prometheus.monitoring.svc"] })
  const untrusted = peer({
    presented: true,
    authorized: false,
    authorizationError: "SELF_SIGNED_CERT_IN_CHAIN",
    sans: ["stranger.example"]
  })

  it("enforces each policy", () => {
    const table: ReadonlyArray<readonly [ClientAuthType, PeerCertificate, string | undefined]> = [
      ["NoClientCert", none, undefined],
      ["RequestClientCert", none, undefined],
      ["RequestClientCert", untrusted, undefined],
      ["RequireAnyClientCert", none, "no client certificate presented"],
      ["RequireAnyClientCert", untrusted, undefined],
      ["VerifyClientCertIfGiven", none, undefined],
      ["VerifyClientCertIfGiven", trusted, undefined],
      ["VerifyClientCertIfGiven", untrusted, "client certificate not trusted: SELF_SIGNED_CERT_IN_CHAIN"],
      ["RequireAndVerifyClientCert", none, "no client certificate presented"],
      ["RequireAndVerifyClientCert", untrusted, "client certificate not trusted: SELF_SIGNED_CERT_IN_CHAIN"],
      ["RequireAndVerifyClientCert", trusted, undefined]
    ]
    for (const [policy, p, expected] of table) {
      expect([policy, admitPeer(policy, undefined, p)]).toEqual([policy, expected])
    }
  })

  it("requires one allowed SAN, comparing IPs in canonical form", () => {
    expect(admitPeer("RequireAndVerifyClientCert", ["prometheus.monitoring.svc"], trusted)).toBeUndefined()
    expect(admitPeer("RequireAndVerifyClientCert", ["grafana"], trusted)).toBe(
      "client certificate has none of the allowed SANs (found: prometheus.monitoring.svc)"
    )
    expect(admitPeer("RequireAnyClientCert", ["0:0:0:0:0:0:0:1"], peer({ presented: true, sans: ["::1"] })))
      .toBeUndefined()
  })
})
