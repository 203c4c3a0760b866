import { describe, expect, it } from "vitest"
import { classifyProcess } from "../../src/resource/classify.js"
import { capLabelValue, LABEL_VALUE_MAX_CHARS } from "../../src/resource/classify/labelValue.js"

const DOCKER = `0::/system.slice/docker-${"b".repeat(64)}.scope\n`

describe("label values from a process's environment and command line", () => {
  it("keep names up to 253 characters and cut longer ones there, never inside a surrogate pair", () => {
    expect(LABEL_VALUE_MAX_CHARS).toBe(253)
    expect(capLabelValue("web-1")).toBe("web-1")
    expect(capLabelValue("a".repeat(253))).toBe("a".repeat(253))
    expect(capLabelValue("a".repeat(254))).toBe("a".repeat(253))
    const emoji = "😀".repeat(300)
    expect(Array.from(capLabelValue(emoji))).toEqual(Array.from("😀".repeat(253)))
    expect(capLabelValue(`${"a".repeat(252)}😀x`)).toBe(`${"a".repeat(252)}😀`)
  })

  it("a 200 KB HOSTNAME, CONTAINER_NAME or --name gives a container name of 253 characters", () => {
    const huge = "h".repeat(200_000)
    for (
      const [environ, cmdline] of [[[`HOSTNAME=${huge}`], []], [[`CONTAINER_NAME=${huge}`], []], [[], [
        "app",
        `--name=${huge}`
      ]]] as const
    ) {
      const c = classifyProcess({ cgroup: DOCKER, cmdline, environ })
      expect(c.type === "container" ? c.container.name : "").toBe("h".repeat(253))
    }
  })

  it("a VM's -name and -uuid from a huge command line are cut to 253 characters", () => {
    const huge = "v".repeat(100_000)
    const c = classifyProcess({
      cgroup: "0::/\n",
      cmdline: ["/usr/bin/qemu-system-x86_64", "-name", `guest=${huge},debug-threads=on`, "-uuid", huge],
      environ: []
    })
    expect(c.type === "vm" ? [c.vm.name, c.vm.id] : []).toEqual(["v".repeat(253), "v".repeat(253)])
  })
})
