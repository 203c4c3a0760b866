import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { type FlagNames, normalizeArgs } from "../../src/cli/argv.js"

const names: FlagNames = {
  booleans: ["kube.enable", "exporter.stdout"],
  valued: ["web.listen-address", "metrics", "log.level"]
}
const normalize = (args: ReadonlyArray<string>) => normalizeArgs(args, names)

describe("normalizeArgs", () => {
  it("splits --name=value for value flags (a repeated @effect/cli option needs it)", () => {
    expect(normalize(["--web.listen-address=:99999", "--metrics=node", "--log.level", "info"])).toEqual(
      Either.right(["--web.listen-address", ":99999", "--metrics", "node", "--log.level", "info"])
    )
  })

  it("keeps an '=' inside the value", () => {
    expect(normalize(["--log.level=a=b"])).toEqual(Either.right(["--log.level", "a=b"]))
  })

  const booleans: ReadonlyArray<readonly [ReadonlyArray<string>, ReadonlyArray<string>]> = [
    [["--kube.enable"], ["--kube.enable"]],
    [["--no-kube.enable"], ["--no-kube.enable"]],
    [["--kube.enable=true"], ["--kube.enable"]],
    [["--kube.enable=false"], ["--no-kube.enable"]],
    [["--kube.enable=FALSE"], ["--no-kube.enable"]],
    [["--kube.enable=0"], ["--no-kube.enable"]],
    [["--kube.enable", "false"], ["--no-kube.enable"]],
    [["--kube.enable", "yes"], ["--kube.enable"]],
    [["--no-kube.enable=false"], ["--kube.enable"]],
    [["--no-kube.enable=true"], ["--no-kube.enable"]],
    [["--KUBE.ENABLE"], ["--kube.enable"]]
  ]
  for (const [input, output] of booleans) {
    it(`folds ${input.join(" ")} into ${output.join(" ")}`, () => {
      expect(normalize(input)).toEqual(Either.right(output))
    })
  }

  it("lets the last spelling of a boolean win, as kingpin does", () => {
    expect(normalize(["--kube.enable", "--exporter.stdout", "--no-kube.enable"])).toEqual(
      Either.right(["--exporter.stdout", "--no-kube.enable"])
    )
    expect(normalize(["--no-kube.enable", "--kube.enable=true"])).toEqual(Either.right(["--kube.enable"]))
  })

  it("does not take a non-boolean next word as a boolean's value", () => {
    expect(normalize(["--kube.enable", "--metrics", "node"])).toEqual(
      Either.right(["--kube.enable", "--metrics", "node"])
    )
    expect(normalize(["--kube.enable", "stray"])).toEqual(Either.right(["--kube.enable", "stray"]))
  })

  it("rejects an unrecognised boolean value, naming the flag", () => {
    expect(normalize(["--kube.enable=maybe"])).toEqual(
      Either.left("--kube.enable: expected true or false, got \"maybe\"")
    )
  })

  it("leaves unknown flags and everything after -- alone", () => {
    expect(normalize(["--help", "--bogus=1", "--", "--kube.enable=x"])).toEqual(
      Either.right(["--help", "--bogus=1", "--", "--kube.enable=x"])
    )
  })
})
