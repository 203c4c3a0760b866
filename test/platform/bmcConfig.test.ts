import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { bmcForNode, displayEndpoint, loadBmcFile, parseBmcFile } from "../../src/platform/bmcConfig.js"
import { makeTree } from "../device/tempTree.js"

const FILE = "/etc/joulemon/bmc.yaml"
const SECRET = "s3cr3t-Pa55w0rd"

const errorOf = (text: string): string =>
  Either.match(parseBmcFile(FILE, text), { onLeft: (e) => e.message, onRight: () => "(no error)" })

describe("the Redfish BMC file", () => {
  it("decodes nodes and BMCs, with joulemon's defaults (insecure false, session auth)", () => {
    const parsed = parseBmcFile(
      FILE,
      [
        "nodes:",
        "  worker-1: bmc-1",
        "  worker-2: bmc-2",
        "bmcs:",
        "  bmc-1:",
        "    endpoint: ' https://10.0.0.1 '",
        "    username: admin",
        "    password: 123456",
        "    insecure: true",
        "  bmc-2:",
        "    endpoint: http://10.0.0.2:8000",
        "    auth: basic",
        "    extra: ignored"
      ].join("\n")
    )
    const file = Either.getOrThrow(parsed)
    expect([...file.nodes]).toEqual([
      ["worker-1", "bmc-1"],
      ["worker-2", "bmc-2"]
    ])
    expect(file.bmcs.get("bmc-1")).toEqual({
      endpoint: "https://10.0.0.1",
      username: "admin",
      password: "123456",
      insecure: true,
      auth: "session"
    })
    expect(file.bmcs.get("bmc-2")).toEqual({
      endpoint: "http://10.0.0.2:8000",
      username: "",
      password: "",
      insecure: false,
      auth: "basic"
    })
  })

  // kepler-behaviour.md §2.8, Kepler's words, every problem at once, prefixed with the file.
  const table: ReadonlyArray<readonly [string, string]> = [
    ["", "invalid BMC configuration: no nodes configured; no BMCs configured"],
    ["nodes: {n: b}\n", "invalid BMC configuration: no BMCs configured"],
    ["bmcs: {b: {endpoint: 'https://x'}}\n", "invalid BMC configuration: no nodes configured"],
    [
      "nodes: {n1: b, n2: missing}\nbmcs: {b: {endpoint: 'https://x'}}\n",
      "invalid BMC configuration: node n2 references non-existent BMC missing"
    ],
    [
      "nodes: {n: b}\nbmcs: {b: {username: u, password: p}}\n",
      "invalid BMC configuration: BMC b configuration invalid: endpoint is required"
    ],
    [
      "nodes: {n: b}\nbmcs: {b: {endpoint: 'https://x', username: u}}\n",
      "invalid BMC configuration: BMC b configuration invalid: password is required when username is provided"
    ],
    [
      "nodes: {n: b}\nbmcs: {b: {endpoint: 'https://x', password: '  p '}}\n",
      "invalid BMC configuration: BMC b configuration invalid: username is required when password is provided"
    ],
    [
      "nodes: {n: b}\nbmcs: {b: {endpoint: 'ftp://x'}}\n",
      "invalid BMC configuration: BMC b configuration invalid: endpoint must be an absolute http:// or https:// URL"
    ],
    [
      "nodes: {n: a}\nbmcs: {a: {}, b: {endpoint: 'https://x', username: u}}\n",
      "invalid BMC configuration: BMC a configuration invalid: endpoint is required; " +
      "BMC b configuration invalid: password is required when username is provided"
    ],
    [
      "nodes: [n]\nbmcs: {b: {endpoint: 'https://x', insecure: maybe, auth: digest}}\n",
      "failed to parse BMC config file: nodes: expected a mapping of node name to BMC id; " +
      "bmcs.b.insecure: expected true or false; bmcs.b.auth: expected \"session\" or \"basic\""
    ],
    ["- just\n- a list\n", "failed to parse BMC config file: expected a mapping with nodes and bmcs"],
    ["nodes:\n  n: b\n bmcs: {\n", "failed to parse BMC config file: YAML error BAD_INDENT at line 3, column 1"]
  ]
  for (const [text, reason] of table) {
    it(`reports: ${reason}`, () => {
      expect(errorOf(text)).toBe(`Redfish BMC file ${FILE}: ${reason}`)
    })
  }

  it("never quotes a credential, wherever it is misplaced", () => {
    const texts = [
      // A password of the wrong type.
      `nodes: {n: b}\nbmcs: {b: {endpoint: 'https://x', username: u, password: {value: ${SECRET}}}}\n`,
      // Credentials in the endpoint URL.
      `nodes: {n: b}\nbmcs: {b: {endpoint: 'https://admin:${SECRET}@10.0.0.1'}}\n`,
      // "user:password@host" without a scheme parses as a URL with scheme "user:".
      `nodes: {n: b}\nbmcs: {b: {endpoint: 'admin:${SECRET}@10.0.0.1'}}\n`,
      // A syntax error on the password's line (the yaml library would quote the line).
      `nodes: {n: b}\nbmcs:\n  b:\n    endpoint: https://x\n    password: "${SECRET}\n   username: [\n`,
      // A whole BMC given as a string.
      `nodes: {n: b}\nbmcs: {b: "https://admin:${SECRET}@x"}\n`
    ]
    for (const text of texts) {
      const message = errorOf(text)
      expect(message).not.toBe("(no error)")
      expect(message).not.toContain(SECRET)
    }
  })

  it("selects the node's BMC, or says which nodes exist", () => {
    const file = Either.getOrThrow(parseBmcFile(FILE, "nodes: {w1: b, w2: b}\nbmcs: {b: {endpoint: 'https://x'}}\n"))
    expect(Either.map(bmcForNode(file, "w2", FILE), (r) => r.bmcId)).toEqual(Either.right("b"))
    expect(Either.mapLeft(bmcForNode(file, "w3", FILE), (e) => e.message)).toEqual(
      Either.left(
        `Redfish BMC file ${FILE}: failed to get BMC configuration for node w3: node w3 not found in BMC configuration (nodes: w1, w2)`
      )
    )
  })

  it.scoped("loadBmcFile reads the file and names it when it cannot", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({ "bmc.yaml": "nodes: {n: b}\nbmcs: {b: {endpoint: 'https://x'}}\n" })
      const file = yield* loadBmcFile(path.join(root, "bmc.yaml"))
      expect(file.bmcs.get("b")?.endpoint).toBe("https://x")
      const missing = path.join(root, "nope.yaml")
      const error = yield* Effect.flip(loadBmcFile(missing))
      expect(error.message).toBe(
        `Redfish BMC file ${missing}: failed to read BMC config file: ENOENT: no such file or directory, open '${missing}'`
      )
    }))

  it.scoped("loadBmcFile refuses a file over 1 MiB from its size", () =>
    Effect.gen(function*() {
      const root = yield* makeTree({ "bmc.yaml": "" })
      const file = path.join(root, "bmc.yaml")
      fs.truncateSync(file, 2 * 1024 * 1024)
      const error = yield* Effect.flip(loadBmcFile(file))
      expect(error.message).toBe(
        `Redfish BMC file ${file}: failed to read BMC config file: the file is 2097152 bytes, over the 1 MiB (1048576 bytes) limit for config files; refused without reading it`
      )
    }))

  it("displayEndpoint keeps origin and path only", () => {
    expect(displayEndpoint("https://admin:pw@10.0.0.1:8443/redfish?x=1")).toBe("https://10.0.0.1:8443/redfish")
    expect(displayEndpoint("https://10.0.0.1")).toBe("https://10.0.0.1")
    expect(displayEndpoint("not a url")).toBe("(invalid endpoint)")
  })
})
