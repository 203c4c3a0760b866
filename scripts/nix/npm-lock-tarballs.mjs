#!/usr/bin/env node
// @ts-check
/**
 * The bridge between package-lock.json and the Nix build (nix/npm-deps.nix, nix/package.nix).
 *
 * Why this exists: the lockfile records no `resolved` addresses (the npm config sets
 * `omit-lockfile-registry-resolved`), and nixpkgs' fetchNpmDeps/importNpmLock skip entries
 * without one. So a fixed-output derivation fetches every entry by `name@version` through npm
 * itself (`npm pack` returns the registry's original tarball, whose sha512 is the lockfile's
 * `integrity`), and the build points each lockfile entry at its local tarball (`file:`), so
 * `npm ci --offline` installs with no network and re-checks every integrity.
 *
 * Plain JavaScript (type-checked with JSDoc, declarations in the .d.mts beside it) because it
 * runs before any dependency is installed: no tsx, no tsc, only the node that runs npm.
 *
 * Usage:
 *   npm-lock-tarballs.mjs list LOCKFILE            name@version<TAB>file<TAB>integrity per line
 *   npm-lock-tarballs.mjs fetch LOCKFILE OUTDIR    npm pack every entry into OUTDIR (and nothing else)
 *   npm-lock-tarballs.mjs localize LOCKFILE DIR    rewrite LOCKFILE in place: resolved = file:DIR/<file>
 *   npm-lock-tarballs.mjs fingerprint LOCKFILE     sha256 (SRI) of the `list` output
 */
import { spawnSync } from "node:child_process"
import { createHash, getHashes } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { argv, exit, stderr, stdout } from "node:process"
import { fileURLToPath } from "node:url"

/**
 * One tarball to fetch: `name` is the registry package (the alias target for `npm:` aliases),
 * `file` its name in the fetched directory, `keys` the lockfile entries installed from it.
 * @typedef {{
 *   readonly name: string,
 *   readonly version: string,
 *   readonly integrity: string,
 *   readonly file: string,
 *   readonly keys: ReadonlyArray<string>
 * }} LockTarball
 */

export class LockfileError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = "LockfileError"
  }
}

const NODE_MODULES = "node_modules/"

/** Strongest first: ssri picks the strongest algorithm it knows, so do we. */
const SRI_ALGORITHMS = ["sha512", "sha384", "sha256", "sha1"]

/** @param {unknown} value @returns {value is Record<string, unknown>} */
const isRecord = (value) => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The file name npm pack would choose (`@scope/name` → `scope-name-1.0.0.tgz`), restricted to
 * characters that survive a `file:` spec and a store path unescaped.
 * @param {string} name @param {string} version
 */
export const tarballFileName = (name, version) =>
  `${name.replace(/^@/, "").replace(/\//g, "-")}-${version}.tgz`.replace(/[^A-Za-z0-9._~-]/g, "_")

/**
 * Every tarball the lockfile needs, one per `name@version`, sorted by file name.
 * Skips the root, workspace links and their sources, and bundled dependencies (they ship inside
 * their parent's tarball). Rejects what a registry fetch by name and version cannot reproduce.
 * @param {unknown} lock parsed package-lock.json
 * @param {string} [source] file name for messages
 * @returns {ReadonlyArray<LockTarball>}
 */
