/**
 * A whole Kubernetes ConfigMap object given as --config.file. Kepler's manifests (and joulemon's)
 * mount the ConfigMap's `config.yaml` data key as the file; pointing at the manifest itself
 * would otherwise decode as a file of three unknown keys and run on the defaults, silently.
 */

/** The message for a file whose top-level keys say it is a Kubernetes object, or undefined. */
export const configMapObjectProblem = (path: string, value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  if (!("apiVersion" in value && "kind" in value && "data" in value)) return undefined
  const kind = typeof value.kind === "string" ? value.kind : "Kubernetes"
  const data = value.data
  const keys = typeof data === "object" && data !== null ? Object.keys(data) : []
  const key = keys.includes("config.yaml") ? "config.yaml" : (keys[0] ?? "config.yaml")
  return (
    `config file ${
      JSON.stringify(path)
    } is a ${kind} object (top-level keys apiVersion, kind, data), not a joulemon/Kepler configuration file: ` +
    `mount its ${JSON.stringify(key)} data key as the file, as Kepler's manifests do ` +
    `(a configMap volume at /etc/kepler, then --config.file=/etc/kepler/${key}), or pass a file holding only the text under data.${key}` +
    (keys.length > 0 ? `; its data keys are [${keys.join(",")}]` : "")
  )
}
