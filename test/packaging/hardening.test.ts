import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { readFileSync } from "node:fs"
import {
  compareHardening,
  HARDENING_KEYS,
  hardeningOf,
  OPERATIONAL_KEYS,
  parseHardeningNix,
  parseUnit,
  type Settings,
  settingsFromNixJson,
  UnitSyntaxError
} from "../../scripts/nix/unit-hardening.mjs"

const UNIT_PATH = "packaging/systemd/joulemon.service"
const NIX_PATH = "nix/hardening.nix"
const unitText = readFileSync(UNIT_PATH, "utf8")
const nixText = readFileSync(NIX_PATH, "utf8")
const plain = hardeningOf(parseUnit(unitText, UNIT_PATH), UNIT_PATH)
const nixos = parseHardeningNix(nixText, NIX_PATH)

describe("the NixOS module and the plain unit", () => {
  it("carry the same hardening settings, line for line", () => {
    expect(compareHardening(nixos, plain, NIX_PATH, UNIT_PATH)).toEqual([])
    expect(nixos.size).toBeGreaterThan(20)
  })

  it("the module applies hardening.nix last, so nothing in it can loosen the sandbox", () => {
    const moduleText = readFileSync("nix/module.nix", "utf8")
    expect(moduleText).toMatch(/^\s*hardening = import \.\/hardening\.nix;$/m)
    // serviceConfig = { <operational keys> } // hardening;
    const block = /serviceConfig = \{([\s\S]*?)\n {6}\}\s*\/\/ hardening;/.exec(moduleText)?.[1]
    expect(block).toBeDefined()
    const keys = [...(block ?? "").matchAll(/^ {8}([A-Za-z]+) =/gm)].map((m) => m[1] ?? "")
    expect(keys).toEqual(["Type", "ExecStart", "StateDirectory", "Restart", "RestartSec"])
    for (const key of keys) expect(OPERATIONAL_KEYS.has(key)).toBe(true)
  })
})

