/**
 * Where a container's cgroup is and what its usage file says (monitor.shortLived: cgroup):
 * the layouts of every runtime in cgroup v1 and v2, and files that are not what they claim.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import {
  cpuCgroupOf,
  parseCpuacctUsage,
  parseCpuStat,
  ticksBetween,
  usageFile
} from "../../src/resource/cgroupUsage.js"

const ID = "a".repeat(64)
const OTHER = "b".repeat(64)

describe("cpuCgroupOf", () => {
  it.each([
    ["docker under systemd", `0::/system.slice/docker-${ID}.scope\n`, `/system.slice/docker-${ID}.scope`],
    [
      "containerd CRI in a pod slice",
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1_2.slice/cri-containerd-${ID}.scope\n`,
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1_2.slice/cri-containerd-${ID}.scope`
    ],
    [
      "rootless podman's container child cgroup: cut after the id",
      `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container\n`,
      `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`
    ],
    [
      "kind-in-docker: the inner container's own cgroup",
      `0::/system.slice/docker-${OTHER}.scope/kubelet.slice/cri-containerd-${ID}.scope/init.scope\n`,
      `/system.slice/docker-${OTHER}.scope/kubelet.slice/cri-containerd-${ID}.scope`
    ]
  ])("v2: %s", (_, file, path) => {
    expect(cpuCgroupOf(file, ID)).toEqual({ version: 2, hierarchy: "", path })
  })

  it("v1: the hierarchy holding cpuacct, not the systemd or memory one", () => {
    const file = [
      `12:memory:/docker/${ID}`,
      `3:cpu,cpuacct:/docker/${ID}`,
      `1:name=systemd:/system.slice/docker-${ID}.scope`
    ].join("\n")
    expect(cpuCgroupOf(file, ID)).toEqual({ version: 1, hierarchy: "cpu,cpuacct", path: `/docker/${ID}` })
    expect(usageFile("/host/sys/fs/cgroup", { version: 1, hierarchy: "cpu,cpuacct", path: `/docker/${ID}` }))
      .toBe(`/host/sys/fs/cgroup/cpu,cpuacct/docker/${ID}/cpuacct.usage`)
    expect(cpuCgroupOf(`4:cpuacct:/kubepods/burstable/pod1/${ID}\n`, ID)).toEqual({
      version: 1,
      hierarchy: "cpuacct",
      path: `/kubepods/burstable/pod1/${ID}`
    })
  })

  it("a path outside joulemon's cgroup namespace is kept as written, for cgroupNamespace.ts to resolve", () => {
    expect(cpuCgroupOf(`0::/../../system.slice/docker-${ID}.scope/init.scope\n`, ID)?.path)
      .toBe(`/../../system.slice/docker-${ID}.scope`)
  })

  it("a hybrid host (v1 controllers and the v2 line) reads v2", () => {
    const file = `3:cpu,cpuacct:/docker/${ID}\n0::/system.slice/docker-${ID}.scope\n`
    expect(cpuCgroupOf(file, ID)?.version).toBe(2)
  })

  it.each([
    ["the id is in no line", `0::/system.slice/docker-${OTHER}.scope\n`],
    ["a v1 file without cpuacct", `12:memory:/docker/${ID}\n1:name=systemd:/docker/${ID}\n`],
    ["no cgroup lines at all", "garbage\n"],
    ["empty", ""]
  ])("none when %s", (_, file) => {
    expect(cpuCgroupOf(file, ID)).toBeUndefined()
  })
})

describe("usage files", () => {
  it("v2 cpu.stat: usage_usec, wherever it is in the file", () => {
    expect(parseCpuStat("usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n")).toBe(123456)
    expect(parseCpuStat("nr_periods 0\nusage_usec 7\n")).toBe(7)
  })

  it("v1 cpuacct.usage: nanoseconds to whole microseconds", () => {
    expect(parseCpuacctUsage("123456789\n")).toBe(123456)
    expect(parseCpuacctUsage("999\n")).toBe(0)
  })

  it.each([
    ["no usage_usec", "user_usec 5\n"],
    ["a negative value", "usage_usec -5\n"],
    ["not a number", "usage_usec 12ab\n"],
    ["past 2^64", "usage_usec 18446744073709551616\n"],
    ["empty", ""]
  ])("cpu.stat with %s is malformed", (_, text) => {
    expect(parseCpuStat(text)).toBeUndefined()
  })

  it.each([["", ""], ["two numbers", "1 2\n"], ["a sign", "+5\n"], ["past 2^64", "18446744073709551616\n"]])(
    "cpuacct.usage %s is malformed",
    (_, text) => {
      expect(parseCpuacctUsage(text)).toBeUndefined()
    }
  )
})

describe("ticksBetween", () => {
  it("successive intervals add up to the total's whole ticks: nothing to carry", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(FastCheck.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 30 }),
        (steps) => {
          let usage = 0
          let ticks = 0
          for (const step of steps) {
            ticks += ticksBetween(usage, usage + step)
            usage += step
          }
          expect(ticks).toBe(Math.floor(usage / 10_000))
        }
      ),
      { seed: 13 }
    )
  })
})
