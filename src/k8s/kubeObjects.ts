/**
 * The few fields of Kubernetes objects joulemon reads, as Schemas. Everything else in a Pod or
 * Node (spec, conditions, managed fields, …) is ignored by the decoder, so a kubelet or API
 * server of any recent version decodes, and a field joulemon does not use can never fail it.
 *
 * Go encodes a nil slice as `null` and omits empty fields, so every list is "absent, null or a
 * list" and every string has a default.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const list = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.optionalWith(Schema.Array(item), { nullable: true, default: () => [] })

const text = Schema.optionalWith(Schema.String, { nullable: true, default: () => "" })

export const ContainerStatus = Schema.Struct({
  name: Schema.String,
  /** `<runtime>://<id>`; empty while the container is still being created. */
  containerID: text
})
export type ContainerStatus = typeof ContainerStatus.Type

export const PodStatus = Schema.Struct({
  containerStatuses: list(ContainerStatus),
  initContainerStatuses: list(ContainerStatus),
  ephemeralContainerStatuses: list(ContainerStatus)
})

const noStatus: typeof PodStatus.Type = {
  containerStatuses: [],
  initContainerStatuses: [],
  ephemeralContainerStatuses: []
}

/** A container of the pod spec: only its CPU request is read (monitor.idlePolicy `requests`). */
export const SpecContainer = Schema.Struct({
  name: Schema.String,
  resources: Schema.optionalWith(
    Schema.Struct({
      requests: Schema.optionalWith(Schema.Struct({ cpu: text }), { nullable: true, default: () => ({ cpu: "" }) })
    }),
    { nullable: true, default: () => ({ requests: { cpu: "" } }) }
  )
})

export const PodSpec = Schema.Struct({ containers: list(SpecContainer) })

export const Pod = Schema.Struct({
  metadata: Schema.Struct({
    uid: Schema.String,
    name: Schema.String,
    namespace: text,
    resourceVersion: text
  }),
  spec: Schema.optionalWith(PodSpec, { nullable: true, default: () => ({ containers: [] }) }),
  status: Schema.optionalWith(PodStatus, { nullable: true, default: () => noStatus })
})
export type Pod = typeof Pod.Type

const ListMeta = Schema.Struct({ resourceVersion: text, continue: text })

export const PodList = Schema.Struct({
  metadata: Schema.optionalWith(ListMeta, { nullable: true, default: () => ({ resourceVersion: "", continue: "" }) }),
  items: list(Pod)
})
export type PodList = typeof PodList.Type

export const NodeAddress = Schema.Struct({ type: Schema.String, address: Schema.String })

export const Node = Schema.Struct({
  metadata: Schema.Struct({ name: Schema.String }),
  status: Schema.optionalWith(
    Schema.Struct({
      addresses: list(NodeAddress),
      daemonEndpoints: Schema.optional(
        Schema.NullOr(
          Schema.Struct({
            // The Go field is `Port int32 json:"Port"`: capitalised on the wire.
            kubeletEndpoint: Schema.optional(Schema.NullOr(Schema.Struct({ Port: Schema.optional(Schema.Number) })))
          })
        )
      )
    }),
    { nullable: true, default: () => ({ addresses: [] }) }
  )
})
export type Node = typeof Node.Type

/** The body of most API errors, and the object of a watch `ERROR` event. */
export const Status = Schema.Struct({
  code: Schema.optionalWith(Schema.Number, { nullable: true, default: () => 0 }),
  reason: text,
  message: text
})
export type Status = typeof Status.Type

/** One line of a watch stream; `object` is decoded according to `type`. */
const WatchEventEnvelope = Schema.Struct({
  type: Schema.Literal("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"),
  object: Schema.Unknown
})

/** A BOOKMARK carries only a resourceVersion (no uid or name). */
const Bookmark = Schema.Struct({ metadata: Schema.Struct({ resourceVersion: text }) })

export type WatchEvent =
  | { readonly _tag: "Upsert"; readonly pod: Pod }
  | { readonly _tag: "Delete"; readonly pod: Pod }
  | { readonly _tag: "Bookmark"; readonly resourceVersion: string }
  | { readonly _tag: "Error"; readonly status: Status }

const decode = <A, I>(schema: Schema.Schema<A, I>, value: unknown): Either.Either<A, string> =>
  Schema.decodeUnknownEither(schema)(value).pipe(
    Either.mapLeft((error) => ParseResult.TreeFormatter.formatErrorSync(error))
  )

/** Decodes one parsed line of a watch stream; the error text says what did not match. */
export const decodeWatchEvent = (json: unknown): Either.Either<WatchEvent, string> =>
  Either.flatMap(decode(WatchEventEnvelope, json), (envelope): Either.Either<WatchEvent, string> => {
    switch (envelope.type) {
      case "ADDED":
      case "MODIFIED":
        return Either.map(decode(Pod, envelope.object), (pod) => ({ _tag: "Upsert", pod }))
      case "DELETED":
        return Either.map(decode(Pod, envelope.object), (pod) => ({ _tag: "Delete", pod }))
      case "BOOKMARK":
        return Either.map(decode(Bookmark, envelope.object), (b) => ({
          _tag: "Bookmark",
          resourceVersion: b.metadata.resourceVersion
        }))
      case "ERROR":
        return Either.map(decode(Status, envelope.object), (status) => ({ _tag: "Error", status }))
    }
  })