describe("the sandbox (issue 6)", () => {
  const value = (key: string) => plain.get(key)

  it("runs as a dynamic user with exactly the two capabilities the privileged reads need", () => {
    expect(value("DynamicUser")).toEqual(["true"])
    expect(value("User")).toBeUndefined()
    expect(value("CapabilityBoundingSet")).toEqual(["CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"])
    expect(value("AmbientCapabilities")).toEqual(["CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"])
    expect(value("PrivateUsers")).toEqual(["false"])
  })

  it("has every setting the issue asks for", () => {
    expect(value("ProtectSystem")).toEqual(["strict"])
    expect(value("SystemCallFilter")?.[0]).toBe("@system-service")
    expect(value("RestrictAddressFamilies")).toEqual(["AF_INET", "AF_INET6", "AF_UNIX"])
    for (
      const key of [
        "ProtectHome",
        "PrivateTmp",
        "NoNewPrivileges",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "LockPersonality"
      ]
    ) {
      expect([key, value(key)]).toEqual([key, ["true"]])
    }
  })

  it("keeps the two exceptions explicit and documents them in the unit", () => {
    expect(value("MemoryDenyWriteExecute")).toEqual(["false"])
    expect(value("ProtectProc")).toEqual(["default"])
    const commentBefore = (directive: string) => {
      const lines = unitText.split("\n")
      const at = lines.findIndex((line) => line.startsWith(`${directive}=`))
      return lines[at - 1] ?? ""
    }
    expect(commentBefore("MemoryDenyWriteExecute")).toMatch(/^# .*JIT/)
    expect(commentBefore("ProtectProc")).toMatch(/^# .*ProtectProc=invisible.*hide the processes/)
  })
})

describe("parseUnit", () => {
  it("reads sections, repeated keys in order, comments and continued lines", () => {
    const unit = parseUnit(
      [
        "# comment",
        "[Unit]",
        "Description=x",
        "",
        "[Service]",
        "; other comment",
        "A=1",
        "A = 2",
        "B=first \\",
        "  second",
        "ExecStart=/bin/true"
      ].join("\n")
    )
    expect(unit.get("Unit")?.get("Description")).toEqual(["x"])
    expect(unit.get("Service")?.get("A")).toEqual(["1", "2"])
    expect(unit.get("Service")?.get("B")).toEqual(["first second"])
  })

  it("names the file and line of a malformed line", () => {
    expect(() => parseUnit("[Service]\nnot a setting", "x.service")).toThrow(
      "x.service:2: expected Key=Value or [Section]"
    )
    expect(() => parseUnit("Key=value", "x.service")).toThrow("x.service:1: setting before any [Section]")
  })
})

describe("hardeningOf", () => {
  it("normalises systemd's boolean spellings and keeps only hardening keys", () => {
    const settings = hardeningOf(
      parseUnit(
        "[Service]\nExecStart=/bin/x\nProtectHome=yes\nPrivateTmp=on\nNoNewPrivileges=false\nUMask=0077\nX-Nix=1"
      )
    )
    expect([...settings]).toEqual([
      ["ProtectHome", ["true"]],
      ["PrivateTmp", ["true"]],
      ["NoNewPrivileges", ["false"]],
      ["UMask", ["0077"]]
    ])
  })

  it("refuses a [Service] key it does not know, so no new directive escapes the comparison", () => {
    expect(() => hardeningOf(parseUnit("[Service]\nPrivateBPF=yes"), "u.service")).toThrow(
      /u\.service: \[Service\] PrivateBPF= is not classified/
    )
    expect(() => hardeningOf(parseUnit("[Unit]\nDescription=x"), "u.service")).toThrow(
      "u.service: no [Service] section"
    )
  })

  it("classifies no key twice", () => {
    expect([...HARDENING_KEYS].filter((key) => OPERATIONAL_KEYS.has(key))).toEqual([])
  })
})

describe("compareHardening", () => {
  const settings = (entries: ReadonlyArray<readonly [string, ReadonlyArray<string>]>): Settings => new Map(entries)

  it("reports a missing setting, a different value and a different list order", () => {
    const left = settings([["ProtectHome", ["true"]], ["SystemCallFilter", ["@system-service", "~@privileged"]], [
      "UMask",
      ["0077"]
    ]])
    const right = settings([["ProtectHome", ["read-only"]], ["SystemCallFilter", ["~@privileged", "@system-service"]]])
    expect(compareHardening(left, right, "nix", "unit")).toEqual([
      "ProtectHome: nix has \"true\", unit has \"read-only\"",
      "SystemCallFilter: nix has \"@system-service\", \"~@privileged\", unit has \"~@privileged\", \"@system-service\"",
      "UMask: nix has \"0077\", unit has (not set)"
    ])
  })

  it("finds a unit equal to the Nix file it was rendered from, and any single change to it (property)", () => {
    const keys = [...HARDENING_KEYS]
    const word = FastCheck.stringMatching(/^[A-Za-z0-9@~_.:-]{1,12}$/).filter((w) =>
      !["yes", "no", "on", "off", "true", "false"].includes(w)
    )
    const nixValue = FastCheck.oneof(
      FastCheck.boolean(),
      word,
      FastCheck.array(word, { minLength: 1, maxLength: 4 })
    )
    const attrs = FastCheck.uniqueArray(FastCheck.tuple(FastCheck.constantFrom(...keys), nixValue), {
      minLength: 1,
      maxLength: 12,
      selector: ([key]) => key
    })
    const renderNix = (as: ReadonlyArray<readonly [string, boolean | string | ReadonlyArray<string>]>) =>
      `{\n${
        as
          .map(([key, v]) =>
            `  ${key} = ${
              typeof v === "boolean"
                ? String(v)
                : typeof v === "string"
                ? JSON.stringify(v)
                : `[ ${v.map((x) => JSON.stringify(x)).join(" ")} ]`
            };`
          )
          .join("\n")
      }\n}\n`
    const renderUnit = (as: ReadonlyArray<readonly [string, boolean | string | ReadonlyArray<string>]>) =>
      `[Service]\nExecStart=/bin/joulemon\n${
        as
          .flatMap(([key, v]) => (typeof v === "boolean"
            ? [`${key}=${v ? "yes" : "no"}`]
            : typeof v === "string"
            ? [`${key}=${v}`]
            : v.map((x) => `${key}=${x}`))
          )
          .join("\n")
      }\n`
    FastCheck.assert(
      FastCheck.property(attrs, FastCheck.nat(), (as, pick) => {
        const fromNix = parseHardeningNix(renderNix(as))
        expect(compareHardening(fromNix, hardeningOf(parseUnit(renderUnit(as))), "nix", "unit")).toEqual([])
        const i = pick % as.length
        const changed = as.map(([key, v], j) =>
          j === i
            ? ([key, typeof v === "boolean" ? !v : typeof v === "string" ? `${v}x` : [...v, "extra"]] as const)
            : ([key, v] as const)
        )
        const differences = compareHardening(fromNix, hardeningOf(parseUnit(renderUnit(changed))), "nix", "unit")
        expect(differences).toHaveLength(1)
        expect(differences[0]).toMatch(new RegExp(`^${as[i]?.[0] ?? "?"}: `))
      }),
      { seed: 42, numRuns: 300 }
    )
  })
})

describe("parseHardeningNix", () => {
  it("renders values as NixOS renders serviceConfig", () => {
    const settings = parseHardeningNix(
      "# comment\n{\n  /* block */ DynamicUser = true;\n  UMask = \"0077\";\n  Nice = -5;\n  SystemCallFilter = [ \"@system-service\" \"~@privileged\" ];\n  Escaped = \"a\\\"b\";\n}\n"
    )
    expect([...settings]).toEqual([
      ["DynamicUser", ["true"]],
      ["UMask", ["0077"]],
      ["Nice", ["-5"]],
      ["SystemCallFilter", ["@system-service", "~@privileged"]],
      ["Escaped", ["a\"b"]]
    ])
  })

  it("agrees with Nix's own evaluation of the same file (nix-instantiate --eval --json shape)", () => {
    const nixJson: unknown = {
      DynamicUser: true,
      Nice: -5,
      SystemCallFilter: ["@system-service", "~@privileged"],
      UMask: "0077"
    }
    const parsed = parseHardeningNix(
      "{ UMask = \"0077\"; Nice = -5; DynamicUser = true; SystemCallFilter = [ \"@system-service\" \"~@privileged\" ]; }"
    )
    expect(compareHardening(parsed, settingsFromNixJson(nixJson), "parser", "nix")).toEqual([])
  })

  it("rejects what only Nix could evaluate, with file, line and column", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["{\n  A = \"${x}\";\n}", "h.nix:2:8: interpolation is not supported here"],
      ["let a = 1; in { }", "h.nix:1:1: expected \"{\""],
      ["{ A = { B = 1; }; }", "h.nix:1:7: expected a string, true, false, an integer or a list of strings"],
      ["{ A = [ true ]; }", "h.nix:1:9: lists may only hold strings"],
      ["{ A = \"x\"; A = \"y\"; }", "h.nix:1:12: attribute A is defined twice"],
      ["{ A = \"x\" }", "h.nix:1:11: expected \";\""],
      ["{ } // { }", "h.nix:1:5: unexpected text after the attribute set"]
    ]
    for (const [text, message] of cases) {
      expect(() => parseHardeningNix(text, "h.nix")).toThrow(UnitSyntaxError)
      expect(() => parseHardeningNix(text, "h.nix")).toThrow(message)
    }
  })
})
