/**
 * vitest's global setup: builds the shipped bundle (scripts/bundle.mjs) once per run, into a
 * directory of its own inside the checkout (so it finds package.json and koffi as dist/ does),
 * and hands its path to the tests. The end-to-end tests run joulemon from it (binary.ts): the
 * artifact users run, and a start in ~0.4 s instead of ~2 s through tsx, which compiles the
 * whole source tree on every start — the collector worker's too.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** The directory holding the test run's bundle (main.js, worker.js, …). */
    joulemonBundle: string
  }
}

const ROOT = path.resolve(import.meta.dirname, "..", "..")

export default function setup(project: TestProject): () => void {
  fs.mkdirSync(path.join(ROOT, ".bench-build"), { recursive: true })
  const outdir = fs.mkdtempSync(path.join(ROOT, ".bench-build", "test-bundle-"))
  const built = spawnSync(process.execPath, [path.join(ROOT, "scripts", "bundle.mjs"), "--outdir", outdir], {
    cwd: ROOT,
    encoding: "utf8"
  })
  if (built.status !== 0) {
    fs.rmSync(outdir, { recursive: true, force: true })
    throw new Error(`scripts/bundle.mjs failed (exit ${built.status}):\n${built.stdout}${built.stderr}`)
  }
  project.provide("joulemonBundle", outdir)
  return () => fs.rmSync(outdir, { recursive: true, force: true })
}
