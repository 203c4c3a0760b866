/**
 * Text helpers for the NUL-separated /proc files (`cmdline`, `environ`) and for naming the
 * executable of a command line the way Kepler does (kepler-behaviour.md §4.1, §4.3–§4.4).
 */

/**
 * Splits a NUL-separated /proc file, dropping the trailing empty element(s).
 *
 * Kepler (prometheus/procfs) trims all trailing NULs from `cmdline` but drops only the last
 * element of `environ`. Dropping every trailing empty element serves both: an empty string
 * is neither an argument any rule looks at nor a `KEY=value` entry. Interior empty elements
 * (`a\0\0b`) are kept because argument positions matter (the containerd-shim rule).
 * A process that rewrote its argv (nginx) leaves a long run of NULs: all of it is dropped.
 */
export const splitNul = (content: string): ReadonlyArray<string> => {
  let end = content.length
  while (end > 0 && content.charCodeAt(end - 1) === 0) end--
  return end === 0 ? [] : content.slice(0, end).split("\0")
}

/**
 * Go's `filepath.Base` on Linux, which Kepler applies to `cmdline[0]`: the last element of
 * the path after trailing slashes are removed; "." for "", "/" for a path of only slashes.
 * Exact Go semantics matter for the containerd-shim rule (`/usr/bin/containerd-shim/`).
 */
export const baseName = (path: string): string => {
  if (path === "") return "."
  let end = path.length
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--
  if (end === 0) return "/"
  return path.slice(path.lastIndexOf("/", end - 1) + 1, end)
}
