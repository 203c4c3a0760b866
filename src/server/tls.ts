/**
 * `tls_server_config` of the web config, mapped onto Node's TLS server (exporter-toolkit's Go
 * `tls.Config` semantics, kepler-behaviour.md §2.7). Everything is checked before the server
 * listens: unreadable or mismatched certificate and key, a CA file with no certificate, an
 * unknown cipher or curve — Kepler only finds these on the first connection.
 *
 * Go's five client-auth policies map onto Node's two switches (`requestCert`,
 * `rejectUnauthorized`) plus an admission check on each new TLS connection, because Node has
 * no "require any certificate" or "verify only if given" mode.
 */
import * as Either from "effect/Either"
import * as crypto from "node:crypto"
import * as https from "node:https"
import type * as net from "node:net"
import * as tls from "node:tls"
import type { ClientAuthType, TlsServerSection, TlsVersionName, WebConfigProblem } from "./webConfigFile.js"

/** Go's secure cipher suites (crypto/tls `CipherSuites()`, TLS ≤ 1.2) by their OpenSSL names. */
export const GO_CIPHER_SUITES: ReadonlyMap<string, string> = new Map([
  ["TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"],
  ["TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"],
  ["TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"],
  ["TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"],
  ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"],
  ["TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"],
  ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"],
  ["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"],
  ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"],
  ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"],
  ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"],
  ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"],
  ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"],
  ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"]
])

/** TLS 1.3 suites: Go accepts their names but never lets them be configured. */
export const GO_TLS13_SUITES: ReadonlySet<string> = new Set([
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256"
])

/** exporter-toolkit's curve names → OpenSSL's. */
export const GO_CURVES: ReadonlyMap<string, string> = new Map([
  ["CurveP256", "P-256"],
  ["CurveP384", "P-384"],
  ["CurveP521", "P-521"],
  ["X25519", "X25519"]
])

export const NODE_TLS_VERSIONS: Readonly<Record<TlsVersionName, tls.SecureVersion>> = {
  TLS10: "TLSv1",
  TLS11: "TLSv1.1",
  TLS12: "TLSv1.2",
  TLS13: "TLSv1.3"
}

/** The PEM texts the section points at, read by the caller (keys name where each came from). */
export interface TlsMaterial {
  readonly cert: { readonly key: string; readonly source: string; readonly pem: string }
  readonly key: { readonly key: string; readonly source: string; readonly pem: string }
  readonly clientCa: { readonly key: string; readonly source: string; readonly pem: string } | undefined
}

/** Everything needed to create the TLS servers, checked. */
export interface TlsPlan {
  readonly options: https.ServerOptions
  readonly clientAuth: ClientAuthType
  readonly allowedSans: ReadonlyArray<string> | undefined
  readonly minVersion: TlsVersionName
  readonly maxVersion: TlsVersionName
  readonly warnings: ReadonlyArray<string>
}

const K = "tls_server_config"

/** True when the section turns TLS on at all (exporter-toolkit's `validateTLSPaths`). */
export const tlsEnabled = (section: TlsServerSection): boolean =>
  [
    section.cert,
    section.cert_file,
    section.key,
    section.key_file,
    section.client_ca,
    section.client_ca_file,
    section.client_auth_type
  ].some(
    (v) => v !== undefined && v !== ""
  )

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** Every certificate in a PEM bundle, or why there is none. */
export const parseCertificates = (pem: string): Either.Either<ReadonlyArray<crypto.X509Certificate>, string> => {
  const blocks = pem.match(PEM_CERTIFICATE) ?? []
  if (blocks.length === 0) return Either.left("no PEM certificate found")
  const parsed: Array<crypto.X509Certificate> = []
  for (const [i, block] of blocks.entries()) {
    try {
      parsed.push(new crypto.X509Certificate(block))
    } catch (e) {
      return Either.left(`certificate ${i + 1} is not valid: ${errorText(e)}`)
    }
  }
  return Either.right(parsed)
}

const VERSION_ORDER: ReadonlyArray<TlsVersionName> = ["TLS10", "TLS11", "TLS12", "TLS13"]

/** `tls_server_config.cert_file` → `cert_file` */
const shortKey = (key: string): string => key.slice(key.lastIndexOf(".") + 1)

/** `cert_file "/etc/joulemon/server.pem"`, or `cert` when inline. */
const describe = (m: { readonly key: string; readonly source: string }): string =>
  shortKey(m.key).endsWith("_file") ? `${shortKey(m.key)} ${JSON.stringify(m.source)}` : shortKey(m.key)

/**
 * Checks the section against the PEM material and maps it onto Node's server options.
 * `nowMillis` dates the certificate-validity warnings.
 */
