/**
 * deploy/kubernetes/ and the Containerfile, read as an operator's cluster would: every YAML
 * parses, the DaemonSet's security context and mounts are what docs/kubernetes.md promises, RBAC
 * grants exactly the pod informer's needs, and the ConfigMap passes joulemon's own loader with
 * the DaemonSet's flags.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { parseAllDocuments } from "yaml"
import { type FlagOverrides, loadConfig } from "../../src/config/load.js"
import { tempDir } from "./support.js"

const root = new URL("../../", import.meta.url)
const deployDir = new URL("deploy/kubernetes/", root)

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)
/** `get(obj, "spec", "template", 0)`, failing the test with the path when a step is missing. */
const get = (value: unknown, ...steps: ReadonlyArray<string | number>): unknown => {
  let current = value
  for (const step of steps) {
    if (typeof step === "number" ? !Array.isArray(current) : !isObject(current)) {
      throw new Error(`no ${steps.join(".")} (stopped at ${String(step)})`)
    }
    current = (current as Record<string | number, unknown>)[step]
  }
  return current
}
const list = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : [])

const manifestFiles = fs.readdirSync(deployDir).filter((f) => f.endsWith(".yaml")).sort()

const documents: ReadonlyArray<{ readonly file: string; readonly doc: Json }> = manifestFiles.flatMap((file) =>
  parseAllDocuments(fs.readFileSync(new URL(file, deployDir), "utf8")).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`)
    const doc: unknown = d.toJS()
    if (!isObject(doc)) throw new Error(`${file}: a document is not a mapping`)
    return { file, doc }
  })
)

const byKind = (kind: string): Json => {
  const found = documents.filter((d) => d.doc["kind"] === kind)
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`)
  return (found[0] as { doc: Json }).doc
}

const daemonSet = byKind("DaemonSet")
const podSpec = get(daemonSet, "spec", "template", "spec")
const container = get(podSpec, "containers", 0)
const NAMESPACE = "joulemon"

