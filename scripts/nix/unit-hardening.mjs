#!/usr/bin/env node
// @ts-check
/**
 * Compares the sandbox ("hardening") settings of two systemd units: the NixOS module's
 * (nix/hardening.nix, or the unit NixOS renders from it) and packaging/systemd/joulemon.service.
 * The two must carry the same settings, line for line, so a change to one without the other
 * fails test/packaging/hardening.test.ts, scripts/check-packaging and the flake's checks.
 *
 * Plain JavaScript (JSDoc-checked, declarations in the .d.mts beside it) so the flake's check
 * can run it with node alone, before and without any npm install.
 *
 * Usage:
 *   unit-hardening.mjs compare A.service B.service      both are unit files (INI)
 *   unit-hardening.mjs compare-nix HARDENING.nix B.service
 *   unit-hardening.mjs nix-json HARDENING.nix           the attribute set as this parser reads it
 *   nix-instantiate --eval --strict --json HARDENING.nix | unit-hardening.mjs agree HARDENING.nix
 *                                                       check this parser against Nix itself
 */
import { readFileSync, realpathSync } from "node:fs"
import { argv, exit, stderr, stdout } from "node:process"
import { fileURLToPath } from "node:url"

export class UnitSyntaxError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = "UnitSyntaxError"
  }
}

/**
 * [Service] directives that confine the process (systemd.exec(5): users and groups,
 * capabilities, security, sandboxing, system call filtering; systemd.resource-control(5): IP and
 * device access). These must be equal in both units.
 * @type {ReadonlySet<string>}
 */
export const HARDENING_KEYS = new Set([
  "User", "Group", "DynamicUser", "SupplementaryGroups", "PAMName",
  "CapabilityBoundingSet", "AmbientCapabilities", "NoNewPrivileges", "SecureBits",
  "ProtectSystem", "ProtectHome", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths",
  "ExecPaths", "NoExecPaths", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths",
  "RootDirectory", "RootImage", "MountAPIVFS", "PrivateMounts", "MountFlags",
  "PrivateTmp", "PrivateDevices", "PrivateNetwork", "NetworkNamespacePath", "PrivateIPC",
  "IPCNamespacePath", "PrivateUsers", "PrivatePIDs", "ProtectHostname", "ProtectClock",
  "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
  "ProtectProc", "ProcSubset", "RestrictAddressFamilies", "RestrictFileSystems",
  "RestrictNetworkInterfaces", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
  "LockPersonality", "Personality", "MemoryDenyWriteExecute", "RemoveIPC", "KeyringMode",
  "SystemCallFilter", "SystemCallErrorNumber", "SystemCallArchitectures", "SystemCallLog",
  "UMask", "DevicePolicy", "DeviceAllow", "IPAddressAllow", "IPAddressDeny", "SocketBindAllow",
  "SocketBindDeny", "SELinuxContext", "AppArmorProfile", "SmackProcessLabel"
])

/**
 * [Service] directives that legitimately differ between the two units (how the program is
 * started, restarted and fed its environment). NixOS adds Environment= and X-* lines of its own.
 * @type {ReadonlySet<string>}
 */
export const OPERATIONAL_KEYS = new Set([
  "Type", "ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost",
  "Restart", "RestartSec", "RestartSteps", "RestartMaxDelaySec", "TimeoutSec", "TimeoutStartSec",
  "TimeoutStopSec", "Environment", "EnvironmentFile", "WorkingDirectory", "StandardOutput",
  "StandardError", "SyslogIdentifier", "LimitNOFILE", "RuntimeDirectory", "StateDirectory",
  "CacheDirectory", "LogsDirectory", "ConfigurationDirectory", "LoadCredential", "SetCredential",
  "Nice", "CPUWeight", "MemoryMax", "MemoryHigh", "TasksMax", "WatchdogSec", "NotifyAccess",
  "KillMode", "KillSignal", "SendSIGKILL", "SuccessExitStatus"
])

/** @typedef {ReadonlyMap<string, ReadonlyArray<string>>} Settings  key → values, one per line, in order */

/**
 * Sections of a unit file (systemd.syntax(7)): `[Section]`, `Key=Value` lines, whole-line
 * comments (# or ;), and lines continued by a trailing backslash.
 * @param {string} text @param {string} [source]
 * @returns {ReadonlyMap<string, Settings>}
 */