export const planTls = (
  section: TlsServerSection,
  material: TlsMaterial,
  nowMillis: number
): Either.Either<TlsPlan, ReadonlyArray<WebConfigProblem>> => {
  const problems: Array<WebConfigProblem> = []
  const warnings: Array<string> = []
  const problem = (key: string, text: string) => problems.push({ key, problem: text })

  if (section.cert !== undefined && section.cert_file !== undefined) {
    warnings.push(`${K}: both cert and cert_file are set; cert_file is used (as exporter-toolkit does)`)
  }
  if (section.key !== undefined && section.key_file !== undefined) {
    warnings.push(`${K}: both key and key_file are set; key_file is used (as exporter-toolkit does)`)
  }

  // The server certificate chain and its key.
  const certs = parseCertificates(material.cert.pem)
  let leaf: crypto.X509Certificate | undefined
  if (Either.isLeft(certs)) problem(material.cert.key, `${describe(material.cert)}: ${certs.left}`)
  else leaf = certs.right[0]
  let privateKey: crypto.KeyObject | undefined
  try {
    privateKey = crypto.createPrivateKey(material.key.pem)
  } catch (e) {
    problem(material.key.key, `${describe(material.key)}: not a PEM private key (${errorText(e)})`)
  }
  if (leaf !== undefined && privateKey !== undefined && !leaf.checkPrivateKey(privateKey)) {
    problem(material.key.key, `${describe(material.key)} does not match the certificate in ${describe(material.cert)}`)
  }
  if (leaf !== undefined) {
    if (Date.parse(leaf.validTo) < nowMillis) {
      warnings.push(`${describe(material.cert)}: the certificate expired on ${leaf.validTo}`)
    }
    if (Date.parse(leaf.validFrom) > nowMillis) {
      warnings.push(`${describe(material.cert)}: the certificate is not valid before ${leaf.validFrom}`)
    }
  }

  // Client authentication.
  const clientAuth = section.client_auth_type ?? "NoClientCert"
  let ca: string | undefined
  if (material.clientCa !== undefined) {
    const parsed = parseCertificates(material.clientCa.pem)
    if (Either.isLeft(parsed)) problem(material.clientCa.key, `${describe(material.clientCa)}: ${parsed.left}`)
    else ca = material.clientCa.pem
    if (clientAuth === "NoClientCert") {
      const name = shortKey(material.clientCa.key)
      problem(
        `${K}.client_auth_type`,
        `${name} is set but client_auth_type is NoClientCert; set client_auth_type (e.g. RequireAndVerifyClientCert) or remove ${name}`
      )
    }
  } else if (clientAuth === "RequireAndVerifyClientCert" || clientAuth === "VerifyClientCertIfGiven") {
    warnings.push(
      `${K}: client_auth_type ${clientAuth} without client_ca_file verifies client certificates against the system's public CAs`
    )
  }
  const allowedSans = section.client_allowed_sans
  if (
    allowedSans !== undefined && clientAuth !== "RequireAnyClientCert" && clientAuth !== "RequireAndVerifyClientCert"
  ) {
    problem(
      `${K}.client_allowed_sans`,
      `needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert, not ${clientAuth}`
    )
  }
  if (clientAuth === "RequestClientCert" || clientAuth === "RequireAnyClientCert") {
    warnings.push(
      `${K}: client_auth_type ${clientAuth} does not verify client certificates; use RequireAndVerifyClientCert to authenticate clients`
    )
  }

  // Protocol versions, ciphers and curves.
  const minVersion = section.min_version ?? "TLS12"
  const maxVersion = section.max_version ?? "TLS13"
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) {
    problem(`${K}.min_version`, `${minVersion} is above max_version ${maxVersion}: no connection could succeed`)
  }
  if (minVersion === "TLS10" || minVersion === "TLS11") {
    warnings.push(
      `${K}.min_version ${minVersion}: OpenSSL 3 refuses TLS below 1.2 at its default security level, so such clients still fail`
    )
  }
  const ciphers: Array<string> = []
  for (const [i, name] of (section.cipher_suites ?? []).entries()) {
    const openssl = GO_CIPHER_SUITES.get(name)
    if (openssl !== undefined) ciphers.push(openssl)
    else if (GO_TLS13_SUITES.has(name)) {
      warnings.push(
        `${K}.cipher_suites[${i}]: ${name} is a TLS 1.3 suite; TLS 1.3 suites are not configurable (as in Go) and it is ignored`
      )
    } else {problem(
        `${K}.cipher_suites[${i}]`,
        `unknown cipher suite ${JSON.stringify(name)} (known: ${[...GO_CIPHER_SUITES.keys()].join(", ")})`
      )}
  }
  const curves: Array<string> = []
  for (const [i, name] of (section.curve_preferences ?? []).entries()) {
    const openssl = GO_CURVES.get(name)
    if (openssl !== undefined) curves.push(openssl)
    else {problem(
        `${K}.curve_preferences[${i}]`,
        `unknown curve ${JSON.stringify(name)} (known: ${[...GO_CURVES.keys()].join(", ")})`
      )}
  }

  if (problems.length > 0) return Either.left(problems)

  // Go applies cipher_suites to TLS ≤ 1.2 only; Node's list covers 1.3 too, so keep its 1.3 defaults.
  const tls13Defaults = tls.DEFAULT_CIPHERS.split(":").filter((c) => c.startsWith("TLS_"))
  const options: https.ServerOptions = {
    cert: material.cert.pem,
    key: material.key.pem,
    ...(ca === undefined ? {} : { ca }),
    requestCert: clientAuth !== "NoClientCert",
    // Node verifies in the handshake only here; the other policies are enforced by `admitPeer`.
    rejectUnauthorized: clientAuth === "RequireAndVerifyClientCert",
    minVersion: NODE_TLS_VERSIONS[minVersion],
    maxVersion: NODE_TLS_VERSIONS[maxVersion],
    honorCipherOrder: section.prefer_server_cipher_suites ?? true,
    ...(ciphers.length === 0 ? {} : { ciphers: [...ciphers, ...tls13Defaults].join(":") }),
    ...(curves.length === 0 ? {} : { ecdhCurve: curves.join(":") })
  }
  // Node's own check of the whole set (e.g. a curve this OpenSSL build lacks).
  try {
    tls.createSecureContext(options)
  } catch (e) {
    return Either.left([{ key: K, problem: `OpenSSL rejects these settings: ${errorText(e)}` }])
  }
  return Either.right({ options, clientAuth, allowedSans, minVersion, maxVersion, warnings })
}

