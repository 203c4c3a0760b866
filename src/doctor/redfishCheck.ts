/**
 * Whether the BMC answers with the configured credentials: the BMC file resolved as at startup,
 * then one GET of the Chassis collection (the first thing the poller reads).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { JoulemonConfig } from "../config/Config.js"
import { displayEndpoint } from "../platform/bmcConfig.js"
import { resolveRedfishOptions } from "../platform/PlatformPower.js"
import { makeRedfishClient } from "../platform/redfishClient.js"
import { type CheckResult, failed, passed } from "./verdict.js"

export type RedfishFacts =
  | { readonly _tag: "Off" }
  | { readonly _tag: "BadConfig"; readonly reason: string }
  | { readonly _tag: "Requested"; readonly endpoint: string; readonly error: string | undefined }

const CHASSIS = "/redfish/v1/Chassis"

export const readRedfishFacts = (config: JoulemonConfig): Effect.Effect<RedfishFacts> =>
  Effect.gen(function*() {
    if (!config.experimental.platform.redfish.enabled) return { _tag: "Off" } as const
    const options = yield* Effect.either(resolveRedfishOptions(config))
    if (Either.isLeft(options)) return { _tag: "BadConfig", reason: options.left.message } as const
    const { bmcId, bmc, httpTimeout } = options.right
    const client = yield* makeRedfishClient({ bmcId, bmc, timeout: Duration.min(httpTimeout, Duration.seconds(10)) })
    const answer = yield* Effect.either(client.get(CHASSIS))
    return {
      _tag: "Requested",
      endpoint: displayEndpoint(bmc.endpoint),
      error: Either.isLeft(answer) ? answer.left.message : undefined
    } as const
  }).pipe(Effect.scoped, Effect.withSpan("Doctor.readRedfishFacts"))

export const redfishCheck = (facts: RedfishFacts): CheckResult => {
  const title = "Redfish BMC"
  switch (facts._tag) {
    case "Off":
      return passed("redfish", title, "off (--experimental.platform.redfish.enabled not given)")
    case "BadConfig":
      return failed(
        "redfish",
        title,
        facts.reason,
        "fix the BMC file named by --experimental.platform.redfish.config-file (nodes: this node's name → a BMC id; bmcs: endpoint, username, password)",
        "fatal"
      )
    case "Requested":
      return facts.error === undefined
        ? passed("redfish", title, `${facts.endpoint} answered ${CHASSIS}`)
        : failed(
          "redfish",
          title,
          `${facts.endpoint}: ${facts.error}`,
          "check the BMC's address and that it is reachable from this host, its username and password in the BMC file, and insecure: true for a self-signed certificate",
          "degraded"
        )
  }
}