export const parseUnit = (text, source = "unit") => {
  /** @type {Map<string, Map<string, Array<string>>>} */
  const sections = new Map()
  /** @type {Map<string, Array<string>> | undefined} */
  let current
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? "").trim()
    const lineNumber = i + 1
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue
    while (line.endsWith("\\") && i + 1 < lines.length) {
      i++
      const next = (lines[i] ?? "").trim()
      line = `${line.slice(0, -1).trimEnd()} ${next.startsWith("#") || next.startsWith(";") ? "" : next}`.trim()
    }
    const header = /^\[([^\]]+)\]$/.exec(line)
    if (header !== null) {
      const name = header[1] ?? ""
      current = sections.get(name) ?? new Map()
      sections.set(name, current)
      continue
    }
    const eq = line.indexOf("=")
    if (eq <= 0) throw new UnitSyntaxError(`${source}:${lineNumber}: expected Key=Value or [Section], got ${JSON.stringify(line)}`)
    if (current === undefined) throw new UnitSyntaxError(`${source}:${lineNumber}: setting before any [Section]`)
    const key = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    const values = current.get(key) ?? []
    values.push(value)
    current.set(key, values)
  }
  return sections
}

const TRUE_WORDS = new Set(["yes", "true", "on"])
const FALSE_WORDS = new Set(["no", "false", "off"])

/** systemd reads yes/true/on and no/false/off alike; NixOS writes true/false. @param {string} value */
const normalize = (value) => (TRUE_WORDS.has(value) ? "true" : FALSE_WORDS.has(value) ? "false" : value)

/**
 * The hardening settings of a unit's [Service] section, values normalised.
 * Throws on a key that is neither hardening nor operational, so a new directive gets classified
 * (and compared) instead of slipping through.
 * @param {ReadonlyMap<string, Settings>} unit @param {string} [source]
 * @returns {Settings}
 */
export const hardeningOf = (unit, source = "unit") => {
  const service = unit.get("Service")
  if (service === undefined) throw new UnitSyntaxError(`${source}: no [Service] section`)
  /** @type {Map<string, ReadonlyArray<string>>} */
  const hardening = new Map()
  for (const [key, values] of service) {
    if (HARDENING_KEYS.has(key)) hardening.set(key, values.map(normalize))
    else if (!OPERATIONAL_KEYS.has(key) && !key.startsWith("X-")) {
      throw new UnitSyntaxError(
        `${source}: [Service] ${key}= is not classified; add it to HARDENING_KEYS or OPERATIONAL_KEYS in scripts/nix/unit-hardening.mjs`
      )
    }
  }
  return hardening
}

/**
 * Every difference between two sets of hardening settings, as readable lines (empty when equal).
 * @param {Settings} left @param {Settings} right @param {string} leftName @param {string} rightName
 * @returns {ReadonlyArray<string>}
 */
export const compareHardening = (left, right, leftName, rightName) => {
  const keys = [...new Set([...left.keys(), ...right.keys()])].sort()
  /** @type {Array<string>} */
  const differences = []
  /** @param {ReadonlyArray<string> | undefined} values */
  const show = (values) => (values === undefined ? "(not set)" : values.map((v) => `${JSON.stringify(v)}`).join(", "))
  for (const key of keys) {
    const a = left.get(key)
    const b = right.get(key)
    if (a === undefined || b === undefined || a.length !== b.length || a.some((v, i) => v !== b[i])) {
      differences.push(`${key}: ${leftName} has ${show(a)}, ${rightName} has ${show(b)}`)
    }
  }
  return differences
}

/**
 * The settings of nix/hardening.nix, rendered as NixOS renders serviceConfig (true/false, one
 * line per list element). Reads a flat attribute set whose values are strings, booleans,
 * integers or lists of strings; anything else (let, with, interpolation, paths, nesting) is an
 * error, which keeps the file simple enough to be checked without Nix.
 * @param {string} text @param {string} [source]
 * @returns {Settings}
 */
