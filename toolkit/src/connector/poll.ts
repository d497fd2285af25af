import { setTimeout as delay } from 'node:timers/promises'

/** Checks `done` every `everyMs` until it holds (true) or `timeoutMs` has passed (false). */
export async function pollUntil(
  done: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await done()) return true
    if (Date.now() >= deadline) return false
    await delay(everyMs)
  }
}
