/**
 * The offline install recipe of the Nix package (scripts/nix/offline-install.sh), on a project
 * with one dependency whose tarball is made here, so no registry is involved: npm installs from
 * the tarball with no network, checks it against the lockfile's integrity, and fails rather than
 * reach for a registry when the lockfile does not cover a dependency. (scripts/check-packaging
 * runs the same recipe on joulemon itself, with the real tarballs.)
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { tarballFileName } from "../../scripts/nix/npm-lock-tarballs.mjs"

const repo = resolve(".")
const fixture = resolve("test/fixtures/packaging/tiny-dep")
const DEP = "joulemon-fixture-tiny-dep"

const run = (command: string, args: ReadonlyArray<string>, cwd: string) => {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

/** npm pack of a local directory: no registry involved. */
const pack = (dir: string, into: string) => {
  mkdirSync(into, { recursive: true })
  const packed = run("npm", ["pack", "--ignore-scripts", "--pack-destination", into, dir], into)
  expect(packed.status, packed.output).toBe(0)
  const [file] = readdirSync(into).filter((f) => f.endsWith(".tgz"))
  if (file === undefined) throw new Error(`npm pack wrote no tarball: ${packed.output}`)
  return join(into, file)
}

const sri512 = (path: string) => `sha512-${createHash("sha512").update(readFileSync(path)).digest("base64")}`

/** A project depending on the fixture, its lockfile as this repository writes them (no `resolved`). */
const setUp = () => {
  const root = mkdtempSync(join(tmpdir(), "joulemon-offline-install-"))
  const tarballs = join(root, "tarballs")
  mkdirSync(tarballs)
  const tarball = join(tarballs, tarballFileName(DEP, "1.0.0"))
  renameSync(pack(fixture, join(root, "packed")), tarball)
  const project = join(root, "project")
  mkdirSync(join(project, "scripts"), { recursive: true })
  cpSync(join(repo, "scripts/nix"), join(project, "scripts/nix"), { recursive: true })
  const manifest = { name: "demo", version: "1.0.0", private: true, dependencies: { [DEP]: "1.0.0" } }
  writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2))
  const lock = {
    name: "demo",
    version: "1.0.0",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "demo", version: "1.0.0", dependencies: { [DEP]: "1.0.0" } },
      [`node_modules/${DEP}`]: { version: "1.0.0", integrity: sri512(tarball), license: "Apache-2.0" }
    }
  }
  writeFileSync(join(project, "package-lock.json"), JSON.stringify(lock, null, 2))
  return { root, tarballs, tarball, project }
}

/** joulemon_install_deps exactly as nix/package.nix calls it, with an empty npm cache. */
const installDeps = (root: string, project: string, tarballs: string) =>
  run(
    "bash",
    [
      "-c",
      "set -e; source \"$1/scripts/nix/offline-install.sh\"; joulemon_npm_offline_env \"$2/npm-cache\"; joulemon_install_deps \"$3\" \"$4\"",
      "install-deps",
      repo,
      root,
      project,
      tarballs
    ],
    project
  )

describe("joulemon_install_deps", () => {
  it("installs from the tarballs with no registry and no cache", () => {
    const { root, tarballs, project } = setUp()
    try {
      const result = installDeps(root, project, tarballs)
      expect(result.status, result.output).toBe(0)
      expect(readFileSync(join(project, `node_modules/${DEP}/index.js`), "utf8")).toContain("answer = 42")
      // the lockfile now points at the tarball and still pins its integrity
      const lock: unknown = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8"))
      expect(lock).toMatchObject({
        packages: { [`node_modules/${DEP}`]: { resolved: `file:${join(tarballs, `${DEP}-1.0.0.tgz`)}` } }
      })
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it("refuses a tarball that does not match the lockfile's integrity", () => {
    const { root, tarballs, tarball, project } = setUp()
    try {
      const changed = join(root, "changed")
      cpSync(fixture, changed, { recursive: true })
      writeFileSync(join(changed, "index.js"), "export const answer = 41\n")
      renameSync(pack(changed, join(root, "packed-changed")), tarball)
      const result = installDeps(root, project, tarballs)
      expect(result.status).not.toBe(0)
      expect(result.output).toContain("EINTEGRITY")
      expect(existsSync(join(project, `node_modules/${DEP}/index.js`))).toBe(false)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it("fails, without reaching a registry, when package.json names a dependency the lockfile lacks", () => {
    const { root, tarballs, project } = setUp()
    try {
      const manifest = {
        name: "demo",
        version: "1.0.0",
        private: true,
        dependencies: { [DEP]: "1.0.0", "left-pad": "1.3.0" }
      }
      writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2))
      const result = installDeps(root, project, tarballs)
      expect(result.status).not.toBe(0)
      expect(result.output).toContain("ENOTCACHED")
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
