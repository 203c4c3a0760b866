/**
 * The web config and the PEM files it names are read as bounded, regular files (issue 16): a
 * file past its limit, a FIFO or a symlink to /dev/zero fails the start naming the file and
 * the limit, and on the periodic re-read keeps the certificates in use — through the real server.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Schedule } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { PEM_FILE_LIMIT, WEB_CONFIG_LIMIT } from "../../src/io/readLimits.js"
import { makeWebConfigLayer } from "../../src/server/webConfig.js"
import { withLogs } from "../support/logs.js"
import { freePort } from "../support/ports.js"
import { configFor, connectOnce, fixture, get, pem, serve, serverLayer, writeConfig } from "./realServer.js"

/** A PEM file still valid as PEM (text outside the BEGIN/END blocks is ignored) but past `limit`. */
const padded = (pemText: string, limit: number) => `${pemText}\n${"#".repeat(limit)}\n`

/** Starts the server and expects it to fail before binding; returns the failure's text. */
const startFailure = (file: string) =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    const exit = yield* Layer.launch(serverLayer(configFor(file, port))).pipe(
      Effect.timeout(Duration.seconds(20)),
      Effect.exit
    )
    expect(Exit.isFailure(exit)).toBe(true)
    // Nothing was bound: the port is still free.
    expect((yield* connectOnce(port).pipe(Effect.flip)).message).toContain("ECONNREFUSED")
    return Exit.isFailure(exit) ? String(exit.cause) : ""
  })

const limitText = (limit: number, what: string) => `the 1 MiB (${limit} bytes) limit for ${what}`

describe("web config bounded reads", () => {
  it.live("a web config file over its limit is refused with its size before it is parsed", () =>
    Effect.gen(function*() {
      // Valid YAML (a comment pads it), so only the size can refuse it.
      const file = yield* writeConfig(`rate_limit:\n  interval: 0s\n# ${"x".repeat(WEB_CONFIG_LIMIT)}\n`)
      const size = (yield* Effect.promise(() => fs.stat(file))).size
      expect(yield* startFailure(file)).toContain(
        `invalid web config file ${JSON.stringify(file)}: cannot read the file: ${size} bytes, over ${
          limitText(WEB_CONFIG_LIMIT, "the web config")
        }; refused without reading it`
      )
    }).pipe(Effect.scoped))

  it.live("the web config path naming a FIFO fails at once, naming the file", () =>
    Effect.gen(function*() {
      const dir = path.dirname(yield* writeConfig(""))
      const fifo = path.join(dir, "web-fifo.yml")
      execFileSync("mkfifo", [fifo])
      expect(yield* startFailure(fifo)).toContain(
        `invalid web config file ${
          JSON.stringify(fifo)
        }: cannot read the file: not a regular file (a FIFO); the web config must be a regular file within ${
          limitText(WEB_CONFIG_LIMIT, "the web config")
        }`
      )
    }).pipe(Effect.scoped))

  it.live("a certificate, key or CA file over the limit, a FIFO or a symlink to /dev/zero: each named with the limit", () =>
    Effect.gen(function*() {
      const file = yield* writeConfig(`tls_server_config:
  cert_file: big.pem
  key_file: key.fifo
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: zero.pem
`)
      const dir = path.dirname(file)
      const big = path.join(dir, "big.pem")
      const fifo = path.join(dir, "key.fifo")
      const zero = path.join(dir, "zero.pem")
      yield* Effect.promise(async () => {
        await fs.writeFile(big, padded(await pem("server.pem"), PEM_FILE_LIMIT))
        await fs.symlink("/dev/zero", zero)
      })
      execFileSync("mkfifo", [fifo])
      const size = (yield* Effect.promise(() => fs.stat(big))).size
      const cause = yield* startFailure(file)
      const pemLimit = limitText(PEM_FILE_LIMIT, "a PEM file")
      expect(cause).toContain(
        `tls_server_config.cert_file: cannot read ${
          JSON.stringify(big)
        }: ${size} bytes, over ${pemLimit}; refused without reading it`
      )
      expect(cause).toContain(
        `tls_server_config.key_file: cannot read ${
          JSON.stringify(fifo)
        }: not a regular file (a FIFO); a PEM file must be a regular file within ${pemLimit}`
      )
      expect(cause).toContain(
        `tls_server_config.client_ca_file: cannot read ${
          JSON.stringify(zero)
        }: not a regular file (a character device); a PEM file must be a regular file within ${pemLimit}`
      )
    }).pipe(Effect.scoped))

  it.live(
    "on the periodic re-read an oversized or /dev/zero certificate is logged and the one in use stays",
    () =>
      withLogs(
        Effect.gen(function*() {
          const ca = yield* Effect.promise(() => pem("ca.pem"))
          const file = yield* writeConfig("tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n")
          const dir = path.dirname(file)
          const certFile = path.join(dir, "server.pem")
          const keyFile = path.join(dir, "server-key.pem")
          yield* Effect.promise(async () => {
            await fs.copyFile(fixture("server-key.pem"), keyFile)
            await fs.copyFile(fixture("server.pem"), certFile)
          })
          const port = yield* serve(file, makeWebConfigLayer(Duration.millis(50)))
          const url = `https://127.0.0.1:${port}/`
          expect((yield* get(url, { ca })).serverName).toBe("localhost")

          // The next certificate and key, but the certificate padded past the limit: refused,
          // though unpadded it would be served.
          yield* Effect.promise(async () => {
            await fs.copyFile(fixture("server-next-key.pem"), keyFile)
            await fs.writeFile(certFile, padded(await pem("server-next.pem"), PEM_FILE_LIMIT))
          })
          yield* Effect.sleep(Duration.millis(400))
          expect((yield* get(url, { ca })).serverName).toBe("localhost")

          // A symlink to /dev/zero in its place: refused at once, not read.
          yield* Effect.promise(async () => {
            await fs.rm(certFile)
            await fs.symlink("/dev/zero", certFile)
          })
          yield* Effect.sleep(Duration.millis(400))
          expect((yield* get(url, { ca })).serverName).toBe("localhost")

          // A valid one is picked up again.
          yield* Effect.promise(async () => {
            await fs.rm(certFile)
            await fs.copyFile(fixture("server-next.pem"), certFile)
          })
          const rotated = yield* get(url, { ca }).pipe(
            Effect.filterOrFail(
              (r) => r.serverName === "localhost (next)",
              () => new Error("still the old certificate")
            ),
            Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(100))))
          )
          expect(rotated.status).toBe(200)
          return certFile
        })
      ).pipe(
        Effect.map(([certFile, lines]) => {
          const kept = lines.filter((l) =>
            l.message === "web config changed and is no longer valid; keeping the settings in use"
          )
          const errors = kept.map((l) => String(l.annotations["error"]))
          const pemLimit = limitText(PEM_FILE_LIMIT, "a PEM file")
          expect(errors).toEqual(
            expect.arrayContaining([
              expect.stringMatching(
                new RegExp(
                  `tls_server_config\\.cert_file: cannot read "${certFile}": \\d+ bytes, over the 1 MiB \\(${PEM_FILE_LIMIT} bytes\\) limit`
                )
              ),
              expect.stringContaining(
                `tls_server_config.cert_file: cannot read ${
                  JSON.stringify(certFile)
                }: not a regular file (a character device); a PEM file must be a regular file within ${pemLimit}`
              )
            ])
          )
          // Each problem once, not every 50 ms.
          expect(kept.length).toBeLessThanOrEqual(6)
        }),
        Effect.scoped
      ),
    60_000
  )
})
