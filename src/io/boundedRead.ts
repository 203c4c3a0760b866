/**
 * Reading a file whole, but never more than a limit and never anything but a regular file
 * (issue 16, item 2: a `stat` symlinked to /dev/zero took the RSS to 3 GB).
 *
 * - The file is opened with O_NONBLOCK, so a FIFO in its place neither blocks the open nor a
 *   read; O_NOCTTY, so a terminal in its place never becomes ours. Neither changes how a
 *   regular file reads.
 * - fstat(2) after the open: anything but a regular file (a device, a FIFO, a socket, a
 *   directory: EISDIR, as read(2) would say) is refused before one byte is read. procfs and sysfs files ARE regular files,
 *   with a size of 0 (procfs) or one page (sysfs), so the test is S_ISREG and never the size.
 * - A regular file whose size already exceeds the limit is refused without reading; every
 *   other file is read to EOF, and reading stops — refused — at the first byte past the limit
 *   (procfs sizes say nothing, and a file may grow while read).
 */
import * as fs from "node:fs"
import type { FileHandle } from "node:fs/promises"

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY

/** A file refused by the bounded reader; `reason` is what the logs and errors show. */
export class ReadRefused extends Error {
  readonly reason: string
  constructor(
    readonly file: string,
    reason: string,
    /** Set when the file was past the limit: the limit, and its size when fstat told it. */
    readonly tooLarge?: { readonly limit: number; readonly size?: number }
  ) {
    super(`${file}: ${reason}`)
    this.name = "ReadRefused"
    this.reason = reason
  }
}

/** What read(2) of a directory says; callers already tell EISDIR apart ("is a directory"). */
const isDirectory = (file: string): Error =>
  Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${file}'`), { code: "EISDIR" })

const notRegular = (file: string, stats: fs.Stats): ReadRefused =>
  new ReadRefused(file, `not a regular file (${fileType(stats)})`)

const tooLarge = (file: string, limit: number, size?: number): ReadRefused =>
  new ReadRefused(
    file,
    size === undefined
      ? `malformed: larger than ${limit} bytes`
      : `malformed: ${size} bytes, larger than ${limit} bytes`,
    size === undefined ? { limit } : { limit, size }
  )

const fileType = (s: fs.Stats): string =>
  s.isCharacterDevice()
    ? "a character device"
    : s.isBlockDevice()
    ? "a block device"
    : s.isFIFO()
    ? "a FIFO"
    : s.isSocket()
    ? "a socket"
    : "not a file"

/** One growable buffer, reused from read to read (see procReader.ts for why). */
export class ScratchBuffer {
  bytes: Buffer
  constructor(size: number) {
    this.bytes = Buffer.allocUnsafe(size)
  }
  /** Doubles the buffer (to at most `most` bytes), keeping the first `keep` bytes. */
  grow(keep: number, most: number): void {
    const next = Buffer.allocUnsafe(Math.max(Math.min(this.bytes.length * 2, most), this.bytes.length + 1))
    this.bytes.copy(next, 0, 0, keep)
    this.bytes = next
  }
}

/** Opens `file` and checks it is a regular file within `limit`; the caller closes the fd. */
const openChecked = (file: string, limit: number): number => {
  const fd = fs.openSync(file, OPEN_FLAGS)
  try {
    const stats = fs.fstatSync(fd)
    if (stats.isDirectory()) throw isDirectory(file)
    if (!stats.isFile()) throw notRegular(file, stats)
    if (stats.size > limit) throw tooLarge(file, limit, stats.size)
    return fd
  } catch (error) {
    fs.closeSync(fd)
    throw error
  }
}

/** Reads on from `already` bytes to EOF; throws once more than `limit` bytes came. */
const readRest = (file: string, fd: number, into: ScratchBuffer, already: number, limit: number): number => {
  let total = already
  for (;;) {
    if (total > limit) throw tooLarge(file, limit)
    if (total === into.bytes.length) into.grow(total, limit + 1)
    const n = fs.readSync(fd, into.bytes, total, into.bytes.length - total, null)
    if (n === 0) return total
    total += n
  }
}

/**
 * `file` whole into `into.bytes` (grown as needed, never past `limit + 1` bytes); returns its
 * length. Throws Node's errors (with `code`) and `ReadRefused`.
 */
export const readBoundedSync = (file: string, into: ScratchBuffer, limit: number): number => {
  const fd = openChecked(file, limit)
  try {
    return readRest(file, fd, into, 0, limit)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * The same for a file that one read(2) returns whole when the buffer is large enough (a
 * procfs seq_file record): a short first read is the whole file, and the second, empty
 * read(2) is skipped. Only a full buffer reads on.
 */
export const readRecordSync = (file: string, into: ScratchBuffer, limit: number): number => {
  const fd = openChecked(file, limit)
  try {
    const n = fs.readSync(fd, into.bytes, 0, Math.min(into.bytes.length, limit + 1), null)
    return n < into.bytes.length && n <= limit ? n : readRest(file, fd, into, n, limit)
  } finally {
    fs.closeSync(fd)
  }
}

const readHandle = async (file: string, handle: FileHandle, limit: number): Promise<Buffer> => {
  const stats = await handle.stat()
  if (stats.isDirectory()) throw isDirectory(file)
  if (!stats.isFile()) throw notRegular(file, stats)
  if (stats.size > limit) throw tooLarge(file, limit, stats.size)
  // procfs says 0 and sysfs one page: start from the size when it says anything.
  let bytes = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(stats.size + 1, 4096)))
  let total = 0
  for (;;) {
    if (total > limit) throw tooLarge(file, limit)
    if (total === bytes.length) {
      const next = Buffer.allocUnsafe(Math.min(bytes.length * 2, limit + 1))
      bytes.copy(next, 0, 0, total)
      bytes = next
    }
    const { bytesRead } = await handle.read(bytes, total, bytes.length - total, null)
    if (bytesRead === 0) return bytes.subarray(0, total)
    total += bytesRead
  }
}

/** The asynchronous form of `readBoundedSync`, for files read once or once per refresh. */
export const readBounded = async (file: string, limit: number): Promise<Buffer> => {
  const handle = await fs.promises.open(file, OPEN_FLAGS)
  try {
    return await readHandle(file, handle, limit)
  } finally {
    await handle.close()
  }
}

/** `readBounded` decoded as UTF-8. */
export const readBoundedText = async (file: string, limit: number): Promise<string> =>
  (await readBounded(file, limit)).toString("utf8")
