import { setTimeout as delay } from 'node:timers/promises'

/** How long a stop waits for a group join in flight before it disconnects under it anyway. */
export const joinWaitMs = 10_000

/**
 * What a consumer's stop must know of its start, which may still be on its way (Ctrl-C as a
 * service comes up). kafkajs asked to join after its clients were disconnected writes to the
 * closed sockets, crashes and restarts itself into the group (tulios/kafkajs#1639), and a join cut
 * short by a disconnect crashes too. So a stop is requested first; from then on no join begins,
 * and the stop waits (bounded) for one already in flight. Every other step of a start (connecting,
 * which kafkajs retries for seconds when Kafka is down) is left to fail or finish on its own: the
 * start checks `requested` after each and goes no further.
 */
export function createStopGuard(waitMs = joinWaitMs) {
  let requested = false
  let joining: Promise<void> | undefined
  return {
    get requested() {
      return requested
    },
    request() {
      requested = true
    },
    /** Runs `join` (kafkajs's run, which joins the group) unless a stop was requested. */
    async join(run: () => Promise<void>): Promise<void> {
      if (requested) return
      const current = run()
      joining = current
      try {
        await current
      } finally {
        if (joining === current) joining = undefined
      }
    },
    /** Resolves once no join is in flight, or after `waitMs` with one still in flight. */
    async settle(): Promise<void> {
      if (!joining) return
      const gaveUp = new AbortController()
      await Promise.race([
        joining.catch(() => {}),
        delay(waitMs, undefined, { signal: gaveUp.signal }).catch(() => {}),
      ])
      gaveUp.abort()
    },
  }
}