describe("deploy/kubernetes", () => {
  it("every file parses, every object is named, namespaced ones live in the joulemon namespace", () => {
    expect(manifestFiles).toEqual([
      "configmap.yaml",
      "daemonset.yaml",
      "kustomization.yaml",
      "namespace.yaml",
      "rbac.yaml",
      "service.yaml",
      "serviceaccount.yaml",
      "servicemonitor.yaml"
    ])
    const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "Kustomization"])
    for (const { file, doc } of documents) {
      expect(typeof doc["apiVersion"], file).toBe("string")
      if (doc["kind"] === "Kustomization") continue
      expect(typeof get(doc, "metadata", "name"), file).toBe("string")
      if (!clusterScoped.has(String(doc["kind"]))) expect(get(doc, "metadata", "namespace"), file).toBe(NAMESPACE)
    }
  })

  it("the kustomization applies every manifest but the ServiceMonitor (which needs the operator's CRDs)", () => {
    const kustomization = byKind("Kustomization")
    expect([...list(kustomization["resources"])].sort()).toEqual(
      manifestFiles.filter((f) => f !== "kustomization.yaml" && f !== "servicemonitor.yaml").sort()
    )
    expect(kustomization["namespace"]).toBe(NAMESPACE)
    expect(get(byKind("Namespace"), "metadata", "name")).toBe(NAMESPACE)
  })

  it("the container runs as uid 0 but unprivileged: every capability dropped but SYS_PTRACE and DAC_READ_SEARCH", () => {
    const sc = get(container, "securityContext")
    expect(get(sc, "runAsUser")).toBe(0)
    expect(get(sc, "runAsNonRoot")).toBe(false)
    expect(get(sc, "privileged")).toBe(false)
    expect(get(sc, "allowPrivilegeEscalation")).toBe(false)
    expect(get(sc, "readOnlyRootFilesystem")).toBe(true)
    expect(get(sc, "capabilities", "drop")).toEqual(["ALL"])
    expect([...list(get(sc, "capabilities", "add"))].sort()).toEqual(["DAC_READ_SEARCH", "SYS_PTRACE"])
    expect(get(sc, "seccompProfile", "type")).toBe("RuntimeDefault")
    expect(get(podSpec, "hostPID")).toBe(true)
    expect(get(podSpec, "hostUsers")).toBe(true)
    expect(get(podSpec, "hostNetwork")).toBeUndefined()
    expect(get(podSpec, "securityContext")).toBeUndefined()
  })

  it("mounts the host's /proc and /sys read-only at /host/proc and /host/sys; writable only the counter checkpoint", () => {
    const volumes = new Map(list(get(podSpec, "volumes")).map((v) => [String(get(v, "name")), v]))
    const mounts = list(get(container, "volumeMounts"))
    const hostPathOf = (m: unknown): unknown => {
      const hostPath = get(volumes.get(String(get(m, "name"))), "hostPath")
      return hostPath === undefined ? undefined : get(hostPath, "path")
    }
    const hostMounts = mounts
      .map((m) => ({ at: get(m, "mountPath"), from: hostPathOf(m), ro: get(m, "readOnly") }))
      .filter((m) => m.from !== undefined)
    expect(hostMounts).toEqual([
      { at: "/host/proc", from: "/proc", ro: true },
      { at: "/host/sys", from: "/sys", ro: true },
      // monitor.stateDir (issue 13): the counters outlive the pod.
      { at: "/var/lib/joulemon", from: "/var/lib/joulemon", ro: undefined }
    ])
    const writable = mounts.filter((m) => get(m, "readOnly") !== true).map((m) => get(m, "name"))
    expect(writable).toEqual(["state"])
    for (const m of mounts) expect(get(m, "subPath")).toBeUndefined()
  })

  it("runs with the config file, Kubernetes on and the node name from the downward API; probes its health endpoints", () => {
    expect(get(container, "args")).toEqual([
      "--config.file=/etc/joulemon/config.yaml",
      "--kube.enable",
      "--kube.node-name=$(NODE_NAME)"
    ])
    expect(list(get(container, "env"))).toContainEqual({
      name: "NODE_NAME",
      valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } }
    })
    const configMount = list(get(container, "volumeMounts")).find((m) => get(m, "name") === "config")
    expect(get(configMount, "mountPath")).toBe("/etc/joulemon")
    const configVolume = list(get(podSpec, "volumes")).find((v) => get(v, "name") === "config")
    expect(get(configVolume, "configMap", "name")).toBe(get(byKind("ConfigMap"), "metadata", "name"))
    expect(get(container, "ports")).toEqual([{ name: "http", containerPort: 28282, protocol: "TCP" }])
    expect(get(container, "livenessProbe", "httpGet")).toEqual({ path: "/healthz", port: "http" })
    expect(get(container, "readinessProbe", "httpGet")).toEqual({ path: "/readyz", port: "http" })
    for (const kind of ["requests", "limits"]) {
      expect(get(container, "resources", kind, "cpu"), kind).toMatch(/^\d+m$/)
      expect(get(container, "resources", kind, "memory"), kind).toMatch(/^\d+Mi$/)
    }
    expect(get(podSpec, "serviceAccountName")).toBe(get(byKind("ServiceAccount"), "metadata", "name"))
  })

  it("RBAC: get on nodes and nodes/pods, list/watch on pods, never nodes/proxy, bound to joulemon's service account", () => {
    const role = byKind("ClusterRole")
    const rules = list(role["rules"]).map((r) => ({
      apiGroups: get(r, "apiGroups"),
      resources: [...list(get(r, "resources"))].sort(),
      verbs: [...list(get(r, "verbs"))].sort()
    }))
    expect(rules).toEqual([
      { apiGroups: [""], resources: ["nodes"], verbs: ["get"] },
      { apiGroups: [""], resources: ["nodes/pods"], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }
    ])
    const binding = byKind("ClusterRoleBinding")
    expect(get(binding, "roleRef")).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: get(role, "metadata", "name")
    })
    expect(get(binding, "subjects")).toEqual([{
      kind: "ServiceAccount",
      name: get(byKind("ServiceAccount"), "metadata", "name"),
      namespace: NAMESPACE
    }])
    expect(get(byKind("ServiceAccount"), "automountServiceAccountToken")).toBe(true)
  })

  it("the Service selects the DaemonSet's pods and the ServiceMonitor scrapes its http port", () => {
    const podLabels = get(daemonSet, "spec", "template", "metadata", "labels")
    const service = byKind("Service")
    const selector = get(service, "spec", "selector")
    expect(isObject(selector) && isObject(podLabels) && Object.entries(selector).every(([k, v]) => podLabels[k] === v))
      .toBe(true)
    expect(get(service, "spec", "ports")).toEqual([{ name: "http", port: 28282, targetPort: "http", protocol: "TCP" }])
    const monitor = byKind("ServiceMonitor")
    const serviceLabels = get(service, "metadata", "labels")
    const wanted = get(monitor, "spec", "selector", "matchLabels")
    expect(
      isObject(wanted) && isObject(serviceLabels) && Object.entries(wanted).every(([k, v]) => serviceLabels[k] === v)
    ).toBe(true)
    expect(get(monitor, "spec", "endpoints", 0, "port")).toBe("http")
    expect(get(monitor, "spec", "endpoints", 0, "path")).toBe("/metrics")
  })

  describe("optional/", () => {
    const optional = new URL("optional/", deployDir)
    const docsOf = (file: string): ReadonlyArray<Json> =>
      parseAllDocuments(fs.readFileSync(new URL(file, optional), "utf8")).map((d) => {
        expect(d.errors).toEqual([])
        const doc: unknown = d.toJS()
        if (!isObject(doc)) throw new Error(`optional/${file}: a document is not a mapping`)
        return doc
      })

    it("is not applied by the kustomization", () => {
      const kustomization = documents.find((d) => d.file === "kustomization.yaml")?.doc
      expect(JSON.stringify(kustomization)).not.toContain("optional")
    })

    it("rbac-kubelet-legacy.yaml adds only get on nodes/proxy, for the same service account", () => {
      const legacy = docsOf("rbac-kubelet-legacy.yaml")
      const role = legacy.find((d) => d["kind"] === "ClusterRole")
      const binding = legacy.find((d) => d["kind"] === "ClusterRoleBinding")
      expect(get(role, "rules")).toEqual([{ apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] }])
      expect(get(binding, "roleRef", "name")).toBe(get(role, "metadata", "name"))
      expect(get(binding, "subjects")).toEqual(get(byKind("ClusterRoleBinding"), "subjects"))
    })

    it("seccomp-localhost.yaml points the DaemonSet's container at the shipped profile", () => {
      const [patch] = docsOf("seccomp-localhost.yaml")
      expect(get(patch, "kind")).toBe("DaemonSet")
      expect(get(patch, "metadata", "name")).toBe(get(daemonSet, "metadata", "name"))
      const patched = get(patch, "spec", "template", "spec", "containers", 0)
      expect(get(patched, "name")).toBe(get(container, "name"))
      const profile = get(patched, "securityContext", "seccompProfile")
      expect(get(profile, "type")).toBe("Localhost")
      // The kubelet resolves localhostProfile under its seccomp directory; the file shipped is
      // the same name under optional/seccomp/.
      expect(fs.existsSync(new URL(`seccomp/${String(get(profile, "localhostProfile")).split("/").pop()}`, optional)))
        .toBe(true)
    })

    it("the seccomp profile is an allow-list that fails refused calls with EPERM and leaves out the dangerous ones", () => {
      const profile: unknown = JSON.parse(fs.readFileSync(new URL("seccomp/joulemon.json", optional), "utf8"))
      expect(get(profile, "defaultAction")).toBe("SCMP_ACT_ERRNO")
      expect(get(profile, "defaultErrnoRet")).toBe(1)
      const rules = list(get(profile, "syscalls"))
      const unconditional = new Set(
        rules.filter((r) => get(r, "action") === "SCMP_ACT_ALLOW" && get(r, "args") === undefined)
          .flatMap((r) => list(get(r, "names")).map(String))
      )
      for (const call of ["read", "openat", "execve", "epoll_wait", "futex", "mmap"]) {
        expect(unconditional.has(call), call).toBe(true)
      }
      // What uid 0 with SYS_PTRACE and hostPID could otherwise do to the host's processes, and
      // what the runtime's default profile forbids too.
      for (
        const call of [
          "ptrace",
          "process_vm_readv",
          "process_vm_writev",
          "mount",
          "bpf",
          "kexec_load",
          "init_module",
          "unshare",
          "setns",
          "clone",
          "socket",
          "personality",
          "io_uring_setup"
        ]
      ) {
        expect(unconditional.has(call), call).toBe(false)
      }
      // clone only without namespace flags, socket only for the unit's address families.
      const conditioned = (name: string) => rules.filter((r) => list(get(r, "names")).includes(name))
      expect(conditioned("clone").map((r) => get(r, "args"))).toEqual([[
        { index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }
      ]])
      expect(new Set(conditioned("socket").map((r) => get(r, "args", 0, "value")))).toEqual(new Set([1, 2, 10]))
      expect(conditioned("clone3").map((r) => get(r, "errnoRet"))).toEqual([38])
    })
  })

  describe("the ConfigMap's config.yaml", () => {
    const configText = String(get(byKind("ConfigMap"), "data", "config.yaml"))
    const configPath = String(list(get(container, "args"))[0]).replace("--config.file=", "")
    /** The DaemonSet's flags as the CLI maps them (the test above pins the args to exactly these). */
    const daemonSetFlags: FlagOverrides = { kubeEnable: true, kubeNodeName: "worker-1" }

    const writeConfig = Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, path.basename(configPath))
      fs.writeFileSync(file, configText)
      // Stand-ins for the mounted host /sys and /proc: readable, non-empty directories.
      for (const d of ["sys", "proc"]) {
        fs.mkdirSync(path.join(dir, d))
        fs.writeFileSync(path.join(dir, d, "entry"), "")
      }
      return { dir, file }
    })

    it.scoped("passes joulemon's loader and validation with the DaemonSet's flags, with no unknown keys", () =>
      Effect.gen(function*() {
        const { dir, file } = yield* writeConfig
        const { config, warnings } = yield* loadConfig(file, {
          ...daemonSetFlags,
          hostSysfs: path.join(dir, "sys"),
          hostProcfs: path.join(dir, "proc")
        })
        expect(warnings).toEqual([])
        expect(config.kube.enabled).toBe(true)
        expect(config.kube.nodeName).toBe("worker-1")
        expect(config.kube.podInformer.mode).toBe("kubelet")
        expect(Duration.toSeconds(config.kube.podInformer.pollInterval)).toBe(15)
        expect(config.exporter.prometheus.metricsLevel).toEqual(["node", "process", "container", "vm", "pod"])
        expect(config.web.listenAddresses).toEqual([":28282"])
        // The DaemonSet's hostPath volume `state` is mounted there.
        expect(config.monitor.stateDir).toBe("/var/lib/joulemon")
      }))

    it.scoped("on its own it only needs host paths that exist (here they do not: /host/sys and /host/proc are the pod's mounts)", () =>
      Effect.gen(function*() {
        const { file } = yield* writeConfig
        const error = yield* Effect.flip(loadConfig(file, daemonSetFlags))
        expect(error.errors).toHaveLength(2)
        expect(error.errors.some((e) => e.startsWith("host.sysfs: invalid sysfs path: /host/sys"))).toBe(true)
        expect(error.errors.some((e) => e.startsWith("host.procfs: invalid procfs path: /host/proc"))).toBe(true)
      }))

    it("names the host paths the DaemonSet mounts and the port it exposes", () => {
      const doc = parseAllDocuments(configText)[0]?.toJS() as unknown
      expect(get(doc, "host")).toEqual({ sysfs: "/host/sys", procfs: "/host/proc" })
      const port = String(list(get(doc, "web", "listenAddresses"))[0]).split(":").pop()
      expect(Number(port)).toBe(get(container, "ports", 0, "containerPort"))
    })
  })
})

