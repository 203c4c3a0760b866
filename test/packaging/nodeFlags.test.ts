/**
 * Every launcher runs node with src/nodeFlags.ts's flags: a launcher that drops one would run a
 * daemon with a different memory profile from the one the README measured, and nothing else
 * would notice.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { SHIPPED_NODE_FLAGS } from "../../src/nodeFlags.js"
import { ROOT } from "../support/binary.js"

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8")
const flags = SHIPPED_NODE_FLAGS.join(" ")

describe("the shipped node flags", () => {
  it("are flags this node accepts (an unknown one stops node with `bad option`)", () => {
    expect(SHIPPED_NODE_FLAGS.length).toBeGreaterThan(0)
    const run = spawnSync(process.execPath, [...SHIPPED_NODE_FLAGS, "-e", "0"], { encoding: "utf8" })
    expect(run.stderr).toBe("")
    expect(run.status).toBe(0)
    const bogus = spawnSync(process.execPath, ["--joulemon-no-such-flag", "-e", "0"], { encoding: "utf8" })
    expect(bogus.status).not.toBe(0)
  })

  it("`npm start` runs dist/main.js under them", () => {
    const pkg: unknown = JSON.parse(read("package.json"))
    const scripts = typeof pkg === "object" && pkg !== null && "scripts" in pkg ? pkg.scripts : undefined
    const start = typeof scripts === "object" && scripts !== null && "start" in scripts ? String(scripts.start) : ""
    expect(start).toBe(`node ${flags} dist/main.js`)
  })

  it("bin/joulemon's shebang passes them", () => {
    expect(read("bin/joulemon").split("\n")[0]).toBe(`#!/usr/bin/env -S node ${flags}`)
  })

  it("the image's entrypoint passes them", () => {
    expect(read("Containerfile")).toContain(
      `ENTRYPOINT ${
        JSON.stringify(["/nodejs/bin/node", ...SHIPPED_NODE_FLAGS, "/app/dist/main.js"]).replace(/","/g, "\", \"")
      }`
    )
  })

  it("the Nix wrapper passes them", () => {
    expect(read("nix/package.nix")).toContain(`--add-flags "${flags} $out/lib/node_modules/joulemon/bin/joulemon"`)
  })
})
