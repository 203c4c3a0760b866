import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import { checkPort, listenAddressProblem, splitHostPort, toListenTarget } from "../../src/config/listenAddress.js"

describe("splitHostPort (Go's net.SplitHostPort)", () => {
  it("splits host and port", () => {
    expect(splitHostPort(":8080")).toEqual(Either.right({ host: "", port: "8080" }))
    expect(splitHostPort("localhost:8080")).toEqual(Either.right({ host: "localhost", port: "8080" }))
    expect(splitHostPort("[::1]:8080")).toEqual(Either.right({ host: "::1", port: "8080" }))
    expect(splitHostPort("localhost:")).toEqual(Either.right({ host: "localhost", port: "" }))
  })

  const errors: ReadonlyArray<readonly [string, string]> = [
    ["localhost", "address localhost: missing port in address"],
    ["::1:8080", "address ::1:8080: too many colons in address"],
    ["[::1]", "address [::1]: missing port in address"],
    ["[::1", "address [::1: missing ']' in address"],
    ["[::1]x:80", "address [::1]x:80: missing port in address"],
    ["[::1]:80:90", "address [::1]:80:90: too many colons in address"],
    ["a]:80", "address a]:80: unexpected ']' in address"],
    ["a[b:80", "address a[b:80: unexpected '[' in address"]
  ]
  for (const [address, message] of errors) {
    it(`rejects ${JSON.stringify(address)}`, () => {
      expect(splitHostPort(address)).toEqual(Either.left(message))
    })
  }
})

describe("listenAddressProblem (Kepler's listen-address rule)", () => {
  for (const address of [":8080", "localhost:8080", "[::1]:8080", "0.0.0.0:28282", "host:1", "host:65535"]) {
    it(`accepts ${JSON.stringify(address)}`, () => {
      expect(listenAddressProblem(address)).toBeUndefined()
    })
  }

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ["", "web listen address cannot be empty"],
    [":0", "invalid web listen address \":0\": port must be between 1 and 65535, got 0"],
    [":", "invalid web listen address \":\": port must be numeric, got "],
    [
      "localhost",
      "invalid web listen address \"localhost\": invalid address format: address localhost: missing port in address"
    ],
    ["localhost:", "invalid web listen address \"localhost:\": port must be numeric, got "],
    [":99999", "invalid web listen address \":99999\": port must be between 1 and 65535, got 99999"],
    [":http", "invalid web listen address \":http\": port must be numeric, got http"],
    [":-1", "invalid web listen address \":-1\": port must be between 1 and 65535, got -1"]
  ]
  for (const [address, message] of invalid) {
    it(`rejects ${JSON.stringify(address)}`, () => {
      expect(listenAddressProblem(address)).toBe(message)
    })
  }

  it("accepts every port in range and rejects every one outside (property)", () => {
    const host = FastCheck.constantFrom("", "localhost", "127.0.0.1", "[::1]", "node-1.example")
    FastCheck.assert(
      FastCheck.property(host, FastCheck.integer({ min: -70_000, max: 140_000 }), (h, port) => {
        const problem = listenAddressProblem(`${h}:${port}`)
        if (port >= 1 && port <= 65535) expect(problem).toBeUndefined()
        else {expect(problem).toBe(
            `invalid web listen address "${h}:${port}": port must be between 1 and 65535, got ${port}`
          )}
      }),
      { seed: 42, numRuns: 500 }
    )
  })
})

describe("checkPort (strconv.Atoi rules)", () => {
  it("takes a sign and leading zeros like Go", () => {
    expect(checkPort("+80")).toEqual(Either.right(80))
    expect(checkPort("0080")).toEqual(Either.right(80))
  })
  it("calls an int64 overflow non-numeric, as Atoi fails", () => {
    expect(checkPort("99999999999999999999")).toEqual(Either.left("port must be numeric, got 99999999999999999999"))
  })
})

describe("toListenTarget", () => {
  it("turns valid addresses into listen options", () => {
    expect(toListenTarget(":28282")).toEqual(Either.right({ address: ":28282", host: undefined, port: 28282 }))
    expect(toListenTarget("[::1]:8080")).toEqual(Either.right({ address: "[::1]:8080", host: "::1", port: 8080 }))
    expect(toListenTarget("localhost:9100")).toEqual(
      Either.right({ address: "localhost:9100", host: "localhost", port: 9100 })
    )
  })
  it("gives Kepler's reason for invalid ones", () => {
    expect(toListenTarget("localhost:")).toEqual(Either.left("port must be numeric, got "))
    expect(toListenTarget(":0")).toEqual(Either.left("port must be between 1 and 65535, got 0"))
    expect(toListenTarget("localhost")).toEqual(Either.left("address localhost: missing port in address"))
  })
})
