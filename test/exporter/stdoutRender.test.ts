import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import {
  formatJoules,
  formatWatts,
  renderTopContainers,
  renderTopProcesses,
  renderView,
  renderZoneTable,
  zoneNotes
} from "../../src/exporter/stdout/render.js"
import { printable, renderTable } from "../../src/exporter/stdout/table.js"
import type { ContainerWorkload, NodeZone, ProcessWorkload, Snapshot } from "../../src/monitor/snapshot.js"

const J = (joules: number): bigint => BigInt(Math.round(joules * 1_000_000))

const zone = (name: string, watts: number, joules: number, extra: Partial<NodeZone> = {}): NodeZone => ({
  name,
  index: 0,
  path: `/sys/class/powercap/intel-rapl/${name}`,
  estimated: false,
  energyTotal: J(joules),
  activeEnergyTotal: 0n,
  idleEnergyTotal: J(joules),
  unattributedEnergyTotal: 0n,
  watts,
  activeWatts: 0,
  idleWatts: watts,
  intervalEnergy: 0n,
  intervalActiveEnergy: 0n,
  intervalSeconds: 1,
  status: "ok",
  error: "",
  wraps: 0,
  glitches: 0,
  readErrors: 0,
  resets: 0,
  ...extra
})

const process = (
  pid: number,
  watts: ReadonlyArray<number>,
  joules: number,
  extra: Partial<ProcessWorkload> = {}
): ProcessWorkload => ({
  key: `${pid}:1`,
  pid,
  comm: `p${pid}`,
  exe: `/usr/bin/p${pid}`,
  type: "regular",
  containerId: "",
  vmId: "",
  cpuSeconds: 1,
  watts,
  energy: watts.map(() => J(joules)),
  ...extra
})

const container = (id: string, name: string, watts: ReadonlyArray<number>, joules: number): ContainerWorkload => ({
  id,
  name,
  runtime: "containerd",
  podId: "",
  cpuSeconds: 1,
  watts,
  energy: watts.map(() => J(joules))
})

const snapshot = (over: Partial<Snapshot> = {}): Snapshot => ({
  timestamp: Date.parse("2025-05-15T01:01:01Z"),
  sequence: 3,
  usageRatio: 0.25,
  zones: [zone("package", 12, 12300), zone("dram", 2, 2340)],
  primaryZone: 0,
  processes: { running: [], terminated: [] },
  containers: { running: [], terminated: [] },
  vms: { running: [], terminated: [] },
  pods: { running: [], terminated: [] },
  selfEnergy: [],
  scan: { processesScanned: 0, processesVanished: 0, unreadableFiles: 0 },
  ...over
})

describe("Kepler's node-zone table", () => {
  it("matches Kepler's stdout exporter test byte for byte (package 12 W / 12300 J, dram 2 W / 2340 J)", () => {
    const expected = `┌─────────┬─────────────┬────────────────┐
│  ZONE   │ POWER ( W ) │ ABSOLUTE ( J ) │
├─────────┼─────────────┼────────────────┤
│    dram │       2.00W │       2340.00J │
│ package │      12.00W │      12300.00J │
└─────────┴─────────────┴────────────────┘
`
    expect(renderZoneTable([zone("package", 12, 12300), zone("dram", 2, 2340)])).toBe(expected)
  })

  it("widens columns for long names and values, keeping every line the same width", () => {
    const table = renderZoneTable([zone("psys", 1234.567, 98765432.1), zone("core", 0.004, 0.005)])
    expect(table).toBe(`┌──────┬─────────────┬────────────────┐
│ ZONE │ POWER ( W ) │ ABSOLUTE ( J ) │
├──────┼─────────────┼────────────────┤
│ core │       0.00W │          0.00J │
│ psys │    1234.57W │   98765432.10J │
└──────┴─────────────┴────────────────┘
`)
  })
})

describe("formatJoules", () => {
  it("rounds the exact µJ value half to even", () => {
    expect(formatJoules(0n)).toBe("0.00J")
    expect(formatJoules(4_999n)).toBe("0.00J")
    expect(formatJoules(5_000n)).toBe("0.00J")
    expect(formatJoules(5_001n)).toBe("0.01J")
    expect(formatJoules(15_000n)).toBe("0.02J")
    expect(formatJoules(125_000n)).toBe("0.12J")
    expect(formatJoules(12_300_000_000n)).toBe("12300.00J")
    expect(formatJoules(2n ** 70n)).toBe("1180591620717411.30J")
  })

  it("is within half a hundredth of the exact value", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.bigInt({ min: 0n, max: 2n ** 80n }), (uj) => {
        const text = formatJoules(uj)
        expect(text).toMatch(/^\d+\.\d\dJ$/)
        const hundredths = BigInt(text.slice(0, -1).replace(".", ""))
        const error = hundredths * 10_000n - uj
        expect(error >= -5_000n && error <= 5_000n).toBe(true)
      }),
      { seed: 42, numRuns: 500 }
    )
  })

  it("formatWatts is %.2fW", () => {
    expect(formatWatts(12)).toBe("12.00W")
    expect(formatWatts(0.456)).toBe("0.46W")
    expect(formatWatts(Number.NaN)).toBe("0.00W")
  })
})

