/**
 * Samples `<url>/healthz` every 20 ms from a worker thread until stopped, and returns each
 * request's latency. Off the bench's own event loop because the bench blocks it: advancing a
 * 50k-process synthetic /proc writes 50k files synchronously (~0.5 s), and a probe in flight
 * meanwhile was timed as if joulemon had stalled — about one probe per scrape, enough to set the
 * p99. The worker's code is plain JavaScript evaluated in the thread, so that it needs no
 * TypeScript loader.
 */
import { Worker } from "node:worker_threads"

const PROBE = `
const { parentPort, workerData } = require("node:worker_threads")
const times = []
let stopped = false
parentPort.on("message", () => { stopped = true })
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
;(async () => {
  while (!stopped) {
    const t0 = performance.now()
    try {
      const res = await fetch(workerData.url + "/healthz", { signal: AbortSignal.timeout(10000) })
      await res.text()
      times.push(performance.now() - t0)
    } catch {
      times.push(10000)
    }
    await sleep(20)
  }
  parentPort.postMessage(times)
})()
`

export interface HealthProbe {
  /** Stops after the request in flight; resolves with every latency in ms. */
  readonly stop: () => Promise<Array<number>>
}

export const startHealthProbe = (url: string): HealthProbe => {
  const worker = new Worker(PROBE, { eval: true, workerData: { url } })
  const result = new Promise<Array<number>>((resolve, reject) => {
    worker.once("message", (times: Array<number>) => resolve(times))
    worker.once("error", reject)
  })
  return {
    stop: async () => {
      worker.postMessage("stop")
      const times = await result
      await worker.terminate()
      return times
    }
  }
}
