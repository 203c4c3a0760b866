import { describe, expect, it } from "@effect/vitest"
import type { TlsPlan } from "../../src/server/tls.js"
import type { WebSettings } from "../../src/server/webConfigLoad.js"
import { compareSettings } from "../../src/server/webConfigReload.js"

const plan = (over: Partial<TlsPlan> = {}, options: TlsPlan["options"] = {}): TlsPlan => ({
  options: {
    cert: "CERT",
    key: "KEY",
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.3",
    honorCipherOrder: true,
    ...options
  },
  clientAuth: "NoClientCert",
  allowedSans: undefined,
  minVersion: "TLS12",
  maxVersion: "TLS13",
  warnings: [],
  ...over
})

const settings = (over: Partial<WebSettings> = {}): WebSettings => ({
  file: "/etc/joulemon/web.yml",
  tls: plan(),
  headers: {},
  rateLimit: { intervalMillis: 0, burst: 0 },
  users: {},
  warnings: [],
  ...over
})

describe("compareSettings", () => {
  it("nothing changed", () => {
    expect(compareSettings(settings(), settings())).toEqual({ tlsContext: false, needRestart: [] })
  })

  it("a new certificate, key, CA or TLS parameter is applied in place", () => {
    for (
      const options of [{ cert: "CERT2" }, { key: "KEY2" }, { ca: "CA" }, { ciphers: "X" }, { ecdhCurve: "P-256" }, {
        minVersion: "TLSv1.3" as const
      }]
    ) {
      expect(compareSettings(settings(), settings({ tls: plan({}, options) }))).toEqual({
        tlsContext: true,
        needRestart: []
      })
    }
  })

  it("what a running server cannot change is reported as needing a restart", () => {
    expect(compareSettings(settings(), settings({ tls: undefined })).needRestart).toEqual([
      "tls_server_config (TLS on/off)",
      "tls_server_config.client_auth_type"
    ])
    expect(compareSettings(settings({ tls: undefined }), settings({ tls: undefined, users: { a: "h" } }))).toEqual({
      tlsContext: false,
      needRestart: ["basic_auth_users"]
    })
    const changed = settings({
      tls: plan({ clientAuth: "RequireAndVerifyClientCert", allowedSans: ["x"] }),
      headers: { "X-Frame-Options": "deny" },
      rateLimit: { intervalMillis: 1000, burst: 1 }
    })
    expect(compareSettings(settings(), changed).needRestart).toEqual([
      "tls_server_config.client_auth_type",
      "tls_server_config.client_allowed_sans",
      "http_server_config.headers",
      "rate_limit"
    ])
  })
})
