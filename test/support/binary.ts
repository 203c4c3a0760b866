/**
 * Runs the real joulemon binary as a child process: the test run's bundle (bundleSetup.ts)
 * under the shipped node flags, as `npm start` runs dist/main.js.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { inject } from "vitest"
import { SHIPPED_NODE_FLAGS } from "../../src/nodeFlags.js"
import { freePort } from "./ports.js"

export const ROOT = path.resolve(import.meta.dirname, "..", "..")

export interface Running {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** The test run's bundle (built once by bundleSetup.ts). */
export const bundleDir = (): string => inject("joulemonBundle")

/** node's arguments that run joulemon as shipped: the flags, then the bundle's main.js. */
export const shippedEntry = (): ReadonlyArray<string> => [...SHIPPED_NODE_FLAGS, path.join(bundleDir(), "main.js")]

/**
 * `env` adds to (or, with `undefined`, removes from) this process's environment; `entry` is
 * node's arguments before joulemon's (default: `shippedEntry()`).
 */
export const startJoulemon = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>> = {},
  entry: ReadonlyArray<string> = shippedEntry()
): Running => {
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "", ...env }
  })
  let out = ""
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()))
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, output: () => out, exited }
}

/** Resolves when `predicate(output)` holds, rejects after `ms` (a bound for a hang, not a speed test). */
export const waitForOutput = (r: Running, predicate: (out: string) => boolean, ms = 20_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const tick = () => {
      if (predicate(r.output())) return resolve()
      if (Date.now() - started > ms) return reject(new Error(`timed out waiting; output so far:\n${r.output()}`))
      setTimeout(tick, 25)
    }
    tick()
  })

export const withTimeout = <A>(p: Promise<A>, ms: number, what: string): Promise<A> =>
  Promise.race([
    p,
    new Promise<A>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))
  ])

/**
 * joulemon over synthetic `sysfs` and `procfs` trees, with RAPL preferred and every scrape
 * taking a fresh reading (so the test decides what each reading sees); its config file goes
 * in `dir`. Resolves once it listens.
 */
export const startOverTrees = async (
  dir: string,
  trees: { readonly sysfs: string; readonly procfs: string },
  extra: {
    readonly yaml?: string
    readonly env?: Readonly<Record<string, string | undefined>>
    readonly args?: ReadonlyArray<string>
    readonly entry?: ReadonlyArray<string>
  } = {}
): Promise<{ readonly joulemon: Running; readonly url: string }> => {
  const config = path.join(dir, "joulemon.yaml")
  fs.writeFileSync(
    config,
    `cpu:\n  preferredMeters: [rapl]\nmonitor:\n  interval: 0s\n  staleness: 1ms\n${extra.yaml ?? ""}`
  )
  const port = await freePort()
  const joulemon = startJoulemon(
    [
      `--config.file=${config}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--host.sysfs=${trees.sysfs}`,
      `--host.procfs=${trees.procfs}`,
      ...(extra.args ?? [])
    ],
    extra.env,
    extra.entry
  )
  await waitForOutput(joulemon, (o) => o.includes("message=listening"))
  const url = `http://127.0.0.1:${port}`
  await firstRefreshDone(url)
  return { joulemon, url }
}

/**
 * Waits out the startup refresh: it can still be reading when joulemon starts listening, and a
 * test that changes the trees during it would have that reading see half of a change.
 */
const firstRefreshDone = async (url: string): Promise<void> => {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const body = await fetch(`${url}/readyz`).then((r) => r.text())
    if (!body.startsWith("no snapshot yet")) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`joulemon at ${url}: the first refresh did not complete within 20 s`)
}
