/**
 * A collection travels from the worker as a summary and its processes in parts (protocol.ts
 * CollectPart): splitting and joining again must give the same columns for every part size, and
 * a stream that lost or repeated a part must be refused rather than booked.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as Schema from "effect/Schema"
import { CollectPart, type CollectSummary, type ProcessColumns } from "../../src/collector/protocol.js"
import {
  collectionFromParts,
  collectionParts,
  containersFromColumns,
  containersToColumns,
  processesFromColumns
} from "../../src/collector/wire.js"

const summary: Omit<CollectSummary, "_tag" | "processCount"> = {
  samples: [{ _tag: "Read", reading: { _tag: "Energy", microjoules: 12n }, atNanos: 5n }],
  node: { first: false, activeTicks: 10, totalTicks: 40, usageRatio: 0.25, cpuCount: 4 },
  cpu: { activeTicks: 100, totalTicks: 400, cpuCount: 4 },
  containers: {
    id: ["c1", "c2"],
    name: ["web", "db"],
    runtime: Uint8Array.from([0, 4]),
    podId: ["", "pod-1"]
  },
  vms: [],
  terminated: { processes: ["7:70"], containers: [], vms: [] },
  stats: { processesScanned: 3, processesVanished: 0, unreadableFiles: 0 },
  cgroups: null,
  unreadable: [],
  skippedListed: [],
  scanSeconds: 0.01
}

const columnsOf = (n: number, salt: number): ProcessColumns => ({
  pid: Int32Array.from({ length: n }, (_, i) => i + 1),
  startTime: Float64Array.from({ length: n }, (_, i) => 100 + i * salt),
  cpuTicksTotal: Float64Array.from({ length: n }, (_, i) => i * 3 + salt),
  cpuTicksDelta: Float64Array.from({ length: n }, (_, i) => (i * salt) % 11),
  type: Uint8Array.from({ length: n }, (_, i) => (i + salt) % 3),
  firstSeen: Uint8Array.from({ length: n }, (_, i) => (i + salt) % 2),
  comm: Array.from({ length: n }, (_, i) => `p${i}-${salt}`),
  exe: Array.from({ length: n }, (_, i) => `/bin/p${i % 5}`),
  containerId: Array.from({ length: n }, (_, i) => (i % 4 === 0 ? `c${i}` : "")),
  vmId: Array.from({ length: n }, (_, i) => (i % 9 === 0 ? `vm${i}` : ""))
})

const processesIn = (parts: ReadonlyArray<CollectPart>): Array<number> =>
  parts.map((p) => (p._tag === "Processes" ? p.processes.pid.length : -1))

describe("a collection in parts", () => {
  it("joins back to the same summary and columns for every process count and part size", () =>
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 0, max: 300 }),
        FastCheck.integer({ min: 1, max: 64 }),
        FastCheck.integer({ min: 1, max: 7 }),
        (n, size, salt) => {
          const processes = columnsOf(n, salt)
          const parts = collectionParts(summary, processes, size)
          // Every part travels through the protocol's Schema, as over the IPC channel.
          const decoded = parts.map((p) => Schema.decodeUnknownSync(CollectPart)(Schema.encodeSync(CollectPart)(p)))
          expect(processesIn(decoded).slice(1).every((k) => k >= 1 && k <= size)).toBe(true)
          expect(decoded.length).toBe(1 + Math.ceil(n / size))
          expect(collectionFromParts(decoded)).toEqual({
            summary: { _tag: "Summary", ...summary, processCount: n },
            processes: processesFromColumns(processes)
          })
        }
      )
    ))

  it("sends each part as its own columns, not a view of the whole (structured clone sends a view's buffer)", () => {
    const parts = collectionParts(summary, columnsOf(10, 1), 4)
    const sizes = parts.flatMap((p) => (p._tag === "Processes" ? [p.processes.startTime.buffer.byteLength] : []))
    expect(sizes).toEqual([32, 32, 16])
  })

  it("carries containers in columns and back", () => {
    const containers = containersFromColumns(summary.containers)
    expect(containers).toEqual([
      { id: "c1", name: "web", runtime: "docker", podId: "" },
      { id: "c2", name: "db", runtime: "kubernetes", podId: "pod-1" }
    ])
    expect(containersToColumns(containers)).toEqual(summary.containers)
  })

  it("refuses a stream that lost a part, repeated its summary or did not start with it", () => {
    const parts = collectionParts(summary, columnsOf(10, 2), 4)
    const [head, first, second, third] = parts
    if (head === undefined || first === undefined || second === undefined || third === undefined) {
      throw new Error("expected a summary and three parts")
    }
    expect(collectionFromParts([head, first, third])).toBe("the worker's reading carried 6 of its 10 processes")
    expect(collectionFromParts([head, first, head, second, third])).toBe(
      "the worker's reading carried a second summary"
    )
    expect(collectionFromParts([head, first, second, third, head])).toBe(
      "the worker's reading carried a second summary"
    )
    expect(collectionFromParts([first, head, second, third])).toBe(
      "the worker's reading did not start with its summary"
    )
    expect(collectionFromParts([])).toBe("the worker's reading did not start with its summary")
  })
})
