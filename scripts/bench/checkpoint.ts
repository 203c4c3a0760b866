/**
 * The counter checkpoint's cost per refresh (monitor.stateDir): encode + durable write of a
 * state with N containers, N/4 pods and N/10 VMs over two zones, plus the file size.
 * Usage: tsx scripts/bench/checkpoint.ts [containers]
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { initialMonitorState, type MonitorState } from "../../src/monitor/attribute.js"
import type { ZoneMeta } from "../../src/monitor/nodeEnergy.js"
import { writeDurably } from "../../src/state/Checkpoint.js"
import { decodeCounterFile, encodeCounterFile, payloadOf } from "../../src/state/counterFile.js"

const n = Number(process.argv[2] ?? 1000)
const zones: ReadonlyArray<ZoneMeta> = ["package", "dram"].map((name, index) => ({
  name,
  index,
  path: "",
  estimated: false,
  maxEnergy: 0n
}))
const energy = [123_456_789_012n, 9_876_543_210n]
const watts = [0, 0]
const base = initialMonitorState(2)
const state: MonitorState = {
  ...base,
  containers: new Map(
    Array.from({ length: n }, (_, i) => {
      const id = i.toString(16).padStart(64, "0")
      return [id, {
        id,
        name: `container-${i}`,
        runtime: "containerd" as const,
        podId: `pod-${i % Math.max(1, n / 4)}`,
        cpuSeconds: 0,
        energy,
        watts
      }]
    })
  ),
  pods: new Map(
    Array.from(
      { length: Math.ceil(n / 4) },
      (_, i) => [`pod-${i}`, { id: `pod-${i}`, name: `web-${i}`, namespace: "shop", energy, watts }]
    )
  ),
  vms: new Map(
    Array.from(
      { length: Math.ceil(n / 10) },
      (_, i) => [`vm-${i}`, { id: `vm-${i}`, name: `guest-${i}`, hypervisor: "kvm" as const, energy, watts }]
    )
  )
}
const owner = { bootId: "bench", nodeName: "bench" }
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-bench-checkpoint-"))
const file = path.join(dir, "counters.json")
const rounds = 50
let text = ""
const t0 = process.hrtime.bigint()
for (let i = 0; i < rounds; i++) text = encodeCounterFile(payloadOf(state, zones), owner, Date.now())
const t1 = process.hrtime.bigint()
await Effect.runPromise(
  Effect.forEach(Array.from({ length: rounds }), () => writeDurably(file, text), { discard: true })
)
const t3 = process.hrtime.bigint()
for (let i = 0; i < rounds; i++) void decodeCounterFile(text, owner)
const t4 = process.hrtime.bigint()
const ms = (a: bigint, b: bigint) => (Number(b - a) / 1e6 / rounds).toFixed(2)
console.log(
  `containers=${n} pods=${Math.ceil(n / 4)} vms=${Math.ceil(n / 10)} size=${(text.length / 1024).toFixed(1)} KiB ` +
    `encode=${ms(t0, t1)} ms write+fsync+rename=${ms(t1, t3)} ms decode=${ms(t3, t4)} ms (mean of ${rounds})`
)
fs.rmSync(dir, { recursive: true, force: true })
