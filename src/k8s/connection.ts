/**
 * Where the API server is and how to authenticate to it: the pod's service account (in-cluster)
 * or a kubeconfig file (`kube.config`). Resolved once at startup; a mistake here is a
 * configuration error and stops joulemon with the file and key named. The bearer token is the
 * exception: it is only located here and re-read on every request, because the kubelet rotates
 * projected service-account tokens (about hourly) under a running process.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { parse as parseYaml } from "yaml"

export class KubeConfigError extends Data.TaggedError("KubeConfigError")<{
  /** The kubeconfig path, or "in-cluster configuration". */
  readonly source: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot configure the Kubernetes client from ${this.source}: ${this.reason}`
  }
}

export type KubeAuth =
  | { readonly _tag: "None" }
  | { readonly _tag: "Token"; readonly token: string }
  /** Re-read on every request. */
  | { readonly _tag: "TokenFile"; readonly path: string }

export interface KubeConnection {
  /** `https://host:port` with an optional path prefix, no trailing slash. */
  readonly server: string
  /** PEM bundle to verify the API server with; undefined uses Node's default roots. */
  readonly ca: Buffer | undefined
  readonly clientCert: Buffer | undefined
  readonly clientKey: Buffer | undefined
  readonly insecureSkipTlsVerify: boolean
  readonly tlsServerName: string | undefined
  readonly auth: KubeAuth
  /** For messages: the kubeconfig path or "in-cluster configuration". */
  readonly source: string
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
const IN_CLUSTER = "in-cluster configuration"

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const readFileOr = (source: string, what: string, file: string) =>
  Effect.tryPromise(() => fs.readFile(file)).pipe(
    Effect.mapError((e) => new KubeConfigError({ source, reason: `cannot read ${what} ${file}: ${describe(e.error)}` }))
  )

/** `host:port` for a URL, with brackets around an IPv6 address (Go's net.JoinHostPort). */
export const joinHostPort = (host: string, port: string | number): string =>
  host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`

export interface InClusterEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>
  /** Where the service-account token and CA are mounted. */
  readonly serviceAccountDir: string
}

/** client-go's `rest.InClusterConfig`: the service's env vars, the mounted CA and token. */
export const inClusterConnection = (
  environment: InClusterEnvironment
): Effect.Effect<KubeConnection, KubeConfigError> =>
  Effect.gen(function*() {
    const host = environment.env["KUBERNETES_SERVICE_HOST"]?.trim() ?? ""
    const port = environment.env["KUBERNETES_SERVICE_PORT"]?.trim() ?? ""
    if (host === "" || port === "") {
      return yield* Effect.fail(
        new KubeConfigError({
          source: IN_CLUSTER,
          reason:
            "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set, so joulemon is not running in a pod; " +
            "set kube.config (--kube.config) to a kubeconfig file"
        })
      )
    }
    const ca = yield* readFileOr(
      IN_CLUSTER,
      "the service-account CA",
      path.join(environment.serviceAccountDir, "ca.crt")
    )
    return {
      server: `https://${joinHostPort(host, port)}`,
      ca,
      clientCert: undefined,
      clientKey: undefined,
      insecureSkipTlsVerify: false,
      tlsServerName: undefined,
      auth: { _tag: "TokenFile", path: path.join(environment.serviceAccountDir, "token") },
      source: IN_CLUSTER
    }
  })

// --- kubeconfig ---------------------------------------------------------------------------

const list = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.optionalWith(Schema.Array(item), { nullable: true, default: () => [] })
const maybe = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { nullable: true, exact: true })

const KubeconfigFile = Schema.Struct({
  "current-context": Schema.optionalWith(Schema.String, { nullable: true, default: () => "" }),
  clusters: list(
    Schema.Struct({
      name: Schema.String,
      cluster: Schema.Struct({
        server: Schema.String,
        "certificate-authority": maybe(Schema.String),
        "certificate-authority-data": maybe(Schema.String),
        "insecure-skip-tls-verify": maybe(Schema.Boolean),
        "tls-server-name": maybe(Schema.String)
      })
    })
  ),
  users: list(
    Schema.Struct({
      name: Schema.String,
      user: Schema.optionalWith(
        Schema.Struct({
          token: maybe(Schema.String),
          tokenFile: maybe(Schema.String),
          "client-certificate": maybe(Schema.String),
          "client-certificate-data": maybe(Schema.String),
          "client-key": maybe(Schema.String),
          "client-key-data": maybe(Schema.String),
          exec: maybe(Schema.Unknown),
          "auth-provider": maybe(Schema.Unknown),
          username: maybe(Schema.String)
        }),
        { nullable: true, default: () => ({}) }
      )
    })
  ),
  contexts: list(
    Schema.Struct({
      name: Schema.String,
      context: Schema.Struct({
        cluster: Schema.String,
        user: Schema.optionalWith(Schema.String, { nullable: true, default: () => "" })
      })
    })
  )
})
type KubeconfigFile = typeof KubeconfigFile.Type

/** A credential or CA given inline (base64 `-data`) or as a file path (relative to the kubeconfig). */
export type Material = { readonly _tag: "Inline"; readonly data: Buffer } | {
  readonly _tag: "File"
  readonly path: string
}

export interface SelectedKubeconfig {
  readonly server: string
  readonly ca: Material | undefined
  readonly clientCert: Material | undefined
  readonly clientKey: Material | undefined
  readonly insecureSkipTlsVerify: boolean
  readonly tlsServerName: string | undefined
  readonly auth: KubeAuth
}

