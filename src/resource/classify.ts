/**
 * Process classification (kepler-behaviour.md §4.3–§4.4): regular, container (from the cgroup
 * file) or VM (from the command line). Pure functions of file contents; the procfs reader
 * calls them once per NEW process, so they avoid work and allocation on the common path.
 */
import { type ContainerMatch, containerName, matchContainer } from "./classify/container.js"
import { matchVm, type VmMatch } from "./classify/vm.js"

export { type ContainerMatch, containerName, matchContainer } from "./classify/container.js"
export { baseName, splitNul } from "./classify/procArgs.js"
export { matchVm, type VmMatch } from "./classify/vm.js"

export type Classification =
  | { readonly type: "regular" }
  | { readonly type: "container"; readonly container: ContainerMatch & { readonly name: string } }
  | { readonly type: "vm"; readonly vm: VmMatch }

export interface ProcessFiles {
  /** The whole `/proc/<pid>/cgroup` file. */
  readonly cgroup: string
  /** `/proc/<pid>/cmdline` split with `splitNul`. */
  readonly cmdline: ReadonlyArray<string>
  /** `/proc/<pid>/environ` split with `splitNul`; [] when unreadable (only names depend on it). */
  readonly environ: ReadonlyArray<string>
}

/** Shared and frozen: most processes are regular, and this answer carries no data. */
const REGULAR: Classification = Object.freeze({ type: "regular" })

/**
 * A container match beats a VM match (a QEMU inside a container is accounted to the container);
 * with neither the process is regular. The VM rules run only when no container matched.
 */
export const classifyProcess = (input: ProcessFiles): Classification => {
  const container = matchContainer(input.cgroup)
  if (container !== undefined) {
    return {
      type: "container",
      container: { runtime: container.runtime, id: container.id, name: containerName(input.environ, input.cmdline) }
    }
  }
  const vm = matchVm(input.cmdline)
  return vm === undefined ? REGULAR : { type: "vm", vm }
}
