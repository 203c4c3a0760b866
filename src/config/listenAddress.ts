/**
 * `web.listenAddresses` entries follow Go's `net.SplitHostPort` rules, as Kepler checks them
 * (kepler-behaviour.md §2.3): `:8080`, `localhost:8080` and `[::1]:8080` are valid; `:0`, `:`,
 * `localhost` and `localhost:` are not. The texts are Go's and Kepler's.
 */
import * as Either from "effect/Either"

export interface HostPort {
  readonly host: string
  readonly port: string
}

/** Go's `net.SplitHostPort`, with its `*net.AddrError` text (`address x: missing port in address`). */
export const splitHostPort = (address: string): Either.Either<HostPort, string> => {
  const fail = (why: string) => Either.left(`address ${address}: ${why}`)
  const lastColon = address.lastIndexOf(":")
  if (lastColon < 0) return fail("missing port in address")

  let host: string
  let noOpenBracketFrom = 0
  let noCloseBracketFrom = 0
  if (address.startsWith("[")) {
    const end = address.indexOf("]")
    if (end < 0) return fail("missing ']' in address")
    if (end + 1 === address.length) return fail("missing port in address")
    if (end + 1 !== lastColon) {
      return fail(address[end + 1] === ":" ? "too many colons in address" : "missing port in address")
    }
    host = address.slice(1, end)
    noOpenBracketFrom = 1
    noCloseBracketFrom = end + 1
  } else {
    host = address.slice(0, lastColon)
    if (host.includes(":")) return fail("too many colons in address")
  }
  if (address.slice(noOpenBracketFrom).includes("[")) return fail("unexpected '[' in address")
  if (address.slice(noCloseBracketFrom).includes("]")) return fail("unexpected ']' in address")
  return Either.right({ host, port: address.slice(lastColon + 1) })
}

/** Go's `strconv.Atoi` accepts an optional sign and decimal digits within int64. */
const atoi = (text: string): number | undefined => {
  if (!/^[+-]?\d+$/.test(text)) return undefined
  const value = BigInt(text)
  if (value > (1n << 63n) - 1n || value < -(1n << 63n)) return undefined
  return Number(value)
}

/** Kepler's `validatePort`: `port must be numeric, got x` / `port must be between 1 and 65535, got n`. */
export const checkPort = (port: string): Either.Either<number, string> => {
  const value = atoi(port)
  if (value === undefined) return Either.left(`port must be numeric, got ${port}`)
  if (value < 1 || value > 65535) return Either.left(`port must be between 1 and 65535, got ${value}`)
  return Either.right(value)
}

/** Why `address` cannot be listened on, in Kepler's words; `undefined` when it is fine. */
export const listenAddressProblem = (address: string): string | undefined => {
  if (address === "") return "web listen address cannot be empty"
  const problem = Either.match(splitHostPort(address), {
    onLeft: (error) => `invalid address format: ${error}`,
    onRight: ({ port }) => Either.match(checkPort(port), { onLeft: (error) => error, onRight: () => undefined })
  })
  return problem === undefined ? undefined : `invalid web listen address ${JSON.stringify(address)}: ${problem}`
}

/** A valid listen address as Node's listen options want it. */
export interface ListenTarget {
  readonly address: string
  /** undefined = every interface (Go's empty host). */
  readonly host: string | undefined
  readonly port: number
}

/** The same rules as validation, turned into listen options (the Left is Kepler's text). */
export const toListenTarget = (address: string): Either.Either<ListenTarget, string> =>
  Either.flatMap(
    splitHostPort(address.trim()),
    ({ host, port }) => Either.map(checkPort(port), (p) => ({ address, host: host === "" ? undefined : host, port: p }))
  )
