import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import {
  listLines,
  localizeLock,
  LockfileError,
  lockFingerprint,
  lockTarballs,
  matchesIntegrity,
  tarballFileName
} from "../../scripts/nix/npm-lock-tarballs.mjs"

const sri = (algorithm: string, bytes: string) => `${algorithm}-${createHash(algorithm).update(bytes).digest("base64")}`

const lock = (packages: Record<string, unknown>) => ({
  name: "demo",
  version: "1.0.0",
  lockfileVersion: 3,
  requires: true,
  packages: { "": { name: "demo", version: "1.0.0" }, ...packages }
})

const entry = (version: string, content = version) => ({ version, integrity: sri("sha512", content) })

describe("tarballFileName", () => {
  it("names files as npm pack does", () => {
    expect(tarballFileName("yaml", "2.9.1")).toBe("yaml-2.9.1.tgz")
    expect(tarballFileName("@effect/cli", "0.77.2")).toBe("effect-cli-0.77.2.tgz")
  })

  it("replaces characters that a file: spec or a store path would need escaped", () => {
    expect(tarballFileName("semver", "1.0.0+build.1")).toBe("semver-1.0.0_build.1.tgz")
  })
})

describe("lockTarballs", () => {
  it("lists each name@version once, sorted by file, with every lockfile key it serves", () => {
    const tarballs = lockTarballs(
      lock({
        "node_modules/yaml": entry("2.9.1"),
        "node_modules/@effect/cli": entry("0.77.2"),
        "node_modules/a/node_modules/yaml": entry("2.9.1"),
        "node_modules/b/node_modules/yaml": entry("1.10.2")
      })
    )
    expect(tarballs.map((t) => [t.name, t.version, t.file, t.keys])).toEqual([
      ["@effect/cli", "0.77.2", "effect-cli-0.77.2.tgz", ["node_modules/@effect/cli"]],
      ["yaml", "1.10.2", "yaml-1.10.2.tgz", ["node_modules/b/node_modules/yaml"]],
      ["yaml", "2.9.1", "yaml-2.9.1.tgz", ["node_modules/yaml", "node_modules/a/node_modules/yaml"]]
    ])
  })

  it("fetches an npm: alias by the package it points to", () => {
    const [tarball] = lockTarballs(lock({ "node_modules/old-yaml": { name: "yaml", ...entry("1.10.2") } }))
    expect(tarball?.name).toBe("yaml")
    expect(tarball?.keys).toEqual(["node_modules/old-yaml"])
  })

  it("skips the root, workspace sources and links, and bundled dependencies", () => {
    const tarballs = lockTarballs(
      lock({
        "packages/tool": { name: "tool", version: "0.0.1" },
        "node_modules/tool": { resolved: "packages/tool", link: true },
        "node_modules/host/node_modules/inside": { version: "1.0.0", inBundle: true },
        "node_modules/host": entry("3.0.0")
      })
    )
    expect(tarballs.map((t) => t.name)).toEqual(["host"])
  })

  it("rejects what cannot be fetched by name and version, naming the entry", () => {
    const cases: ReadonlyArray<readonly [unknown, RegExp]> = [
      [{ lockfileVersion: 1, dependencies: {} }, /lockfileVersion 1 has no "packages" section/],
      [
        lock({ "node_modules/x": { version: "1.0.0", integrity: "sha1-x", resolved: "git+ssh://host/x.git#abc" } }),
        /packages\["node_modules\/x"\] comes from "git\+ssh/
      ],
      [lock({ "node_modules/x": { version: "1.0.0" } }), /packages\["node_modules\/x"\] has no "integrity"/],
      [lock({ "node_modules/x": { integrity: "sha512-AAAA" } }), /packages\["node_modules\/x"\] has no "version"/],
      [
        lock({ "node_modules/x": entry("1.0.0", "one"), "node_modules/y/node_modules/x": entry("1.0.0", "two") }),
        /x@1\.0\.0 has two integrities/
      ],
      [
        lock({ "node_modules/@a/b-c": entry("1.0.0"), "node_modules/a-b-c": entry("1.0.0") }),
        /@a\/b-c@1\.0\.0 and a-b-c@1\.0\.0 would both be stored as a-b-c-1\.0\.0\.tgz/
      ]
    ]
    for (const [input, message] of cases) {
      expect(() => lockTarballs(input)).toThrow(LockfileError)
      expect(() => lockTarballs(input)).toThrow(message)
    }
  })

  it("accepts this project's own lockfile", () => {
    const ours: unknown = JSON.parse(readFileSync("package-lock.json", "utf8"))
    const tarballs = lockTarballs(ours)
    expect(tarballs.length).toBeGreaterThan(0)
    expect(tarballs.some((t) => t.name === "effect")).toBe(true)
  })
})

