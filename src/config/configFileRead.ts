/**
 * Reading a config file (joulemon's YAML, the Redfish BMC file): a regular file of at most
 * CONFIG_FILE_LIMIT bytes. A larger one is refused from its size, before any of it is read
 * (a 50 MB file used to be parsed, peaking at 656 MB).
 */
import { readBoundedText, ReadRefused } from "../io/boundedRead.js"
import { CONFIG_FILE_LIMIT } from "../io/readLimits.js"

export const readConfigText = (file: string): Promise<string> => readBoundedText(file, CONFIG_FILE_LIMIT)

const MiB = 1024 * 1024

/** Why a config file could not be read, naming its size against the limit when that was it. */
export const describeConfigReadError = (error: unknown): string => {
  if (error instanceof ReadRefused) {
    const big = error.tooLarge
    if (big === undefined) return error.reason
    const limit = `the ${big.limit / MiB} MiB (${big.limit} bytes) limit for config files`
    return big.size === undefined
      ? `the file is larger than ${limit}; refused`
      : `the file is ${big.size} bytes, over ${limit}; refused without reading it`
  }
  return error instanceof Error ? error.message : String(error)
}