/** What the server learnt about the client's certificate in the handshake. */
export interface PeerCertificate {
  readonly presented: boolean
  /** Chains to a trusted CA (Node's `socket.authorized`). */
  readonly authorized: boolean
  readonly authorizationError: string | undefined
  /** DNS names, e-mail addresses, IP addresses and URIs, as Go's x509 prints them. */
  readonly sans: ReadonlyArray<string>
}

/** Go prints IPv6 compressed and lower-case (`::1`), OpenSSL in full (`0:0:0:0:0:0:0:1`). */
const canonicalIp = (ip: string): string => {
  if (!ip.includes(":")) return ip
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
  } catch {
    return ip.toLowerCase()
  }
}

/**
 * Node's `subjectAltName` text (`DNS:a, IP Address:1.2.3.4, URI:spiffe://x`; values with
 * commas or quotes are JSON-quoted) → the values Go compares `client_allowed_sans` against.
 */
export const parseSubjectAltName = (text: string | undefined): ReadonlyArray<string> => {
  if (text === undefined || text === "") return []
  const values: Array<string> = []
  let rest = text
  while (rest.length > 0) {
    const colon = rest.indexOf(":")
    if (colon < 0) break
    const kind = rest.slice(0, colon)
    rest = rest.slice(colon + 1)
    let value: string
    if (rest.startsWith("\"")) {
      const end = /^"(?:[^"\\]|\\.)*"/.exec(rest)
      const quoted = end?.[0] ?? rest
      try {
        value = String(JSON.parse(quoted))
      } catch {
        value = quoted
      }
      rest = rest.slice(quoted.length)
    } else {
      const comma = rest.indexOf(", ")
      value = comma < 0 ? rest : rest.slice(0, comma)
      rest = comma < 0 ? "" : rest.slice(comma)
    }
    if (rest.startsWith(", ")) rest = rest.slice(2)
    if (kind === "DNS" || kind === "email" || kind === "URI") values.push(value)
    else if (kind === "IP Address") values.push(canonicalIp(value))
  }
  return values
}

/**
 * Whether a client that completed the handshake may stay: the policies Node cannot express
 * in the handshake itself, and `client_allowed_sans`. Returns the reason to refuse it.
 */
