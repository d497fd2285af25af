/**
 * What a consumer's stop must know of the joins under way, which may still be in flight (Ctrl-C
 * as a service comes up, or while kafkajs restarts after a crash). kafkajs asked to join after its
 * clients were disconnected writes to the closed sockets, crashes and restarts itself into the
 * group (tulios/kafkajs#1639); a join cut short by a disconnect crashes too, and one whose runner
 * kafkajs's stop has let go of joins and fetches with nobody left to stop it. So a stop is
 * requested first: from then on no join of ours begins (and kafkajs restarts nothing: see
 * kafkajs-clients.ts), and the stop waits for every join in flight to end, joined or crashed,
 * before it stops kafkajs. A join lasts as long as the group's rebalance (kafkajs's
 * rebalanceTimeout bounds it). Every other step of a start (connecting, which kafkajs retries for
 * seconds when Kafka is down) is left to fail or finish on its own: the start checks `requested`
 * after each and goes no further.
 */
export function createStopGuard() {
  let requested = false
  const inFlight = new Set<Promise<void>>()
  let restart: { done: Promise<void>; end: () => void } | undefined
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
      const tracked = current.catch(() => {})
      inFlight.add(tracked)
      try {
        await current
      } finally {
        inFlight.delete(tracked)
      }
    },
    /**
     * kafkajs crashed and will restart by itself: a join of its own is under way until it joins
     * or crashes again (`restartEnded`).
     */
    restartBegan() {
      if (restart) return
      let end: () => void = () => {}
      const done = new Promise<void>((resolve) => (end = resolve))
      restart = { done, end }
    },
    restartEnded() {
      restart?.end()
      restart = undefined
    },
    /** Resolves once no join is in flight, ours or a kafkajs restart's. */
    async settle(): Promise<void> {
      while (inFlight.size > 0 || restart) await Promise.all([...inFlight, restart?.done])
    },
  }
}
