import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { packageRootFrom, siblingEntry } from "../src/installLayout.js"

const dirs: Array<string> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

/** `files` relative to a new temporary directory, with their contents. */
const layout = (files: Readonly<Record<string, string>>): string => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-layout-"))
  dirs.push(root)
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    fs.writeFileSync(path.join(root, file), text)
  }
  return root
}

const url = (file: string) => pathToFileURL(file).href

describe("siblingEntry", () => {
  it("names the worker beside a source module as .ts, beside a bundle chunk as .js", () => {
    expect(siblingEntry(url("/opt/j/src/collector/workerCollector.ts"), "worker")).toBe(
      "/opt/j/src/collector/worker.ts"
    )
    expect(siblingEntry(url("/opt/j/dist/chunk-ABCD1234.js"), "worker")).toBe("/opt/j/dist/worker.js")
    expect(siblingEntry(url("/opt/j/dist/main.js"), "bcryptWorker")).toBe("/opt/j/dist/bcryptWorker.js")
  })
})

describe("packageRootFrom", () => {
  it("finds joulemon's package.json from a chunk, a source module and a nested source module", () => {
    const root = layout({ "package.json": JSON.stringify({ name: "joulemon", version: "1.2.3" }) })
    expect(packageRootFrom(url(path.join(root, "dist", "chunk-X.js")))).toBe(root)
    expect(packageRootFrom(url(path.join(root, "src", "buildInfo.ts")))).toBe(root)
    expect(packageRootFrom(url(path.join(root, "src", "cli", "version.ts")))).toBe(root)
  })

  it("passes over another package's package.json and a broken one on the way up", () => {
    const root = layout({
      "package.json": JSON.stringify({ name: "joulemon" }),
      "dist/package.json": JSON.stringify({ type: "module" }),
      "dist/sub/package.json": "{ not json"
    })
    expect(packageRootFrom(url(path.join(root, "dist", "sub", "chunk-X.js")))).toBe(root)
  })

  it("without joulemon's package.json anywhere above: the module directory's parent", () => {
    const root = layout({ "elsewhere/package.json": JSON.stringify({ name: "joulemon" }) })
    expect(packageRootFrom(url(path.join(root, "dist", "chunk-X.js")))).toBe(root)
  })
})
