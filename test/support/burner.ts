/**
 * A CPU burner for tests that expect it to be this machine's top CPU user. Four busy threads: the
 * scheduler shares CPU per thread, so on a 2-core machine that also runs other test files (each a
 * busy single-threaded worker) the burner still clearly gets the most CPU time — a one-thread
 * burner only tied with them and lost by noise (CI saw another test's worker on top).
 */
import { type ChildProcess, spawn } from "node:child_process"

const BURNER = `
const { Worker } = require("node:worker_threads")
for (let i = 0; i < 3; i++) new Worker("for (;;) {}", { eval: true })
for (;;) {}
`

export const spawnBurner = (): ChildProcess => spawn(process.execPath, ["-e", BURNER], { stdio: "ignore" })