describe("tables", () => {
  it("escape sequences in names cannot reach the terminal", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ unit: "binary" }), FastCheck.string({ unit: "binary" }), (comm, name) => {
        const s = snapshot({
          processes: { running: [process(1, [1, 0], 1, { comm })], terminated: [] },
          containers: { running: [container("c".repeat(64), name, [1, 0], 1)], terminated: [] }
        })
        expect(renderView(s)).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
      }),
      { seed: 42, numRuns: 300 }
    )
    expect(printable("\u001b[2Jevil\u0007")).toBe("?[2Jevil?")
  })

  it("every line of a table has the same width, whatever the cells", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(FastCheck.array(FastCheck.string({ maxLength: 20 }), { minLength: 3, maxLength: 3 }), {
          maxLength: 10
        }),
        (rows) => {
          const lines = renderTable(
            [
              { header: "A", align: "left" },
              { header: "BEE", align: "right" },
              { header: "C C", align: "left" }
            ],
            rows
          )
            .trimEnd()
            .split("\n")
          const widths = new Set(lines.map((l) => [...l].length))
          expect(widths.size).toBe(1)
        }
      ),
      { seed: 42, numRuns: 200 }
    )
  })
})

describe("top workloads", () => {
  const running = [
    process(10, [5, 1], 50),
    process(20, [7, 2], 70, { comm: "postgres", containerId: "abcdef0123456789".repeat(4) }),
    process(30, [5, 1], 60),
    process(40, [0, 0], 0)
  ]

  it("lists the processes with the most primary-zone power first (ties: more energy, then pid), N at most", () => {
    const text = renderTopProcesses(snapshot({ processes: { running, terminated: [] } }), 3)
    expect(text).toBe(`Top 3 of 4 running processes by package power
┌─────┬──────────┬──────────────┬───────────────┬────────────┬───────────────┐
│ PID │   COMM   │  CONTAINER   │ PACKAGE ( W ) │ DRAM ( W ) │ PACKAGE ( J ) │
├─────┼──────────┼──────────────┼───────────────┼────────────┼───────────────┤
│  20 │ postgres │ abcdef012345 │         7.00W │      2.00W │        70.00J │
│  30 │ p30      │              │         5.00W │      1.00W │        60.00J │
│  10 │ p10      │              │         5.00W │      1.00W │        50.00J │
└─────┴──────────┴──────────────┴───────────────┴────────────┴───────────────┘
`)
  })

  it("ranks by the primary zone, whichever it is", () => {
    const text = renderTopProcesses(snapshot({ processes: { running, terminated: [] }, primaryZone: 1 }), 1)
    expect(text).toContain("Top 1 of 4 running processes by dram power")
    expect(text).toContain("│  20 │")
    expect(text).toContain("DRAM ( J )")
  })

  it("lists containers the same way and says so when there are none", () => {
    const s = snapshot({
      containers: {
        running: [container("b".repeat(64), "web", [3, 1], 30), container("a".repeat(64), "db", [9, 1], 10)],
        terminated: []
      }
    })
    expect(renderTopContainers(s, 10)).toBe(`Top 2 of 2 running containers by package power
┌──────────────┬──────┬────────────┬───────────────┬────────────┬───────────────┐
│  CONTAINER   │ NAME │  RUNTIME   │ PACKAGE ( W ) │ DRAM ( W ) │ PACKAGE ( J ) │
├──────────────┼──────┼────────────┼───────────────┼────────────┼───────────────┤
│ aaaaaaaaaaaa │ db   │ containerd │         9.00W │      1.00W │        10.00J │
│ bbbbbbbbbbbb │ web  │ containerd │         3.00W │      1.00W │        30.00J │
└──────────────┴──────┴────────────┴───────────────┴────────────┴───────────────┘
`)
    expect(renderTopContainers(snapshot(), 10)).toBe("No running containers.\n")
    expect(renderTopProcesses(snapshot(), 10)).toBe("No running processes.\n")
  })
})

describe("the view", () => {
  it("is a status line, Kepler's table with its notes, then the top processes and containers", () => {
    const s = snapshot({ processes: { running: [process(7, [1.5, 0.25], 3)], terminated: [] } })
    expect(renderView(s, { top: 10 })).toBe(`joulemon · 2025-05-15T01:01:01.000Z · refresh #3 · CPU 25.0 % busy
┌─────────┬─────────────┬────────────────┐
│  ZONE   │ POWER ( W ) │ ABSOLUTE ( J ) │
├─────────┼─────────────┼────────────────┤
│    dram │       2.00W │       2340.00J │
│ package │      12.00W │      12300.00J │
└─────────┴─────────────┴────────────────┘

Top 1 of 1 running processes by package power
┌─────┬──────┬───────────┬───────────────┬────────────┬───────────────┐
│ PID │ COMM │ CONTAINER │ PACKAGE ( W ) │ DRAM ( W ) │ PACKAGE ( J ) │
├─────┼──────┼───────────┼───────────────┼────────────┼───────────────┤
│   7 │ p7   │           │         1.50W │      0.25W │         3.00J │
└─────┴──────┴───────────┴───────────────┴────────────┴───────────────┘

No running containers.
`)
  })

  it("notes estimated zones, the baseline reading and zones that did not book", () => {
    expect(
      zoneNotes(
        snapshot({
          zones: [
            zone("package", 0, 0, { status: "baseline", estimated: true }),
            zone("dram", 0, 0, { status: "baseline", estimated: true })
          ]
        })
      )
    ).toEqual([
      "estimated, not measured: package, dram",
      "first reading: power shows from the next interval"
    ])
    expect(
      zoneNotes(
        snapshot({
          zones: [
            zone("package", 1, 1, { status: "glitch" }),
            zone("dram", 0, 1, { status: "read-error", error: "EIO" }),
            zone("core", 1, 1, { status: "reset" })
          ]
        })
      )
    ).toEqual([
      "core: counter went backwards, interval dropped",
      "dram: read failed (EIO); booked at the next good read",
      "package: implausible jump, interval dropped"
    ])
    expect(zoneNotes(snapshot())).toEqual([])
  })
})