export const lockTarballs = (lock, source = "package-lock.json") => {
  if (!isRecord(lock)) throw new LockfileError(`${source}: not a JSON object`)
  const lockfileVersion = lock["lockfileVersion"]
  if (typeof lockfileVersion !== "number" || lockfileVersion < 2) {
    throw new LockfileError(
      `${source}: lockfileVersion ${String(lockfileVersion)} has no "packages" section; run npm install with npm >= 7 to upgrade it`
    )
  }
  const packages = lock["packages"]
  if (!isRecord(packages)) throw new LockfileError(`${source}: "packages" is missing or not an object`)

  /** @type {Map<string, { name: string, version: string, integrity: string, file: string, keys: Array<string> }>} */
  const bySpec = new Map()
  /** @type {Map<string, string>} */
  const specByFile = new Map()
  for (const [key, entry] of Object.entries(packages)) {
    // "" is the project itself; keys outside node_modules are workspace sources (in the repo).
    if (key === "" || !key.includes(NODE_MODULES)) continue
    if (!isRecord(entry)) throw new LockfileError(`${source}: packages["${key}"] is not an object`)
    if (entry["link"] === true || entry["inBundle"] === true) continue
    const resolved = entry["resolved"]
    if (resolved !== undefined) {
      // With omit-lockfile-registry-resolved only non-registry sources keep `resolved`.
      throw new LockfileError(
        `${source}: packages["${key}"] comes from ${JSON.stringify(resolved)}; only registry packages (no "resolved") can be fetched by name and version for the Nix build`
      )
    }
    const version = entry["version"]
    const integrity = entry["integrity"]
    if (typeof version !== "string" || version === "") {
      throw new LockfileError(`${source}: packages["${key}"] has no "version"`)
    }
    if (typeof integrity !== "string" || integrity === "") {
      throw new LockfileError(
        `${source}: packages["${key}"] has no "integrity"; regenerate the lockfile with npm install`
      )
    }
    const alias = entry["name"]
    const name = typeof alias === "string" ? alias : key.slice(key.lastIndexOf(NODE_MODULES) + NODE_MODULES.length)
    const spec = `${name}@${version}`
    const known = bySpec.get(spec)
    if (known !== undefined) {
      if (known.integrity !== integrity) {
        throw new LockfileError(
          `${source}: ${spec} has two integrities: ${known.integrity} (${known.keys[0] ?? "?"}) and ${integrity} (${key})`
        )
      }
      known.keys.push(key)
      continue
    }
    const file = tarballFileName(name, version)
    const clash = specByFile.get(file)
    if (clash !== undefined) {
      throw new LockfileError(`${source}: ${clash} and ${spec} would both be stored as ${file}`)
    }
    specByFile.set(file, spec)
    bySpec.set(spec, { name, version, integrity, file, keys: [key] })
  }
  return [...bySpec.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
}

/** One line per tarball: the spec, the file it is stored as, and the integrity pinning its bytes. */
/** @param {ReadonlyArray<LockTarball>} tarballs */
export const listLines = (tarballs) => tarballs.map((t) => `${t.name}@${t.version}\t${t.file}\t${t.integrity}\n`).join("")

/**
 * The fetched directory is a function of exactly these lines (file names, and contents pinned by
 * integrity), so its hash is current as long as this fingerprint is: a cheap, offline staleness
 * check for nix/npm-deps.json.
 * @param {ReadonlyArray<LockTarball>} tarballs
 */
export const lockFingerprint = (tarballs) =>
  `sha256-${createHash("sha256").update(listLines(tarballs)).digest("base64")}`

/**
 * A copy of the lockfile whose registry entries resolve to `file:<dir>/<file>`, so npm installs
 * them from the fetched tarballs (verifying each against its unchanged `integrity`).
 * @param {unknown} lock @param {string} dir absolute directory holding the tarballs
 * @param {string} [source]
 * @returns {Record<string, unknown>}
 */
export const localizeLock = (lock, dir, source = "package-lock.json") => {
  const tarballs = lockTarballs(lock, source)
  /** @type {Record<string, unknown>} */
  const copy = JSON.parse(JSON.stringify(lock))
  const packages = copy["packages"]
  if (!isRecord(packages)) throw new LockfileError(`${source}: "packages" is missing or not an object`)
  for (const tarball of tarballs) {
    for (const key of tarball.keys) {
      const entry = packages[key]
      if (isRecord(entry)) entry["resolved"] = `file:${join(dir, tarball.file)}`
    }
  }
  return copy
}

/**
 * Whether `bytes` match the SRI string, judged by its strongest algorithm (as ssri does).
 * @param {Uint8Array} bytes @param {string} integrity
 */
export const matchesIntegrity = (bytes, integrity) => {
  const available = new Set(getHashes())
  const hashes = integrity
    .trim()
    .split(/\s+/)
    .map((token) => {
      const dash = token.indexOf("-")
      return { algorithm: token.slice(0, dash), digest: token.slice(dash + 1).split("?")[0] ?? "" }
    })
    .filter((h) => SRI_ALGORITHMS.includes(h.algorithm) && available.has(h.algorithm))
  const strongest = SRI_ALGORITHMS.find((algorithm) => hashes.some((h) => h.algorithm === algorithm))
  if (strongest === undefined) return false
  const actual = createHash(strongest).update(bytes).digest("base64")
  return hashes.some((h) => h.algorithm === strongest && h.digest === actual)
}

/**
 * Fetch every tarball with `npm pack name@version` into `outDir`, which then holds exactly the
 * listed files: the fixed output of nix/npm-deps.nix and the input of scripts/nix-deps-hash.
 * `--prefer-offline` lets a warm npm cache answer (the content is pinned by integrity anyway).
 * @param {ReadonlyArray<LockTarball>} tarballs @param {string} outDir
 */
export const fetchTarballs = (tarballs, outDir) => {
  const scratch = mkdtempSync(join(tmpdir(), "joulemon-npm-pack-"))
  try {
    const specs = tarballs.map((t) => `${t.name}@${t.version}`)
    // cwd = scratch: no project .npmrc or package.json may change what gets packed.
    const packed = spawnSync(
      "npm",
      ["pack", "--json", "--ignore-scripts", "--prefer-offline", "--pack-destination", scratch, ...specs],
      { cwd: scratch, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "inherit"] }
    )
    if (packed.error !== undefined) throw new LockfileError(`npm pack could not start: ${packed.error.message}`)
    if (packed.status !== 0) throw new LockfileError(`npm pack exited with ${String(packed.status)}`)
    /** @type {unknown} */
    const report = JSON.parse(packed.stdout)
    if (!Array.isArray(report) || report.length !== tarballs.length) {
      throw new LockfileError(`npm pack reported ${Array.isArray(report) ? report.length : "no"} tarballs, expected ${tarballs.length}`)
    }
    report.forEach((item, i) => {
      const tarball = tarballs[i]
      const packedFile = isRecord(item) ? item["filename"] : undefined
      if (tarball === undefined || typeof packedFile !== "string") {
        throw new LockfileError(`npm pack's report has no file name for entry ${i}`)
      }
      const from = join(scratch, packedFile)
      const bytes = readFileSync(from)
      if (!matchesIntegrity(bytes, tarball.integrity)) {
        throw new LockfileError(
          `${tarball.name}@${tarball.version}: the fetched tarball does not match the lockfile's integrity ${tarball.integrity}`
        )
      }
      renameSync(from, join(outDir, tarball.file))
    })
    const extra = readdirSync(scratch)
    if (extra.length > 0) throw new LockfileError(`npm pack left unexpected files: ${extra.join(", ")}`)
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

/** @param {string} path */
const readLock = (path) => /** @type {unknown} */ (JSON.parse(readFileSync(path, "utf8")))

/** @param {ReadonlyArray<string>} args */
const main = (args) => {
  const [command, lockPath, dir] = args
  if (command === "list" && lockPath !== undefined) {
    stdout.write(listLines(lockTarballs(readLock(lockPath), lockPath)))
  } else if (command === "fingerprint" && lockPath !== undefined) {
    stdout.write(`${lockFingerprint(lockTarballs(readLock(lockPath), lockPath))}\n`)
  } else if (command === "fetch" && lockPath !== undefined && dir !== undefined) {
    fetchTarballs(lockTarballs(readLock(lockPath), lockPath), resolve(dir))
  } else if (command === "localize" && lockPath !== undefined && dir !== undefined) {
    const localized = localizeLock(readLock(lockPath), resolve(dir), lockPath)
    writeFileSync(lockPath, `${JSON.stringify(localized, null, 2)}\n`)
  } else {
    stderr.write(
      "usage: npm-lock-tarballs.mjs list LOCKFILE | fingerprint LOCKFILE | fetch LOCKFILE OUTDIR | localize LOCKFILE DIR\n"
    )
    exit(2)
  }
}

if (argv[1] !== undefined && realpathSync(argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  try {
    main(argv.slice(2))
  } catch (error) {
    stderr.write(`npm-lock-tarballs: ${error instanceof Error ? error.message : String(error)}\n`)
    exit(1)
  }
}
