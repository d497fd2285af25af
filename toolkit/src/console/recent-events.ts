import { type EventFilter, matchesFilter as matches, type TailedEvent } from '../tools/event-tail.ts'

export type NumberedEvent = TailedEvent & { seq: number }

export { type EventFilter, matches }

/**
 * The newest `capacity` events the tail saw, numbered in arrival order so a page polling with
 * `after` gets each one once, even while older ones fall off the end.
 */
export function createRecentEvents(capacity: number) {
  const events: NumberedEvent[] = []
  let seq = 0
  // Numbers start again with each console process: the epoch tells a polling page that its
  // `after` belongs to another one (the console restarted), so it starts again from 0.
  const epoch = crypto.randomUUID()
  return {
    push(event: TailedEvent) {
      seq += 1
      events.push({ ...event, seq })
      if (events.length > capacity) events.shift()
    },
    /** Events numbered above `after` that match, oldest first, the newest number so far, and the epoch. */
    after(after: number, filter: EventFilter) {
      return { epoch, events: events.filter((e) => e.seq > after && matches(e, filter)), last: seq }
    },
  }
}

export type RecentEvents = ReturnType<typeof createRecentEvents>
