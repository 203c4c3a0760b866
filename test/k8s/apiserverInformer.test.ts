import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel, Option, Ref } from "effect"
import * as fs from "node:fs"
import type * as http from "node:http"
import * as path from "node:path"
import {
  containerIds,
  eventually,
  fakeHttpsServer,
  fixture,
  podUids,
  type RecordedRequest,
  sendJson,
  statusBody,
  TEST_NODE
} from "./fakeKube.js"
import { errorsIn, startInformer, tempDir, tokenConnection, withCapturedLogs } from "./support.js"

interface PodJson {
  metadata: { uid: string; name: string; namespace: string; resourceVersion?: string }
  status?: { containerStatuses?: Array<{ name: string; containerID: string }> }
}

const fixturePods = (): Array<PodJson> =>
  (JSON.parse(fixture("kubelet-pods.json").toString("utf8")) as { items: Array<PodJson> }).items

const pod = (
  uid: string,
  name: string,
  namespace: string,
  rv: string,
  containers: Record<string, string>
): PodJson => ({
  metadata: { uid, name, namespace, resourceVersion: rv },
  status: {
    containerStatuses: Object.entries(containers).map(([n, id]) => ({ name: n, containerID: `containerd://${id}` }))
  }
})

const event = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`

/** What the fake API server does with the n-th watch request. */
type WatchScript = (response: http.ServerResponse) => void

const holdOpen: WatchScript = (response) => {
  response.writeHead(200, { "content-type": "application/json" })
  response.write("")
}

interface ApiWorld {
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly lists: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly watches: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly base: string
  readonly tokenFile: string
}

/**
 * A fake API server answering pod lists from `listPages` (page i answers `continue=i`) and
 * watches with `scripts` in turn (then holding the watch open).
 */
const apiWorld = (options: {
  readonly listPages: Ref.Ref<ReadonlyArray<{ readonly items: ReadonlyArray<PodJson>; readonly rv: string }>>
  readonly listStatus?: Ref.Ref<number>
  readonly scripts: ReadonlyArray<WatchScript>
}) =>
  Effect.gen(function*() {
    const watchCount = yield* Ref.make(0)
    const server = yield* fakeHttpsServer((request, response) => {
      if (request.path !== "/api/v1/pods") return sendJson(response, 404, statusBody(404, "NotFound", "not found"))
      if (request.query.get("watch") === "true") {
        const n = Effect.runSync(Ref.getAndUpdate(watchCount, (c) => c + 1))
        return (options.scripts[n] ?? holdOpen)(response)
      }
      const status = options.listStatus === undefined ? 200 : Effect.runSync(Ref.get(options.listStatus))
      if (status !== 200) {
        return sendJson(
          response,
          status,
          statusBody(
            status,
            "Forbidden",
            "pods is forbidden: User \"system:serviceaccount:joulemon:joulemon\" cannot list resource \"pods\""
          )
        )
      }
      const pages = Effect.runSync(Ref.get(options.listPages))
      const index = Number(request.query.get("continue") ?? "0")
      const page = pages[index]
      if (page === undefined) return sendJson(response, 410, statusBody(410, "Expired", "continue token expired"))
      sendJson(response, 200, {
        kind: "PodList",
        apiVersion: "v1",
        metadata: { resourceVersion: page.rv, ...(index + 1 < pages.length ? { continue: String(index + 1) } : {}) },
        items: page.items
      })
    })
    const dir = yield* tempDir
    const tokenFile = path.join(dir, "token")
    fs.writeFileSync(tokenFile, "api-token")
    const isWatch = (r: RecordedRequest) => r.query.get("watch") === "true"
    return {
      requests: server.requests,
      lists: Effect.map(server.requests, (rs) => rs.filter((r) => !isWatch(r))),
      watches: Effect.map(server.requests, (rs) => rs.filter(isWatch)),
      base: server.base,
      tokenFile
    } satisfies ApiWorld
  })

const found = (
  informer: { lookup: (id: string) => Effect.Effect<Option.Option<{ podName: string }>> },
  id: string,
  podName: string | undefined
) =>
  eventually(
    Effect.flatMap(informer.lookup(id), (answer) =>
      Option.getOrUndefined(answer)?.podName === podName ? Effect.void : Effect.fail(`${id} → ${podName} not yet`))
  )

describe("PodInformer, apiserver mode", () => {
  it.scopedLive("list + chunked watch; a dropped watch resumes from its resourceVersion; 410 relists", () =>
    withCapturedLogs((logs) =>
      Effect.gen(function*() {
        const added = "aa".repeat(32)
        const sidecar = "bb".repeat(32)
        const afterRelist = "cc".repeat(32)
        const listPages = yield* Ref.make<ReadonlyArray<{ items: ReadonlyArray<PodJson>; rv: string }>>([
          { items: fixturePods(), rv: "100" }
        ])
        const web = fixturePods().find((p) => p.metadata.uid === podUids.web)
        if (web === undefined) throw new Error("fixture has no web pod")
        const webWithSidecar: PodJson = {
          ...web,
          metadata: { ...web.metadata, resourceVersion: "102" },
          status: {
            containerStatuses: [...(web.status?.containerStatuses ?? []), {
              name: "sidecar",
              containerID: `containerd://${sidecar}`
            }]
          }
        }
        const scripts: ReadonlyArray<WatchScript> = [
          // 1: two events in separate chunks, then the connection drops mid-stream.
          (response) => {
            response.writeHead(200, { "content-type": "application/json" })
            response.write(event("ADDED", pod("new-uid", "new-pod", "batch", "101", { worker: added })))
            setTimeout(() => {
              response.write(event("MODIFIED", webWithSidecar))
              setTimeout(() => response.socket?.destroy(), 20)
            }, 20)
          },
          // 2: resumed; a deletion and a bookmark, then the server ends the watch (timeoutSeconds).
          (response) => {
            response.writeHead(200, { "content-type": "application/json" })
            const coredns = fixturePods().find((p) => p.metadata.uid === podUids.coredns)
            response.write(event("DELETED", { ...coredns, metadata: { ...coredns?.metadata, resourceVersion: "103" } }))
            response.write(event("BOOKMARK", { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: "150" } }))
            setTimeout(() => response.end(), 1100)
          },
          // 3: the resourceVersion has been compacted away.
          (response) => {
            Effect.runSync(
              Ref.set(listPages, [{
                items: [pod("relisted-uid", "relisted", "default", "200", { only: afterRelist })],
                rv: "200"
              }])
            )
            response.writeHead(200, { "content-type": "application/json" })
            response.end(event("ERROR", statusBody(410, "Expired", "too old resource version: 150 (190)")))
          },
          // 4: opening the watch itself answers 410.
          (response) => sendJson(response, 410, statusBody(410, "Expired", "too old resource version: 200 (250)"))
        ]
        const world = yield* apiWorld({ listPages, scripts })
        const informer = yield* startInformer({
          mode: "apiserver",
          connection: tokenConnection(world.base, world.tokenFile)
        })

        // The initial list.
        expect(yield* informer.lookup(containerIds.nginx)).toEqual(
          Option.some({
            podId: podUids.web,
            podName: "web-6c7f9d8b5-q2w4e",
            namespace: "default",
            containerName: "nginx",
            cpuRequestMillis: 250,
            podCpuRequestMillis: 300
          })
        )
        // Watch 1's events, then watch 2's after the drop.
        yield* found(informer, added, "new-pod")
        yield* found(informer, sidecar, "web-6c7f9d8b5-q2w4e")
        yield* found(informer, containerIds.coredns, undefined)
        // Watch 3's ERROR 410 → relist, whose pods replace the old ones.
        yield* found(informer, afterRelist, "relisted")
        yield* found(informer, containerIds.nginx, undefined)
        // Watch 4 answers 410 → relist again, then a watch that stays open.
        yield* eventually(
          Effect.flatMap(world.watches, (ws) => (ws.length >= 5 ? Effect.void : Effect.fail("waiting")))
        )

        const watches = yield* world.watches
        expect(watches.slice(0, 5).map((w) => w.query.get("resourceVersion"))).toEqual([
          "100",
          "102",
          "150",
          "200",
          "200"
        ])
        const lists = yield* world.lists
        expect(lists).toHaveLength(3)
        for (const r of [...lists, ...watches]) {
          expect(r.query.get("fieldSelector")).toBe(`spec.nodeName=${TEST_NODE}`)
          expect(r.authorization).toBe("Bearer api-token")
        }
        for (const w of watches) {
          expect(w.query.get("allowWatchBookmarks")).toBe("true")
          expect(w.query.get("timeoutSeconds")).toBe("300")
        }
        const debug = (yield* logs).filter((e) => e.level === "DEBUG").map((e) => e.message)
        expect(debug.filter((m) => m.includes("watch dropped"))).toHaveLength(1)
        expect(debug.filter((m) => m.includes("expired"))).toHaveLength(1)
        // Drops and expiries are routine: nothing an operator must act on.
        expect(yield* errorsIn(logs)).toHaveLength(0)
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Debug))
    ))

  it.scopedLive("reads every page of a paginated list", () =>
    Effect.gen(function*() {
      const all = fixturePods()
      const listPages = yield* Ref.make<ReadonlyArray<{ items: ReadonlyArray<PodJson>; rv: string }>>([
        { items: all.slice(0, 2), rv: "" },
        { items: all.slice(2), rv: "300" }
      ])
      const world = yield* apiWorld({ listPages, scripts: [] })
      const informer = yield* startInformer({
        mode: "apiserver",
        connection: tokenConnection(world.base, world.tokenFile)
      })
      const answers = yield* informer.lookupAll(Object.values(containerIds))
      expect(answers.size).toBe(7)
      const lists = yield* world.lists
      expect(lists.map((r) => [r.query.get("limit"), r.query.get("continue")])).toEqual([
        ["500", null],
        ["500", "1"]
      ])
      yield* eventually(Effect.flatMap(world.watches, (ws) => (ws.length >= 1 ? Effect.void : Effect.fail("waiting"))))
      expect((yield* world.watches)[0]?.query.get("resourceVersion")).toBe("300")
    }))

  it.scopedLive("an ERROR event other than 410 is logged with its status and the watch resumes from the same resourceVersion", () =>
    withCapturedLogs((logs) =>
      Effect.gen(function*() {
        const listPages = yield* Ref.make<ReadonlyArray<{ items: ReadonlyArray<PodJson>; rv: string }>>([{
          items: fixturePods(),
          rv: "40"
        }])
        const world = yield* apiWorld({
          listPages,
          scripts: [
            (response) => {
              response.writeHead(200, { "content-type": "application/json" })
              response.end(event("ERROR", statusBody(500, "InternalError", "etcdserver: request timed out")))
            }
          ]
        })
        const informer = yield* startInformer({
          mode: "apiserver",
          connection: tokenConnection(world.base, world.tokenFile)
        })
        yield* eventually(
          Effect.flatMap(world.watches, (ws) => (ws.length >= 2 ? Effect.void : Effect.fail("waiting")))
        )
        expect((yield* world.watches).slice(0, 2).map((w) => w.query.get("resourceVersion"))).toEqual(["40", "40"])
        expect(yield* world.lists).toHaveLength(1)
        const errors = yield* errorsIn(logs)
        expect(errors).toHaveLength(1)
        expect(errors[0]?.annotations["status"]).toBe(500)
        expect(errors[0]?.message).toContain("etcdserver: request timed out")
        // The index from the list kept answering throughout.
        expect(Option.isSome(yield* informer.lookup(containerIds.nginx))).toBe(true)
      })
    ))

  it.scopedLive("403 on the list: lookups answer None, the fix names the pods rule, and it recovers", () =>
    withCapturedLogs((logs) =>
      Effect.gen(function*() {
        const listPages = yield* Ref.make<ReadonlyArray<{ items: ReadonlyArray<PodJson>; rv: string }>>([{
          items: fixturePods(),
          rv: "7"
        }])
        const listStatus = yield* Ref.make(403)
        const world = yield* apiWorld({ listPages, listStatus, scripts: [] })
        const informer = yield* startInformer({
          mode: "apiserver",
          connection: tokenConnection(world.base, world.tokenFile)
        })
        expect(yield* informer.lookup(containerIds.nginx)).toEqual(Option.none())
        yield* eventually(Effect.flatMap(world.lists, (ls) => (ls.length >= 4 ? Effect.void : Effect.fail("waiting"))))
        const errors = yield* errorsIn(logs)
        expect(errors).toHaveLength(1)
        expect(errors[0]?.annotations["status"]).toBe(403)
        expect(String(errors[0]?.annotations["fix"])).toContain("list and watch on pods")
        yield* Ref.set(listStatus, 200)
        yield* found(informer, containerIds.nginx, "web-6c7f9d8b5-q2w4e")
      })
    ))
})
