import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { decodeWatchEvent, Node } from "../../src/k8s/kubeObjects.js"
import { nodeBody } from "./fakeKube.js"

describe("Node", () => {
  it("reads the InternalIP and the kubelet port (capitalised Port on the wire)", () => {
    const node = Schema.decodeUnknownSync(Node)(JSON.parse(nodeBody(10250)))
    expect(node.status.addresses.find((a) => a.type === "InternalIP")?.address).toBe("127.0.0.1")
    expect(node.status.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10250)
  })
})

describe("decodeWatchEvent", () => {
  const podObject = { metadata: { uid: "u", name: "n", namespace: "ns", resourceVersion: "9" } }
  it.each([
    ["ADDED", "Upsert"],
    ["MODIFIED", "Upsert"],
    ["DELETED", "Delete"]
  ])("%s → %s", (type, tag) => {
    expect(Either.getOrThrow(decodeWatchEvent({ type, object: podObject }))._tag).toBe(tag)
  })

  it("BOOKMARK carries only a resourceVersion; ERROR a Status", () => {
    expect(Either.getOrThrow(decodeWatchEvent({ type: "BOOKMARK", object: { metadata: { resourceVersion: "77" } } })))
      .toEqual({
        _tag: "Bookmark",
        resourceVersion: "77"
      })
    const error = Either.getOrThrow(
      decodeWatchEvent({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: "too old" } })
    )
    expect(error).toEqual({ _tag: "Error", status: { code: 410, reason: "Expired", message: "too old" } })
  })

  it("rejects an unknown type or a pod without a uid, saying what is wrong", () => {
    const unknownType = decodeWatchEvent({ type: "RENAMED", object: podObject })
    expect(Either.isLeft(unknownType) && unknownType.left).toContain("RENAMED")
    const noUid = decodeWatchEvent({ type: "ADDED", object: { metadata: { name: "n" } } })
    expect(Either.isLeft(noUid) && noUid.left).toContain("uid")
  })
})
