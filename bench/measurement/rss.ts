import { readFileSync } from 'node:fs'

/** A process's resident memory in MB (0 when it is gone or not given). */
export function rssMbOf(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return Math.round(Number(line?.[1] ?? 0) / 1024)
  } catch {
    return 0
  }
}

/** Samples a process's RSS every 250 ms until stopped: where it started and its peak. */
export function sampleRss(pidOf: () => number | undefined) {
  const first = rssMbOf(pidOf())
  let peak = first
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMbOf(pidOf()))
  }, 250)
  return {
    stop: () => {
      clearInterval(timer)
      return { before: first, peak }
    },
  }
}
