/**
 * Who is asking, for the per-client limits of the web config (rate limit, pending password
 * checks): the peer's IP address, with IPv4-mapped IPv6 folded to IPv4 and other IPv6 addresses
 * cut to their /64 — the smallest block a site is usually given, so one host cannot dodge its
 * limit by cycling through the addresses of its own prefix.
 */
import ipaddr from "ipaddr.js"

export const clientKey = (remoteAddress: string | undefined): string => {
  if (remoteAddress === undefined || !ipaddr.isValid(remoteAddress)) return remoteAddress ?? "unknown"
  const address = ipaddr.process(remoteAddress)
  if (address.kind() === "ipv4") return address.toString()
  const prefix = ipaddr.IPv6.networkAddressFromCIDR(`${address.toNormalizedString().replace(/%.*$/, "")}/64`)
  return `${prefix.toString()}/64`
}