export const admitPeer = (
  clientAuth: ClientAuthType,
  allowedSans: ReadonlyArray<string> | undefined,
  peer: PeerCertificate
): string | undefined => {
  switch (clientAuth) {
    case "NoClientCert":
    case "RequestClientCert":
      break
    case "RequireAnyClientCert":
      if (!peer.presented) return "no client certificate presented"
      break
    case "VerifyClientCertIfGiven":
      if (peer.presented && !peer.authorized) {
        return `client certificate not trusted: ${peer.authorizationError ?? "unknown reason"}`
      }
      break
    case "RequireAndVerifyClientCert":
      if (!peer.presented) return "no client certificate presented"
      if (!peer.authorized) return `client certificate not trusted: ${peer.authorizationError ?? "unknown reason"}`
      break
  }
  if (allowedSans !== undefined) {
    const wanted = new Set(allowedSans.map(canonicalIp))
    if (!peer.sans.some((san) => wanted.has(san))) {
      return `client certificate has none of the allowed SANs (found: ${
        peer.sans.length === 0 ? "none" : peer.sans.join(", ")
      })`
    }
  }
  return undefined
}

const peerOf = (socket: tls.TLSSocket): PeerCertificate => {
  const x509 = socket.getPeerX509Certificate()
  const error = socket.authorizationError
  return {
    presented: x509 !== undefined,
    authorized: socket.authorized,
    authorizationError: error === undefined || error === null ? undefined : String(error),
    sans: parseSubjectAltName(x509?.subjectAltName)
  }
}

export interface TlsServerHooks {
  /** A client refused after the handshake (policy or SANs). */
  readonly onRefused: (reason: string, remoteAddress: string) => void
  /** A handshake that failed (wrong version, untrusted certificate, plain HTTP on the TLS port, …). */
  readonly onHandshakeError: (error: Error, remoteAddress: string) => void
}

/** What Go's net/http answers a plain HTTP request on a TLS port; exporter-toolkit inherits it. */
export const PLAIN_HTTP_RESPONSE = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
/** A TLS connection's first byte: the handshake record type (RFC 8446 §5.1). */
const TLS_HANDSHAKE_RECORD = 0x16
/** Node's own TLS handshake timeout, applied to the wait for a connection's first byte as well. */
const FIRST_BYTE_TIMEOUT_MS = 120_000

/** HTTP/1 requests start with a method token: upper-case ASCII letters (RFC 9110 §9.1). */
const looksLikeHttp = (first: number): boolean => first >= 0x41 && first <= 0x5a

/**
 * Reads a connection's first byte before TLS does: a TLS handshake goes on to `dispatch`, a
 * plain HTTP request gets Go's 400 with the reason (not OpenSSL's silent reset, which leaves an
 * operator who typed http:// guessing), anything else is closed. The byte is pushed back
 * (`unshift`), and the TLS socket that wraps this one reads it from the stream's buffer.
 */
const sniffFirstByte = (
  socket: net.Socket,
  dispatch: (socket: net.Socket) => void,
  onPlain: (remoteAddress: string) => void
): void => {
  socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy())
  const onReadable = (): void => {
    const chunk: unknown = socket.read()
    if (!Buffer.isBuffer(chunk) || chunk.length === 0) return
    socket.removeListener("readable", onReadable)
    socket.setTimeout(0)
    const first = chunk[0] ?? 0
    if (first === TLS_HANDSHAKE_RECORD) {
      socket.unshift(chunk)
      dispatch(socket)
    } else if (looksLikeHttp(first)) {
      onPlain(socket.remoteAddress ?? "")
      socket.end(PLAIN_HTTP_RESPONSE)
    } else {
      socket.destroy()
    }
  }
  socket.on("readable", onReadable)
  // Errors before the dispatch (a reset while waiting) would otherwise be unhandled.
  socket.on("error", () => socket.destroy())
}

/** One HTTPS server with the plan's settings and admission check. */
export const createTlsServer = (plan: TlsPlan, hooks: TlsServerHooks): https.Server => {
  const server = https.createServer(plan.options)
  // Before https's own listener, so a refused client is closed before any request is read.
  server.prependListener("secureConnection", (socket: tls.TLSSocket) => {
    const reason = admitPeer(plan.clientAuth, plan.allowedSans, peerOf(socket))
    if (reason !== undefined) {
      hooks.onRefused(reason, socket.remoteAddress ?? "")
      socket.destroy()
    }
  })
  server.on("tlsClientError", (error, socket) => hooks.onHandshakeError(error, socket.remoteAddress ?? ""))
  // The TLS server wraps each accepted socket in its "connection" listeners; they now run once
  // the first byte says the client speaks TLS.
  const wrapTls = server.listeners("connection")
  server.removeAllListeners("connection")
  server.on("connection", (socket: net.Socket) =>
    sniffFirstByte(
      socket,
      (tlsSocket) => {
        for (const listener of wrapTls) listener.call(server, tlsSocket)
      },
      (remote) => hooks.onHandshakeError(new Error("plain HTTP request on the TLS port, answered 400"), remote)
    ))
  return server
}
