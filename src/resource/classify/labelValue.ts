/**
 * Names taken from a process's environment or command line (a container's HOSTNAME,
 * CONTAINER_NAME or `--name`, a VM's `-name`, `--comment` or `.vmx` file) become label values
 * on every scrape. Their length is whatever the process chose — a 200 KB HOSTNAME was seen
 * (issue 16, item 4) — so they are cut to 253 characters: the longest DNS name (RFC 1035) and
 * Kubernetes object name, longer than any real container or VM name, and a bound on what one
 * process can add to every exposition.
 */

export const LABEL_VALUE_MAX_CHARS = 253

/** `value` cut to LABEL_VALUE_MAX_CHARS code points (never inside a surrogate pair). */
export const capLabelValue = (value: string): string => {
  // A string's UTF-16 length is never below its number of code points.
  if (value.length <= LABEL_VALUE_MAX_CHARS) return value
  let end = 0
  for (let n = 0; n < LABEL_VALUE_MAX_CHARS && end < value.length; n++) {
    end += (value.codePointAt(end) ?? 0) > 0xffff ? 2 : 1
  }
  return value.slice(0, end)
}
