import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { inClusterConnection, joinHostPort, kubeconfigConnection, resolveConnection } from "../../src/k8s/connection.js"
import { fixture, fixturePath } from "./fakeKube.js"
import { tempDir } from "./support.js"

const write = (dir: string, name: string, text: string | Buffer): string => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

const kubeconfig = (user: string, cluster = "    server: https://10.0.0.1:6443\n    certificate-authority: ca.crt") =>
  [
    "apiVersion: v1",
    "kind: Config",
    "current-context: ctx",
    "clusters:",
    `- name: c\n  cluster:\n${cluster}`,
    "users:",
    `- name: u\n  user:\n${user}`,
    "contexts:",
    "- name: other\n  context:\n    cluster: missing",
    "- name: ctx\n  context:\n    cluster: c\n    user: u"
  ].join("\n")

describe("in-cluster connection", () => {
  it.scoped("uses KUBERNETES_SERVICE_HOST/PORT, the mounted CA, and the token file (read per request)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.copyFileSync(fixturePath("ca.crt"), path.join(dir, "ca.crt"))
      const c = yield* inClusterConnection({
        env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" },
        serviceAccountDir: dir
      })
      expect(c.server).toBe("https://10.96.0.1:443")
      expect(c.ca?.equals(fixture("ca.crt"))).toBe(true)
      expect(c.auth).toEqual({ _tag: "TokenFile", path: path.join(dir, "token") })
      expect(c.insecureSkipTlsVerify).toBe(false)
    }))

  it.scoped("brackets an IPv6 service address", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      write(dir, "ca.crt", fixture("ca.crt"))
      const c = yield* inClusterConnection({
        env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
        serviceAccountDir: dir
      })
      expect(c.server).toBe("https://[fd00::1]:443")
      expect(joinHostPort("10.0.0.1", 10250)).toBe("10.0.0.1:10250")
    }))

  it.effect("outside a pod, the error says to set kube.config", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(inClusterConnection({ env: {}, serviceAccountDir: "/nonexistent" }))
      expect(error.message).toContain("KUBERNETES_SERVICE_HOST")
      expect(error.message).toContain("--kube.config")
    }))

  it.effect("a missing CA names the file", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        inClusterConnection({
          env: { KUBERNETES_SERVICE_HOST: "h", KUBERNETES_SERVICE_PORT: "1" },
          serviceAccountDir: "/nonexistent/sa"
        })
      )
      expect(error.message).toContain("/nonexistent/sa/ca.crt")
    }))
})

describe("kubeconfig connection", () => {
  it.scoped("current context, files relative to the kubeconfig, a token file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      write(dir, "ca.crt", fixture("ca.crt"))
      const file = write(dir, "config", kubeconfig("    tokenFile: secrets/token"))
      const c = yield* kubeconfigConnection(file)
      expect(c.server).toBe("https://10.0.0.1:6443")
      // Without a scheme, https (client-go's default).
      write(dir, "bare", kubeconfig("    token: t", "    server: 10.0.0.2:6443\n    certificate-authority: ca.crt"))
      expect((yield* kubeconfigConnection(path.join(dir, "bare"))).server).toBe("https://10.0.0.2:6443")
      expect(c.ca?.equals(fixture("ca.crt"))).toBe(true)
      expect(c.auth).toEqual({ _tag: "TokenFile", path: path.join(dir, "secrets/token") })
      expect(c.source).toBe(file)
    }))

  it.scoped("inline -data fields and an inline token; insecure-skip-tls-verify and tls-server-name", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const b64 = (name: string) => fixture(name).toString("base64")
      const file = write(
        dir,
        "config",
        kubeconfig(
          `    token: abc\n    client-certificate-data: ${b64("client.crt")}\n    client-key-data: ${
            b64("client.key")
          }`,
          "    server: https://api.example:6443/\n    insecure-skip-tls-verify: true\n    tls-server-name: kubernetes"
        )
      )
      const c = yield* kubeconfigConnection(file)
      expect(c.server).toBe("https://api.example:6443")
      expect(c.ca).toBeUndefined()
      expect(c.clientCert?.equals(fixture("client.crt"))).toBe(true)
      expect(c.clientKey?.equals(fixture("client.key"))).toBe(true)
      expect(c.auth).toEqual({ _tag: "Token", token: "abc" })
      expect(c.insecureSkipTlsVerify).toBe(true)
      expect(c.tlsServerName).toBe("kubernetes")
    }))

  it.scoped.each(
    [
      ["an exec plugin", kubeconfig("    exec:\n      command: aws"), "credential plugin"],
      ["basic auth", kubeconfig("    username: admin\n    password: x"), "basic authentication"],
      ["a certificate without its key", kubeconfig("    client-certificate: client.crt"), "without its key"],
      ["a missing CA file", kubeconfig("    token: t"), "cannot read certificate-authority"],
      ["no current context", "clusters: []\n", "current-context is not set"],
      ["a current context that is not listed", "current-context: nope\ncontexts: []\n", "\"nope\" is not in contexts"],
      [
        "a context naming a missing cluster",
        kubeconfig("    token: t").replace("current-context: ctx", "current-context: other"),
        "\"missing\""
      ],
      [
        "a server that is not http(s)",
        kubeconfig("    token: t", "    server: ftp://10.0.0.1"),
        "must be an http(s) URL"
      ],
      ["a server that is not a URL", kubeconfig("    token: t", "    server: https://[::1"), "invalid server address"],
      ["not YAML", "a: [", "not valid YAML"],
      ["a wrong shape", "clusters: 3\n", "clusters"]
    ] as const
  )("refuses %s, naming the file and the problem", ([, text, expected]) =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = write(dir, "config", text)
      const error = yield* Effect.flip(kubeconfigConnection(file))
      expect(error.message).toContain(file)
      expect(error.message).toContain(expected)
    }))

  it.effect("a kubeconfig that does not exist", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(resolveConnection("/nonexistent/kubeconfig"))
      expect(error.message).toContain("cannot read the kubeconfig /nonexistent/kubeconfig")
    }))
})
