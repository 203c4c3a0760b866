import { describe, expect, it } from "@effect/vitest"
import { clientKey } from "../../src/server/clientAddress.js"

describe("clientKey", () => {
  it("keeps an IPv4 address and folds IPv4-mapped IPv6 to it", () => {
    expect(clientKey("127.0.0.1")).toBe("127.0.0.1")
    expect(clientKey("::ffff:10.1.2.3")).toBe("10.1.2.3")
  })

  it("cuts IPv6 to its /64, so one host cannot cycle its own prefix", () => {
    expect(clientKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64")
    expect(clientKey("2001:db8:1:2:ffff:eeee:dddd:cccc")).toBe("2001:db8:1:2::/64")
    expect(clientKey("2001:db8:1:3::1")).not.toBe(clientKey("2001:db8:1:2::1"))
    expect(clientKey("::1")).toBe("::/64")
    expect(clientKey("fe80::1%eth0")).toBe("fe80::/64")
  })

  it("passes through what it cannot parse, and names a missing peer", () => {
    expect(clientKey(undefined)).toBe("unknown")
    expect(clientKey("not an address")).toBe("not an address")
  })
})