describe("localizeLock", () => {
  it("points every entry served by a tarball at its file, and changes nothing else", () => {
    const input = lock({
      "node_modules/yaml": entry("2.9.1"),
      "node_modules/a/node_modules/yaml": entry("2.9.1"),
      "node_modules/tool": { resolved: "packages/tool", link: true }
    })
    const before = JSON.stringify(input)
    const localized = localizeLock(input, "/nix/store/abc-tarballs")
    expect(JSON.stringify(input)).toBe(before)
    expect(localized["packages"]).toEqual({
      "": { name: "demo", version: "1.0.0" },
      "node_modules/yaml": { ...entry("2.9.1"), resolved: "file:/nix/store/abc-tarballs/yaml-2.9.1.tgz" },
      "node_modules/a/node_modules/yaml": {
        ...entry("2.9.1"),
        resolved: "file:/nix/store/abc-tarballs/yaml-2.9.1.tgz"
      },
      "node_modules/tool": { resolved: "packages/tool", link: true }
    })
  })
})

describe("matchesIntegrity", () => {
  const bytes = new TextEncoder().encode("tarball bytes")

  it("accepts the right digest and rejects any other", () => {
    expect(matchesIntegrity(bytes, sri("sha512", "tarball bytes"))).toBe(true)
    expect(matchesIntegrity(bytes, sri("sha512", "other bytes"))).toBe(false)
  })

  it("judges by the strongest algorithm present, as npm's ssri does", () => {
    const strongWrong = `${sri("sha1", "tarball bytes")} ${sri("sha512", "other bytes")}`
    expect(matchesIntegrity(bytes, strongWrong)).toBe(false)
    expect(matchesIntegrity(bytes, sri("sha1", "tarball bytes"))).toBe(true)
  })

  it("rejects integrity strings with no algorithm it knows", () => {
    expect(matchesIntegrity(bytes, "md5-abc")).toBe(false)
    expect(matchesIntegrity(bytes, "")).toBe(false)
  })
})

describe("lockFingerprint", () => {
  it("is the sha256 of the list lines", () => {
    const tarballs = lockTarballs(lock({ "node_modules/yaml": entry("2.9.1") }))
    expect(listLines(tarballs)).toBe(`yaml@2.9.1\tyaml-2.9.1.tgz\t${sri("sha512", "2.9.1")}\n`)
    expect(lockFingerprint(tarballs)).toBe(sri("sha256", listLines(tarballs)))
  })

  it("changes with any name, version or integrity, and not with lockfile order", () => {
    const spec = FastCheck.uniqueArray(
      FastCheck.record({
        name: FastCheck.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
        version: FastCheck.stringMatching(/^[0-9]\.[0-9]{1,2}\.[0-9]$/),
        content: FastCheck.string({ minLength: 1, maxLength: 8 })
      }),
      { minLength: 1, maxLength: 8, selector: (p) => p.name }
    )
    FastCheck.assert(
      FastCheck.property(spec, FastCheck.nat(), (packages, pick) => {
        const toLock = (ps: typeof packages) =>
          lock(Object.fromEntries(ps.map((p) => [`node_modules/${p.name}`, entry(p.version, p.content)])))
        const original = lockFingerprint(lockTarballs(toLock(packages)))
        expect(lockFingerprint(lockTarballs(toLock([...packages].reverse())))).toBe(original)
        const i = pick % packages.length
        const bumped = packages.map((p, j) => (j === i ? { ...p, version: `${p.version}1` } : p))
        const tampered = packages.map((p, j) => (j === i ? { ...p, content: `${p.content}!` } : p))
        expect(lockFingerprint(lockTarballs(toLock(bumped)))).not.toBe(original)
        expect(lockFingerprint(lockTarballs(toLock(tampered)))).not.toBe(original)
      }),
      { seed: 42, numRuns: 200 }
    )
  })
})

describe("nix/npm-deps.json", () => {
  // The fixed-output hash is recomputed by scripts/nix-deps-hash (network, nix-hash); this
  // offline check catches the common mistake: a dependency change without `--write`.
  it("was computed for the current package-lock.json (run scripts/nix-deps-hash --write if not)", () => {
    const recorded: unknown = JSON.parse(readFileSync("nix/npm-deps.json", "utf8"))
    const current = lockTarballs(JSON.parse(readFileSync("package-lock.json", "utf8")))
    expect(recorded).toMatchObject({ lockFingerprint: lockFingerprint(current), tarballs: current.length })
    expect(recorded).toHaveProperty("hash", expect.stringMatching(/^sha256-[A-Za-z0-9+/]{43}=$/))
  })
})