/**
 * The current context's cluster and user, with relative paths resolved against `dir` (as
 * kubectl does). Credential plugins (`exec`, `auth-provider`) are refused with a hint: running
 * a cloud CLI from inside a monitoring daemon is not something to do silently.
 */
export const selectKubeconfig = (file: KubeconfigFile, dir: string): Either.Either<SelectedKubeconfig, string> => {
  const contextName = file["current-context"].trim()
  if (contextName === "") return Either.left("current-context is not set")
  const context = file.contexts.find((c) => c.name === contextName)?.context
  if (context === undefined) return Either.left(`current-context ${JSON.stringify(contextName)} is not in contexts`)
  const cluster = file.clusters.find((c) => c.name === context.cluster)?.cluster
  if (cluster === undefined) {
    return Either.left(
      `cluster ${JSON.stringify(context.cluster)} of context ${JSON.stringify(contextName)} is not in clusters`
    )
  }
  // client-go's DefaultServerURL: an address without a scheme is https.
  const address = cluster.server.includes("://") ? cluster.server.trim() : `https://${cluster.server.trim()}`
  let server: URL
  try {
    server = new URL(address)
  } catch {
    return Either.left(
      `cluster ${JSON.stringify(context.cluster)} has an invalid server address ${JSON.stringify(cluster.server)}`
    )
  }
  if (server.protocol !== "https:" && server.protocol !== "http:") {
    return Either.left(
      `cluster ${JSON.stringify(context.cluster)}: server ${JSON.stringify(cluster.server)} must be an http(s) URL`
    )
  }
  const user = context.user === "" ? {} : file.users.find((u) => u.name === context.user)?.user
  if (user === undefined) {
    return Either.left(`user ${JSON.stringify(context.user)} of context ${JSON.stringify(contextName)} is not in users`)
  }
  if (user.exec !== undefined || user["auth-provider"] !== undefined) {
    return Either.left(
      `user ${
        JSON.stringify(context.user)
      } uses a credential plugin (exec or auth-provider), which joulemon does not run; ` +
        "give it a token, tokenFile or client certificate (e.g. a service account's token)"
    )
  }
  if (user.username !== undefined) {
    return Either.left(
      `user ${JSON.stringify(context.user)} uses basic authentication, which Kubernetes removed in 1.19`
    )
  }
  const material = (data: string | undefined, file: string | undefined): Material | undefined =>
    data !== undefined && data !== ""
      ? { _tag: "Inline", data: Buffer.from(data, "base64") }
      : file !== undefined && file !== ""
      ? { _tag: "File", path: path.resolve(dir, file) }
      : undefined
  const auth: KubeAuth = user.token !== undefined && user.token !== ""
    ? { _tag: "Token", token: user.token }
    : user.tokenFile !== undefined && user.tokenFile !== ""
    ? { _tag: "TokenFile", path: path.resolve(dir, user.tokenFile) }
    : { _tag: "None" }
  const clientCert = material(user["client-certificate-data"], user["client-certificate"])
  const clientKey = material(user["client-key-data"], user["client-key"])
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    return Either.left(
      `user ${JSON.stringify(context.user)} has a client certificate without its key, or a key without its certificate`
    )
  }
  return Either.right({
    server: address.replace(/\/+$/, ""),
    ca: material(cluster["certificate-authority-data"], cluster["certificate-authority"]),
    clientCert,
    clientKey,
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    tlsServerName: cluster["tls-server-name"] === "" ? undefined : cluster["tls-server-name"],
    auth
  })
}

/** Reads, decodes and resolves a kubeconfig file, reading the CA and client certificate it names. */
export const kubeconfigConnection = (file: string): Effect.Effect<KubeConnection, KubeConfigError> =>
  Effect.gen(function*() {
    const fail = (reason: string) => Effect.fail(new KubeConfigError({ source: file, reason }))
    const text = yield* readFileOr(file, "the kubeconfig", file)
    const json = yield* Effect.try({
      try: () => parseYaml(text.toString("utf8")) as unknown,
      catch: (e) => new KubeConfigError({ source: file, reason: `not valid YAML: ${describe(e)}` })
    })
    const decoded = Schema.decodeUnknownEither(KubeconfigFile)(json)
    if (Either.isLeft(decoded)) return yield* fail(ParseResult.TreeFormatter.formatErrorSync(decoded.left))
    const selected = selectKubeconfig(decoded.right, path.dirname(path.resolve(file)))
    if (Either.isLeft(selected)) return yield* fail(selected.left)
    const s = selected.right
    const load = (what: string, m: Material | undefined) =>
      m === undefined
        ? Effect.succeed(undefined)
        : m._tag === "Inline"
        ? Effect.succeed(m.data)
        : readFileOr(file, what, m.path)
    const [ca, clientCert, clientKey] = yield* Effect.all([
      load("certificate-authority", s.ca),
      load("client-certificate", s.clientCert),
      load("client-key", s.clientKey)
    ])
    return {
      server: s.server,
      ca,
      clientCert,
      clientKey,
      insecureSkipTlsVerify: s.insecureSkipTlsVerify,
      tlsServerName: s.tlsServerName,
      auth: s.auth,
      source: file
    }
  })

/** `kube.config` empty → the pod's service account; otherwise that kubeconfig. */
export const resolveConnection = (kubeconfig: string): Effect.Effect<KubeConnection, KubeConfigError> =>
  kubeconfig.trim() === ""
    ? Effect.suspend(() => inClusterConnection({ env: process.env, serviceAccountDir: SERVICE_ACCOUNT_DIR }))
    : kubeconfigConnection(kubeconfig.trim())
