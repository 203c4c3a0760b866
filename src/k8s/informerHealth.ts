/**
 * What an operator is told when the pod informer cannot reach Kubernetes, and how it retries.
 *
 * A failing informer must not flood the log (it retries every few seconds for as long as the
 * problem lasts), yet every *new* problem must be visible with its fix. So a failure is logged
 * when its signature (status and endpoint) differs from the last one logged, and recovery is
 * logged once. Every failure and every success also goes to the informer's telemetry
 * (`joulemon_kube_informer_*`, SelfMetrics.ts), which alerts read instead of the log.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { KubeRequestError } from "./KubeHttp.js"

/** What the failed request was for; the RBAC rule to grant depends on it. */
export type RequestTarget = "node" | "kubelet" | "pods"

const RBAC = "deploy/kubernetes/rbac.yaml"

/** The fix to print next to a failure, or "" when there is nothing specific to say. */
export const fixFor = (error: KubeRequestError, target: RequestTarget, nodeName: string): string => {
  if (error.status === 0 && error.reason.startsWith("cannot read the bearer token")) {
    return "mount the service-account token into the pod (automountServiceAccountToken must not be false), or give kube.config a user with a token"
  }
  switch (error.status) {
    case 0:
      return target === "kubelet"
        ? `check that the kubelet at ${
          origin(error.url)
        } is reachable from the pod (port 10250 of the node's InternalIP, not blocked by a NetworkPolicy or firewall), or set kube.podInformer.mode: apiserver`
        : `check that the API server at ${
          origin(error.url)
        } is reachable from the pod (kube.config's server, or KUBERNETES_SERVICE_HOST in a pod)`
    case 401:
      return target === "kubelet"
        ? "the kubelet rejected the credentials: it must accept service-account tokens (kubelet authentication.webhook.enabled: true) and the token must be valid"
        : "the API server rejected the credentials: check that the service-account token is mounted and not expired, or that kube.config's user is valid"
    case 403:
      switch (target) {
        case "node":
          return `the service account may not read nodes: grant get on nodes in its ClusterRole (${RBAC})`
        case "kubelet":
          return `the kubelet authorises /pods as nodes/pods (Kubernetes 1.33+) and, before 1.33, as nodes/proxy: grant get on nodes/pods in the service account's ClusterRole (${RBAC}), and on clusters older than 1.33 get on nodes/proxy (deploy/kubernetes/optional/rbac-kubelet-legacy.yaml)`
        case "pods":
          return `the service account may not list pods: grant list and watch on pods in its ClusterRole (${RBAC})`
      }
      return ""
    case 404:
      return target === "node"
        ? `there is no node named ${
          JSON.stringify(nodeName)
        }: kube.nodeName must be the Kubernetes node name (a DaemonSet passes spec.nodeName through the downward API)`
        : ""
    default:
      return ""
  }
}

const origin = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** Same status on the same endpoint (query ignored: a watch's resourceVersion changes). */
export const failureSignature = (error: KubeRequestError): string => {
  let endpoint = error.url
  try {
    const u = new URL(error.url)
    endpoint = u.origin + u.pathname
  } catch {
    // keep the raw text
  }
  return error.status === 0 ? `0 ${endpoint} ${error.reason}` : `${error.status} ${endpoint}`
}

/**
 * Why a request to Kubernetes failed, as few values as an alert needs (the log has the detail):
 * - unauthorized: 401, or no credentials to present (the token file cannot be read);
 * - forbidden: 403, an RBAC rule is missing;
 * - unreachable: no answer (connection refused or reset, TLS, DNS, timeout);
 * - decode: an answer joulemon cannot read (not JSON, not the expected object or watch event);
 * - other: every other status (404 for kube.nodeName, 5xx, a Node without an InternalIP).
 */
export const INFORMER_ERROR_REASONS = ["unauthorized", "forbidden", "unreachable", "decode", "other"] as const
export type InformerErrorReason = (typeof INFORMER_ERROR_REASONS)[number]

/** The KubeHttp.ts reasons of answers that came but could not be read. */
const UNDECODABLE = ["unreadable body", "unexpected body", "undecodable watch event"]

export const errorReason = (error: KubeRequestError): InformerErrorReason => {
  if (error.status === 0) {
    return error.reason.startsWith("cannot read the bearer token") ? "unauthorized" : "unreachable"
  }
  if (error.status === 401) return "unauthorized"
  if (error.status === 403) return "forbidden"
  if (UNDECODABLE.some((prefix) => error.reason.startsWith(prefix))) return "decode"
  return "other"
}

/** Where the informer's health goes besides the log: SelfMetrics' `podInformer`. */
export interface InformerTelemetry {
  /** A request succeeded at `atMillis` (Unix time): the informer is connected. */
  readonly connected: (atMillis: number) => Effect.Effect<void>
  /** A request failed: the informer is not connected. Called for every failure, logged or not. */
  readonly failed: (reason: InformerErrorReason) => Effect.Effect<void>
}

export const noInformerTelemetry: InformerTelemetry = {
  connected: () => Effect.void,
  failed: () => Effect.void
}

export interface HealthReporter {
  readonly failed: (error: KubeRequestError, target: RequestTarget) => Effect.Effect<void>
  readonly succeeded: Effect.Effect<void>
}

export const makeHealthReporter = (
  context: { readonly mode: string; readonly nodeName: string },
  telemetry: InformerTelemetry
) =>
  Effect.gen(function*() {
    /** None while healthy; the signature of the last failure logged otherwise. */
    const lastFailure = yield* Ref.make<Option.Option<string>>(Option.none())
    const connected = yield* Ref.make(false)
    const failed = (error: KubeRequestError, target: RequestTarget): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* Ref.set(connected, false)
        yield* telemetry.failed(errorReason(error))
        const signature = failureSignature(error)
        const previous = yield* Ref.getAndSet(lastFailure, Option.some(signature))
        if (Option.isSome(previous) && previous.value === signature) return
        const fix = fixFor(error, target, context.nodeName)
        yield* Effect.logError(
          `pod informer: ${error.message}; containers are attributed without pod labels until it recovers (retrying with backoff)`
        ).pipe(
          Effect.annotateLogs({
            mode: context.mode,
            node: context.nodeName,
            url: error.url,
            status: error.status,
            ...(fix === "" ? {} : { fix })
          })
        )
      })
    const succeeded = Effect.gen(function*() {
      yield* telemetry.connected(yield* Clock.currentTimeMillis)
      const wasConnected = yield* Ref.getAndSet(connected, true)
      const previous = yield* Ref.getAndSet(lastFailure, Option.none())
      if (!wasConnected) {
        yield* Effect.logInfo(
          Option.isSome(previous) ? "pod informer: connected again, pod labels resume" : "pod informer: connected"
        ).pipe(Effect.annotateLogs({ mode: context.mode, node: context.nodeName }))
      }
    })
    return { failed, succeeded } satisfies HealthReporter
  })

export interface RetryPolicy {
  /** Delay after the first failure; doubled after each further one. */
  readonly base: Duration.Duration
  readonly cap: Duration.Duration
}

export const defaultRetryPolicy: RetryPolicy = { base: Duration.seconds(1), cap: Duration.seconds(30) }

/**
 * base, 2·base, 4·base, … up to cap, each ±20 % so that every node's joulemon does not hit a
 * recovering API server in the same second.
 */
export const retrySchedule = (policy: RetryPolicy) =>
  Schedule.exponential(policy.base).pipe(Schedule.union(Schedule.spaced(policy.cap)), Schedule.jittered)
