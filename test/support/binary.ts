/** Runs the real joulemon entry point (src/main.ts through tsx) as a child process. */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"

export const ROOT = path.resolve(import.meta.dirname, "..", "..")

export interface Running {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export const startJoulemon = (args: ReadonlyArray<string>): Running => {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src", "main.ts"), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "" }
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
