/**
 * `web.listenAddresses` entries in Go's host:port form (`:28282`, `localhost:8080`,
 * `[::1]:8080`). Validation messages live with the config; this only turns a valid entry into
 * Node's listen options.
 */
export interface ListenTarget {
  readonly address: string
  /** undefined = every interface (Go's empty host). */
  readonly host: string | undefined
  readonly port: number
}

export const parseListenAddress = (address: string): ListenTarget | string => {
  const trimmed = address.trim()
  const colon = trimmed.lastIndexOf(":")
  if (colon < 0) return `missing port in address "${trimmed}"`
  let host = trimmed.slice(0, colon)
  const portText = trimmed.slice(colon + 1)
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1)
  else if (host.includes(":")) return `too many colons in address "${trimmed}"`
  if (!/^\d+$/.test(portText)) return `port must be numeric, got ${portText}`
  const port = Number(portText)
  if (port < 1 || port > 65535) return `port must be between 1 and 65535, got ${port}`
  return { address: trimmed, host: host === "" ? undefined : host, port }
}
