/**
 * `experimental.gpu.dcgmEndpoint` rules (kepler-behaviour.md §2.3): an http(s) URL with a host,
 * no credentials, no backslash, no query or fragment, and a port (if any) in 1–65535. Each
 * failure has Kepler's own message.
 *
 * Kepler splits the URL with Go's `net/url`; WHATWG's `URL` normalises too much to report the
 * same things (it turns `\` into `/`, drops default ports, throws on a port over 65535), so the
 * parts are split here by RFC 3986's outline and `URL` is only the final syntax check.
 */
import * as Either from "effect/Either"
import { checkPort, splitHostPort } from "./listenAddress.js"

interface UrlParts {
  readonly scheme: string
  readonly hasUserInfo: boolean
  readonly hostPort: string
  readonly query: string
  readonly fragment: string
}

const splitUrl = (url: string): UrlParts => {
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)
  const scheme = schemeMatch?.[1]?.toLowerCase() ?? ""
  let rest = schemeMatch === null ? url : url.slice(schemeMatch[0].length)

  const hashAt = rest.indexOf("#")
  const fragment = hashAt < 0 ? "" : rest.slice(hashAt + 1)
  rest = hashAt < 0 ? rest : rest.slice(0, hashAt)
  const queryAt = rest.indexOf("?")
  const query = queryAt < 0 ? "" : rest.slice(queryAt + 1)
  rest = queryAt < 0 ? rest : rest.slice(0, queryAt)

  let authority = ""
  if (rest.startsWith("//")) {
    const afterSlashes = rest.slice(2)
    const pathAt = afterSlashes.indexOf("/")
    authority = pathAt < 0 ? afterSlashes : afterSlashes.slice(0, pathAt)
  }
  const at = authority.lastIndexOf("@")
  return {
    scheme,
    hasUserInfo: at >= 0,
    hostPort: authority.slice(at + 1),
    query,
    fragment
  }
}

/** Every rule the endpoint breaks, in Kepler's words; empty when it is fine or unset. */
export const dcgmEndpointProblems = (endpoint: string): ReadonlyArray<string> => {
  const url = endpoint.trim()
  if (url === "") return []
  const parts = splitUrl(url)

  // Go's url.Parse itself rejects a non-numeric port before any of the rules run.
  const hostPort = Either.getOrUndefined(splitHostPort(parts.hostPort))
  if (hostPort !== undefined && hostPort.port !== "" && !/^\d+$/.test(hostPort.port)) {
    return [`invalid dcgmEndpoint: invalid port ${JSON.stringify(`:${hostPort.port}`)} after host`]
  }

  const problems: Array<string> = []
  if (parts.scheme !== "http" && parts.scheme !== "https") {
    problems.push(`dcgmEndpoint scheme must be http or https, got ${JSON.stringify(parts.scheme)}`)
  }
  const host = hostPort?.host ?? parts.hostPort
  if (host === "") problems.push("dcgmEndpoint must include a host")
  if (parts.hasUserInfo) problems.push("dcgmEndpoint must not contain credentials")
  if (url.includes("\\")) problems.push("dcgmEndpoint must not contain backslashes")
  if (parts.query !== "" || parts.fragment !== "") {
    problems.push("dcgmEndpoint must not contain query string or fragment")
  }
  if (hostPort !== undefined) {
    Either.match(checkPort(hostPort.port), {
      onLeft: (error) => problems.push(`dcgmEndpoint: ${error}`),
      onRight: () => undefined
    })
  }
  if (problems.length === 0 && !URL.canParse(url)) {
    problems.push(`invalid dcgmEndpoint: ${JSON.stringify(url)} is not a valid URL`)
  }
  return problems
}
