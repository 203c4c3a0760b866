import * as net from "node:net"

/** A port that was free a moment ago (the server under test binds it right after). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

import { Effect, Schedule } from "effect"

/** Resolves once something answers HTTP at `url` (every 20 ms, up to ~5 s). */
export const waitForHttp = (url: string, init?: RequestInit) =>
  Effect.tryPromise(() => fetch(url, init)).pipe(
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(250)))),
    Effect.orDie,
    Effect.asVoid
  )
