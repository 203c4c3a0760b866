import { describe, expect, it } from "@effect/vitest"
import { dcgmEndpointProblems } from "../../src/config/dcgmEndpoint.js"

describe("dcgmEndpointProblems", () => {
  for (
    const url of [
      "",
      "http://10.131.2.22:9400/metrics",
      "https://dcgm-exporter.gpu-operator.svc/metrics",
      "http://[::1]:9400/metrics",
      "  http://dcgm:9400  "
    ]
  ) {
    it(`accepts ${JSON.stringify(url)}`, () => {
      expect(dcgmEndpointProblems(url)).toEqual([])
    })
  }

  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["ftp://dcgm/metrics", ["dcgmEndpoint scheme must be http or https, got \"ftp\""]],
    ["dcgm/metrics", ["dcgmEndpoint scheme must be http or https, got \"\"", "dcgmEndpoint must include a host"]],
    ["localhost:9400", [
      "dcgmEndpoint scheme must be http or https, got \"localhost\"",
      "dcgmEndpoint must include a host"
    ]],
    ["http:///metrics", ["dcgmEndpoint must include a host"]],
    ["http://user:secret@dcgm:9400/metrics", ["dcgmEndpoint must not contain credentials"]],
    ["http://dcgm:9400/a\\b", ["dcgmEndpoint must not contain backslashes"]],
    // Go's url.Parse reads a backslash after the port as part of the port, and fails first.
    ["http://dcgm:9400\\metrics", ["invalid dcgmEndpoint: invalid port \":9400\\\\metrics\" after host"]],
    ["http://dcgm:9400/metrics?x=1", ["dcgmEndpoint must not contain query string or fragment"]],
    ["http://dcgm:9400/metrics#top", ["dcgmEndpoint must not contain query string or fragment"]],
    ["http://dcgm:0/metrics", ["dcgmEndpoint: port must be between 1 and 65535, got 0"]],
    ["http://dcgm:99999/metrics", ["dcgmEndpoint: port must be between 1 and 65535, got 99999"]],
    ["http://dcgm:/metrics", ["dcgmEndpoint: port must be numeric, got "]],
    ["http://dcgm:abc/metrics", ["invalid dcgmEndpoint: invalid port \":abc\" after host"]],
    ["http://dc gm:9400/metrics", ["invalid dcgmEndpoint: \"http://dc gm:9400/metrics\" is not a valid URL"]],
    [
      "ftp://u@h:0/?q#f",
      [
        "dcgmEndpoint scheme must be http or https, got \"ftp\"",
        "dcgmEndpoint must not contain credentials",
        "dcgmEndpoint must not contain query string or fragment",
        "dcgmEndpoint: port must be between 1 and 65535, got 0"
      ]
    ]
  ]
  for (const [url, problems] of cases) {
    it(`reports ${JSON.stringify(url)}`, () => {
      expect(dcgmEndpointProblems(url)).toEqual(problems)
    })
  }
})
