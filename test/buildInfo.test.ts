import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { readBuildInfo } from "../src/buildInfo.js"

const checkout = (files: Record<string, string>): string => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-build-"))
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true })
    fs.writeFileSync(path.join(root, name), text)
  }
  return root
}
const sha = "0123456789abcdef0123456789abcdef01234567"

describe("readBuildInfo", () => {
  it("resolves a branch through a loose ref", () => {
    const root = checkout({ ".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": `${sha}\n` })
    expect(readBuildInfo("1.0.0", root, {})).toMatchObject({
      version: "1.0.0",
      revision: "0123456789ab",
      branch: "main"
    })
  })
  it("resolves a branch through packed refs", () => {
    const root = checkout({
      ".git/HEAD": "ref: refs/heads/release/1\n",
      ".git/packed-refs": `# pack-refs\n${sha} refs/heads/release/1\n`
    })
    expect(readBuildInfo("1.0.0", root, {})).toMatchObject({ revision: "0123456789ab", branch: "release/1" })
  })
  it("reports a detached HEAD", () => {
    expect(readBuildInfo("1.0.0", checkout({ ".git/HEAD": `${sha}\n` }), {})).toMatchObject({
      revision: "0123456789ab",
      branch: "HEAD"
    })
  })
  it("prefers the packaging's environment and says unknown without either", () => {
    const root = checkout({ ".git/HEAD": `${sha}\n` })
    expect(readBuildInfo("1.0.0", root, { JOULEMON_REVISION: "nixrev", JOULEMON_BRANCH: "nixos" })).toMatchObject({
      revision: "nixrev",
      branch: "nixos"
    })
    expect(readBuildInfo("1.0.0", checkout({}), {})).toMatchObject({ revision: "unknown", branch: "unknown" })
  })
})