describe("Containerfile", () => {
  const text = fs.readFileSync(new URL("Containerfile", root), "utf8")
  const pkg = JSON.parse(fs.readFileSync(new URL("package.json", root), "utf8")) as {
    scripts: Record<string, string>
    engines: Record<string, string>
  }

  it("builds with CI's steps (npm ci runs the prepare build) and runs what `npm start` runs, on Node 20", () => {
    expect(pkg.scripts["prepare"]).toBe(pkg.scripts["build"])
    expect(text).toMatch(/^RUN npm ci\b/m)
    expect(text).toContain("COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./")
    // The build's second half, the bundle, reads this script.
    expect(pkg.scripts["build"]).toContain("node scripts/bundle.mjs")
    expect(text).toContain("COPY scripts/bundle.mjs ./scripts/")
    expect(text).toMatch(/^FROM docker\.io\/library\/node:20[-\w]* AS build$/m)
    expect(text).toMatch(/^FROM gcr\.io\/distroless\/nodejs20-debian12$/m)
    // `node <flags> dist/main.js` in package.json ⇔ the same flags in the image's entrypoint.
    const start = (pkg.scripts["start"] ?? "").split(" ")
    expect(start[0]).toBe("node")
    expect(start.at(-1)).toBe("dist/main.js")
    const entrypoint = ["/nodejs/bin/node", ...start.slice(1, -1), "/app/dist/main.js"]
    expect(text).toContain(`ENTRYPOINT ${JSON.stringify(entrypoint).replace(/","/g, "\", \"")}`)
    expect(text).toContain("EXPOSE 28282")
  })

  it("the DaemonSet runs that image", () => {
    expect(get(container, "image")).toBe("ghcr.io/joulemon/joulemon:0.1.0")
    expect(JSON.parse(fs.readFileSync(new URL("package.json", root), "utf8")).version).toBe("0.1.0")
  })
})
