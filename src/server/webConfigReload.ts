/**
 * Certificate rotation without a restart. exporter-toolkit (so Kepler) re-reads the web config and
 * certificates on every connection, and operators rely on it: cert-manager or a Kubernetes secret
 * swaps the files in place and scrapes keep working. Here the file is re-read on a timer instead
 * (a minute by default; rotations overlap by days), fully checked again, and a new certificate,
 * key, client CA or TLS setting is applied to the running servers for new connections. A file
 * that became invalid is reported and the settings in use stay. Settings a running server
 * cannot change (TLS on/off, client_auth_type, client_allowed_sans, users, headers, rate limit)
 * are reported as needing a restart.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as tls from "node:tls"
import type { TlsPlan } from "./tls.js"
import { loadWebConfig, type WebSettings } from "./webConfigLoad.js"

export const WEB_CONFIG_RELOAD_INTERVAL = Duration.minutes(1)

/** A running server whose TLS context can be replaced (Node's `tls.Server`). */
export interface ReloadableServer {
  readonly setSecureContext: (options: tls.SecureContextOptions) => void
}

const CONTEXT_KEYS = [
  "cert",
  "key",
  "ca",
  "ciphers",
  "ecdhCurve",
  "minVersion",
  "maxVersion",
  "honorCipherOrder"
] as const

/** The TLS-context part of a plan, comparable as a string. */
const contextOf = (plan: TlsPlan | undefined): string =>
  plan === undefined ? "" : JSON.stringify(CONTEXT_KEYS.map((k) => plan.options[k] ?? null))

export interface SettingsChange {
  /** New certificate, key, CA or TLS parameters to apply. */
  readonly tlsContext: boolean
  /** Keys that changed but only take effect after a restart. */
  readonly needRestart: ReadonlyArray<string>
}

/** What differs between the settings in use and the file's current ones. */
export const compareSettings = (current: WebSettings, next: WebSettings): SettingsChange => {
  const needRestart: Array<string> = []
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b)
  if ((current.tls === undefined) !== (next.tls === undefined)) needRestart.push("tls_server_config (TLS on/off)")
  if (differs(current.tls?.clientAuth, next.tls?.clientAuth)) needRestart.push("tls_server_config.client_auth_type")
  if (differs(current.tls?.allowedSans, next.tls?.allowedSans)) {
    needRestart.push("tls_server_config.client_allowed_sans")
  }
  if (differs(current.users, next.users)) needRestart.push("basic_auth_users")
  if (differs(current.headers, next.headers)) needRestart.push("http_server_config.headers")
  if (differs(current.rateLimit, next.rateLimit)) needRestart.push("rate_limit")
  const tlsContext = current.tls !== undefined && next.tls !== undefined &&
    contextOf(current.tls) !== contextOf(next.tls)
  return { tlsContext, needRestart }
}

/**
 * Checks the file every `every` and applies what can be applied to `servers`. Runs in the
 * caller's scope (the web config layer), so it stops with the servers.
 */
export const watchWebConfig = (
  initial: WebSettings,
  servers: Effect.Effect<ReadonlyArray<ReloadableServer>>,
  every: Duration.Duration = WEB_CONFIG_RELOAD_INTERVAL
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const applied = yield* Ref.make(initial)
    // Each distinct problem or pending restart is logged once, not every minute.
    const reported = yield* Ref.make("")
    const once = (key: string, log: Effect.Effect<void>) =>
      Ref.getAndSet(reported, key).pipe(Effect.flatMap((previous) => (previous === key ? Effect.void : log)))

    const check = Effect.gen(function*() {
      const loaded = yield* loadWebConfig(initial.file).pipe(Effect.either)
      if (Either.isLeft(loaded)) {
        return yield* once(
          loaded.left.message,
          Effect.logError("web config changed and is no longer valid; keeping the settings in use").pipe(
            Effect.annotateLogs({ error: loaded.left.message })
          )
        )
      }
      const next = loaded.right
      const current = yield* Ref.get(applied)
      const change = compareSettings(current, next)
      if (change.tlsContext && current.tls !== undefined && next.tls !== undefined) {
        for (const server of yield* servers) server.setSecureContext(next.tls.options)
        // Only the TLS context changed in use; the rest stays as started (and stays reported).
        yield* Ref.set(applied, { ...current, tls: { ...current.tls, options: next.tls.options } })
        yield* Effect.logInfo("web config reloaded: new TLS certificate and settings apply to new connections")
        for (const warning of next.warnings) yield* Effect.logWarning(warning)
      }
      if (change.needRestart.length > 0) {
        yield* once(
          `restart:${change.needRestart.join(",")}`,
          Effect.logWarning(`web config changed; restart joulemon to apply: ${change.needRestart.join(", ")}`)
        )
      } else {
        yield* Ref.set(reported, "")
      }
    }).pipe(Effect.annotateLogs({ component: "web", file: initial.file }))

    yield* Effect.forkScoped(Effect.schedule(check, Schedule.spaced(every)))
  })
