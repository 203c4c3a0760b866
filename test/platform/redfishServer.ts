/**
 * A Redfish BMC for tests: serves a fixture tree (`/redfish/v1/X` → `<tree>/X/index.json`) over
 * http or https (self-signed, test/fixtures/redfish/tls) on 127.0.0.1, with basic auth and
 * sessions (`POST /redfish/v1/SessionService/Sessions`, `X-Auth-Token`, `DELETE` to log out), and
 * misbehaviours on demand: 401, a hang (the answer never comes), garbage, 404.
 */
import { Effect, type Scope } from "effect"
import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const redfishFixtures = fileURLToPath(new URL("../fixtures/redfish/", import.meta.url))
export const fixtureTree = (name: string): string => path.join(redfishFixtures, name)

export type Misbehaviour = "unauthorized" | "hang" | "garbage" | "not-found"

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  /** How the request authenticated itself. */
  readonly auth: "basic" | "token" | "none"
}

export interface RedfishServerOptions {
  readonly tree: string
  readonly tls?: boolean
  /** When set, everything but the service root needs basic auth or a session token. */
  readonly credentials?: { readonly username: string; readonly password: string }
  /** false: the BMC has no SessionService (POST answers 404). Default true. */
  readonly sessions?: boolean
}

export interface RedfishServer {
  readonly endpoint: string
  readonly requests: () => ReadonlyArray<RecordedRequest>
  /** Requests held open right now by a "hang". */
  readonly hanging: () => number
  /** Held requests whose client gave up (closed the connection). */
  readonly abandoned: () => number
  readonly activeSessions: () => number
  /** Every session token handed out. */
  readonly issuedTokens: () => ReadonlyArray<string>
  /** Forget every session, as a BMC does when they time out. */
  readonly expireSessions: () => void
  /** Make requests whose path matches misbehave; `undefined` restores normal service. */
  readonly misbehave: (how: Misbehaviour | undefined, matching?: (path: string) => boolean) => void
  /** Answers the held requests normally and stops hanging. */
  readonly release: () => void
}

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

const readBody = (req: http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => (body += chunk))
    req.on("end", () => resolve(body))
    req.on("error", reject)
  })

const SESSIONS = "/redfish/v1/SessionService/Sessions"

export const startRedfishServer = (options: RedfishServerOptions): Effect.Effect<RedfishServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const recorded: Array<RecordedRequest> = []
    const sessions = new Map<string, string>() // token → session path
    const issued: Array<string> = []
    const held = new Set<() => void>()
    let abandoned = 0
    let rule: { how: Misbehaviour; matching: (path: string) => boolean } | undefined

    const authOf = (req: http.IncomingMessage): RecordedRequest["auth"] => {
      if (typeof req.headers["x-auth-token"] === "string") return "token"
      if (typeof req.headers.authorization === "string") return "basic"
      return "none"
    }

    const authorised = (req: http.IncomingMessage): boolean => {
      const creds = options.credentials
      if (creds === undefined) return true
      const token = req.headers["x-auth-token"]
      if (typeof token === "string") return sessions.has(token)
      const expected = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`
      return req.headers.authorization === expected
    }

    const serveFile = async (res: http.ServerResponse, urlPath: string) => {
      const rel = urlPath.replace(/^\/redfish\/v1\/?/, "").replace(/\/$/, "")
      try {
        const text = await readFile(path.join(options.tree, rel, "index.json"), "utf8")
        res.writeHead(200, { "content-type": "application/json" })
        res.end(text)
      } catch {
        json(res, 404, { error: { code: "Base.1.0.ResourceMissingAtURI", message: `no resource at ${urlPath}` } })
      }
    }

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      const urlPath = new URL(req.url ?? "/", "http://x").pathname
      const method = req.method ?? "GET"
      recorded.push({ method, path: urlPath, auth: authOf(req) })

      if (rule !== undefined && rule.matching(urlPath)) {
        switch (rule.how) {
          case "unauthorized":
            return json(res, 401, { error: { code: "Base.1.0.InsufficientPrivilege" } })
          case "garbage":
            res.writeHead(200, { "content-type": "application/json" })
            return res.end("<html>BMC firmware update in progress{{{")
          case "not-found":
            return json(res, 404, { error: { code: "Base.1.0.ResourceMissingAtURI" } })
          case "hang": {
            const answer = () => void serveFile(res, urlPath)
            held.add(answer)
            res.on("close", () => {
              if (held.delete(answer)) abandoned++
            })
            return
          }
        }
      }

      if (method === "POST" && urlPath === SESSIONS) {
        if (options.sessions === false) return json(res, 404, { error: { code: "Base.1.0.ResourceMissingAtURI" } })
        const body: unknown = JSON.parse(await readBody(req))
        const fields: Record<string, unknown> = typeof body === "object" && body !== null ? { ...body } : {}
        const field = (key: string): unknown => fields[key]
        const creds = options.credentials
        if (creds !== undefined && (field("UserName") !== creds.username || field("Password") !== creds.password)) {
          return json(res, 401, { error: { code: "Base.1.0.NoValidSession" } })
        }
        const id = randomUUID()
        const token = randomUUID()
        sessions.set(token, `${SESSIONS}/${id}`)
        issued.push(token)
        return json(res, 201, { Id: id, UserName: field("UserName") }, {
          "X-Auth-Token": token,
          Location: `${SESSIONS}/${id}`
        })
      }
      if (method === "DELETE" && urlPath.startsWith(`${SESSIONS}/`)) {
        for (const [token, location] of sessions) {
          if (location === urlPath && req.headers["x-auth-token"] === token) sessions.delete(token)
        }
        res.writeHead(204)
        return res.end()
      }
      // The service root is readable without credentials (Redfish spec).
      if (urlPath !== "/redfish/v1/" && urlPath !== "/redfish/v1" && !authorised(req)) {
        return json(res, 401, { error: { code: "Base.1.0.NoValidSession" } })
      }
      return serveFile(res, urlPath)
    }

    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => void handle(req, res)
    const server = options.tls === true
      ? https.createServer(
        {
          key: readFileSync(path.join(redfishFixtures, "tls", "key.pem")),
          cert: readFileSync(path.join(redfishFixtures, "tls", "cert.pem"))
        },
        listener
      )
      : http.createServer(listener)

    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          held.clear()
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const address: AddressInfo | string | null = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0

    return {
      endpoint: `${options.tls === true ? "https" : "http"}://127.0.0.1:${port}`,
      requests: () => [...recorded],
      hanging: () => held.size,
      abandoned: () => abandoned,
      activeSessions: () => sessions.size,
      issuedTokens: () => [...issued],
      expireSessions: () => sessions.clear(),
      misbehave: (how, matching = () => true) => {
        rule = how === undefined ? undefined : { how, matching }
      },
      release: () => {
        rule = undefined
        const answers = [...held]
        held.clear()
        for (const answer of answers) answer()
      }
    } satisfies RedfishServer
  })