export const parseHardeningNix = (text, source = "hardening.nix") => {
  let pos = 0
  /** @param {string} message */
  const fail = (message) => {
    const before = text.slice(0, pos)
    const line = before.split("\n").length
    const column = pos - before.lastIndexOf("\n")
    return new UnitSyntaxError(`${source}:${line}:${column}: ${message}`)
  }
  const skip = () => {
    for (;;) {
      const ws = /^\s+/.exec(text.slice(pos))
      if (ws !== null) pos += ws[0].length
      if (text.startsWith("#", pos)) {
        const end = text.indexOf("\n", pos)
        pos = end === -1 ? text.length : end + 1
      } else if (text.startsWith("/*", pos)) {
        const end = text.indexOf("*/", pos + 2)
        if (end === -1) throw fail("unterminated /* comment")
        pos = end + 2
      } else return
    }
  }
  /** @param {string} token */
  const expect = (token) => {
    skip()
    if (!text.startsWith(token, pos)) throw fail(`expected ${JSON.stringify(token)}`)
    pos += token.length
  }
  const string = () => {
    expect('"')
    let out = ""
    for (;;) {
      const c = text[pos]
      if (c === undefined) throw fail("unterminated string")
      if (c === '"') {
        pos++
        return out
      }
      if (c === "$" && text[pos + 1] === "{") throw fail("interpolation is not supported here")
      if (c === "\\") {
        const e = text[pos + 1]
        if (e === undefined) throw fail("unterminated string")
        out += e === "n" ? "\n" : e === "t" ? "\t" : e === "r" ? "\r" : e
        pos += 2
      } else {
        out += c
        pos++
      }
    }
  }
  /** @returns {ReadonlyArray<string>} */
  const value = () => {
    skip()
    if (text[pos] === '"') return [string()]
    if (text[pos] === "[") {
      pos++
      /** @type {Array<string>} */
      const items = []
      for (;;) {
        skip()
        if (text[pos] === "]") {
          pos++
          return items
        }
        if (text[pos] !== '"') throw fail("lists may only hold strings")
        items.push(string())
      }
    }
    const word = /^(true|false|-?[0-9]+)(?![A-Za-z0-9_'-])/.exec(text.slice(pos))
    if (word === null) throw fail("expected a string, true, false, an integer or a list of strings")
    pos += (word[1] ?? "").length
    return [word[1] ?? ""]
  }

  /** @type {Map<string, ReadonlyArray<string>>} */
  const settings = new Map()
  expect("{")
  for (;;) {
    skip()
    if (text[pos] === "}") {
      pos++
      break
    }
    const name = /^[A-Za-z_][A-Za-z0-9_'-]*/.exec(text.slice(pos))
    if (name === null) throw fail("expected an attribute name or }")
    const key = name[0]
    if (settings.has(key)) throw fail(`attribute ${key} is defined twice`)
    pos += key.length
    expect("=")
    settings.set(key, value())
    expect(";")
  }
  skip()
  if (pos !== text.length) throw fail("unexpected text after the attribute set")
  return settings
}

/**
 * Nix's own evaluation of the file (`nix-instantiate --eval --strict --json`), rendered the way
 * parseHardeningNix renders it, to check that parser against Nix.
 * @param {unknown} json @returns {Settings}
 */
export const settingsFromNixJson = (json) => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new UnitSyntaxError("Nix evaluated the file to something other than an attribute set")
  }
  /** @param {unknown} v @returns {string} */
  const scalar = (v) => {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v)
    throw new UnitSyntaxError(`unsupported value ${JSON.stringify(v)}`)
  }
  return new Map(
    Object.entries(json)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, v]) => [key, Array.isArray(v) ? v.map(scalar) : [scalar(v)]])
  )
}

/** @param {Settings} settings */
export const settingsToJson = (settings) => JSON.stringify(Object.fromEntries(settings))

/** @param {string} path */
const read = (path) => readFileSync(path, "utf8")

/** @param {ReadonlyArray<string>} args */
const main = (args) => {
  const [command, a, b] = args
  if (command === "nix-json" && a !== undefined) {
    stdout.write(`${settingsToJson(parseHardeningNix(read(a), a))}\n`)
    return 0
  }
  if (command === "agree" && a !== undefined) {
    const ours = parseHardeningNix(read(a), a)
    const nix = settingsFromNixJson(JSON.parse(readFileSync(0, "utf8")))
    const differences = compareHardening(ours, nix, "unit-hardening.mjs", "nix-instantiate")
    for (const d of differences) stderr.write(`${d}\n`)
    if (differences.length > 0) return 1
    stdout.write(`the parser reads ${a} as Nix does (${ours.size} settings)\n`)
    return 0
  }
  if ((command === "compare" || command === "compare-nix") && a !== undefined && b !== undefined) {
    const left = command === "compare" ? hardeningOf(parseUnit(read(a), a), a) : parseHardeningNix(read(a), a)
    const right = hardeningOf(parseUnit(read(b), b), b)
    const differences = compareHardening(left, right, a, b)
    for (const d of differences) stderr.write(`${d}\n`)
    if (differences.length > 0) return 1
    stdout.write(`same hardening (${left.size} settings): ${a} and ${b}\n`)
    return 0
  }
  stderr.write(
    "usage: unit-hardening.mjs compare A.service B.service | compare-nix HARDENING.nix B.service | nix-json HARDENING.nix | agree HARDENING.nix < nix-json\n"
  )
  return 2
}

if (argv[1] !== undefined && realpathSync(argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  try {
    exit(main(argv.slice(2)))
  } catch (error) {
    stderr.write(`unit-hardening: ${error instanceof Error ? error.message : String(error)}\n`)
    exit(1)
  }
}
