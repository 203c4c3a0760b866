#!/usr/bin/env node
// Builds dist/: joulemon's three entry points (the binary, the collector worker process and
// the bcrypt worker thread) bundled by esbuild, with the code they share split into chunks and
// every `await import()` kept lazy (a chunk loads only when its feature is configured).
//
// Why a bundle rather than tsc's one-file-per-module tree: Node keeps every loaded module's
// source text and bytecode, and Effect's and @effect/platform's files carry much that joulemon
// never calls. Tree-shaken, the idle daemon's main process went from 95 to 72 MB
// (README, performance section). `npm run build` type-checks with tsc first; this only emits.
//
//   node scripts/bundle.mjs [--outdir DIR]
import * as esbuild from "esbuild"
import { rmSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const args = process.argv.slice(2)
const outdirFlag = args.indexOf("--outdir")
const outdir = outdirFlag >= 0 && args[outdirFlag + 1] ? path.resolve(args[outdirFlag + 1]) : path.join(root, "dist")

// Entry names are the file names the code looks for beside itself (src/installLayout.ts):
// the collector forks `worker.js`, basic auth starts `bcryptWorker.js`.
const entryPoints = {
  main: "src/main.ts",
  worker: "src/collector/worker.ts",
  bcryptWorker: "src/server/bcryptWorker.ts"
}

rmSync(outdir, { recursive: true, force: true })
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints,
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Whitespace and syntax only: identifiers keep their names, so stack traces and heap
  // snapshots still say which function they are in.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  // Dependencies' licence comments, collected per output file.
  legalComments: "eof",
  // koffi is a native module loaded only with GPU power on (src/device/gpu/nvml.ts); the
  // others are optional native speed-ups that their packages probe with require() and do
  // without.
  external: ["koffi", "msgpackr-extract", "bufferutil", "utf-8-validate"],
  // The CommonJS dependencies (prom-client, bcryptjs, yaml) call require() for Node's own
  // modules and for the externals above; an ES module has no require, so each file gets one.
  banner: {
    js: "import { createRequire as __joulemonCreateRequire } from \"node:module\"; const require = __joulemonCreateRequire(import.meta.url);"
  },
  metafile: true,
  logLevel: "warning"
})

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".js"))
const bytes = outputs.reduce((sum, [, output]) => sum + output.bytes, 0)
console.log(`dist/: ${outputs.length} files, ${(bytes / 1024 / 1024).toFixed(2)} MiB of JavaScript`)
