/**
 * A synthetic powercap tree whose counters advance at constant powers in real time, written
 * atomically (rename) so a reader never sees a half-written file.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export interface RaplTree {
  readonly sysfs: string
  readonly stop: () => void
}

export const startRaplTree = (watts: Record<string, number>, maxEnergy = 262_143_328_850n): RaplTree => {
  const sysfs = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-sysfs-"))
  const started = process.hrtime.bigint()
  const zones = Object.entries(watts).map(([name, w], i) => {
    const dir = path.join(sysfs, "class", "powercap", i === 0 ? "intel-rapl:0" : `intel-rapl:0:${i - 1}`)
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, "name"), i === 0 ? `${name}-0\n` : `${name}\n`)
    fs.writeFileSync(path.join(dir, "max_energy_range_uj"), `${maxEnergy}\n`)
    return { dir, microwatts: BigInt(Math.round(w * 1e6)) }
  })
  const write = () => {
    const elapsedNanos = process.hrtime.bigint() - started
    for (const z of zones) {
      const energy = ((z.microwatts * elapsedNanos) / 1_000_000_000n) % maxEnergy
      const tmp = path.join(z.dir, ".energy_uj.tmp")
      fs.writeFileSync(tmp, `${energy}\n`)
      fs.renameSync(tmp, path.join(z.dir, "energy_uj"))
    }
  }
  write()
  const timer = setInterval(write, 20)
  return {
    sysfs,
    stop: () => {
      clearInterval(timer)
      fs.rmSync(sysfs, { recursive: true, force: true })
    }
  }
}
