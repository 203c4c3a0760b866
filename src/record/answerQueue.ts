/**
 * What replay answers from: the recorded operations of one refresh, queued per (kind, path) in
 * the order the live run made them. A file read twice in one refresh (a stat re-read to confirm
 * an exit, a counter read at discovery and again by the zone) gets its answers in turn; past the
 * last, the last.
 */
export interface AnswerQueue<Op> {
  readonly load: (ops: ReadonlyArray<Op>) => void
  /** The next recorded answer of this kind for this path; undefined when none was recorded. */
  readonly next: (kind: string, path: string) => Op | undefined
}

export const makeAnswerQueue = <Op>(
  keyOf: (op: Op) => { readonly kind: string; readonly path: string }
): AnswerQueue<Op> => {
  let answers = new Map<string, { readonly ops: Array<Op>; next: number }>()
  const key = (kind: string, path: string) => `${kind}\u0000${path}`
  return {
    load: (ops) => {
      const loaded = new Map<string, { readonly ops: Array<Op>; next: number }>()
      for (const op of ops) {
        const { kind, path } = keyOf(op)
        const k = key(kind, path)
        const queue = loaded.get(k) ?? { ops: [], next: 0 }
        queue.ops.push(op)
        loaded.set(k, queue)
      }
      answers = loaded
    },
    next: (kind, path) => {
      const queue = answers.get(key(kind, path))
      if (queue === undefined) return undefined
      const op = queue.ops[Math.min(queue.next, queue.ops.length - 1)]
      queue.next++
      return op
    }
  }
}
