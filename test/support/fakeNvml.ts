/**
 * Builds the fake NVML library (fakeNvml/fake_nvml.c) with the system's C compiler and writes
 * the script it serves, so tests load and call it exactly as joulemon does the driver's
 * `libnvidia-ml.so.1`. The script (named by FAKE_NVML_SCRIPT in the loading process, re-read by
 * the library whenever the file changes) has one `key=value` line per device, process and MIG
 * device; `#` starts a comment; a value in double quotes may contain spaces:
 *
 *   init error=9                        (optional: what nvmlInit_v2 returns)
 *   device index=0 uuid=GPU-a name="NVIDIA A100" power_mw=250000 energy_mj=1000 compute_mode=0
 *          mig=0 lost=0 energy_supported=1 util_supported=1 hang_ms=0      (one line)
 *   process device=0 pid=1234 used_memory=1048576 sm_util=75 gpu_instance=4294967295
 *           compute_instance=4294967295
 *   mig device=0 index=0 gpu_instance=1  (MIG device `index` of device 0 is the k-th mig line)
 */
import { execFile } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

const SOURCE = path.join(import.meta.dirname, "fakeNvml", "fake_nvml.c")

export interface FakeGpuProcess {
  readonly pid: number
  readonly usedMemory?: number
  readonly smUtil?: number
  readonly gpuInstance?: number
  readonly computeInstance?: number
}

export interface FakeGpu {
  readonly index: number
  readonly uuid: string
  readonly name: string
  readonly powerMw: number
  readonly energyMj: bigint | number
  readonly computeMode?: number
  readonly mig?: boolean
  readonly lost?: boolean
  readonly energySupported?: boolean
  readonly utilSupported?: boolean
  readonly hangMs?: number
  readonly processes?: ReadonlyArray<FakeGpuProcess>
  readonly migInstances?: ReadonlyArray<{ readonly gpuInstance: number }>
}

/** The directory holding the built `libnvidia-ml.so.1`, shared by every test file (built once per source). */
export const buildFakeNvml = async (): Promise<string> => {
  const source = fs.readFileSync(SOURCE)
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 12)
  const dir = path.join(os.tmpdir(), `joulemon-fake-nvml-${hash}`)
  const lib = path.join(dir, "libnvidia-ml.so.1")
  if (fs.existsSync(lib)) return dir
  fs.mkdirSync(dir, { recursive: true })
  // Built under a temporary name, then renamed: test files building at once never see half a library.
  const tmp = `${lib}.${unique()}.tmp`
  try {
    await promisify(execFile)("cc", ["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", tmp, SOURCE, "-lpthread"])
  } catch (e) {
    const stderr = typeof e === "object" && e !== null && "stderr" in e ? String(e.stderr) : String(e)
    throw new Error(`building the fake NVML library failed (is a C compiler installed?):\n${stderr}`)
  }
  fs.renameSync(tmp, lib)
  return dir
}

/** A temporary-file suffix no other process or worker thread uses at the same time. */
const unique = () => `${process.pid}.${randomBytes(4).toString("hex")}`

/** A script value in double quotes; the format has no escapes, so a quote or newline cannot be written. */
const quoted = (value: string): string => {
  if (/["\n\r]/.test(value)) throw new Error(`the fake NVML script cannot hold ${JSON.stringify(value)}`)
  return `"${value}"`
}

const flag = (b: boolean | undefined, fallback: boolean): number => ((b ?? fallback) ? 1 : 0)

export const renderNvmlScript = (
  devices: ReadonlyArray<FakeGpu>,
  options: { readonly initError?: number } = {}
): string => {
  const lines: Array<string> = []
  if (options.initError !== undefined) lines.push(`init error=${options.initError}`)
  for (const d of devices) {
    lines.push(
      `device index=${d.index} uuid=${quoted(d.uuid)} name=${
        quoted(d.name)
      } power_mw=${d.powerMw} energy_mj=${d.energyMj}` +
        ` compute_mode=${d.computeMode ?? 0} mig=${flag(d.mig, false)} lost=${flag(d.lost, false)}` +
        ` energy_supported=${flag(d.energySupported, true)} util_supported=${flag(d.utilSupported, true)}` +
        ` hang_ms=${d.hangMs ?? 0}`
    )
    for (const [k, m] of (d.migInstances ?? []).entries()) {
      lines.push(`mig device=${d.index} index=${k} gpu_instance=${m.gpuInstance}`)
    }
    for (const p of d.processes ?? []) {
      lines.push(
        `process device=${d.index} pid=${p.pid} used_memory=${p.usedMemory ?? 0} sm_util=${p.smUtil ?? 0}` +
          ` gpu_instance=${p.gpuInstance ?? 4294967295} compute_instance=${p.computeInstance ?? 4294967295}`
      )
    }
  }
  return `${lines.join("\n")}\n`
}

/**
 * Replaces the script atomically (temp file + rename), so the library never reads half of it.
 * Synchronous, so that a test's next NVML call is sure to see the new script.
 */
export const writeNvmlScript = (
  file: string,
  devices: ReadonlyArray<FakeGpu>,
  options: { readonly initError?: number } = {}
): void => {
  const tmp = `${file}.${unique()}.tmp`
  fs.writeFileSync(tmp, renderNvmlScript(devices, options))
  fs.renameSync(tmp, file)
}
