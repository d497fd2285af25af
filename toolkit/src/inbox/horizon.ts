/**
 * When an inbox row may go. A row says "this event was applied": it must outlive every way its
 * event can be read again, or the event is applied twice. Those ways, and what closes each:
 *
 * - Connect re-sends what it had not recorded as sent (after a crash, or an outage of any length).
 *   Closed once every connector's committed source position is past the event: the row was
 *   recorded (`consumed_at`) after the event's commit, so a row consumed before the oldest
 *   committed position's commit time, less a margin for clock skew, is behind it.
 * - A copy Connect already sent but the group has not read yet. Closed by reading Connect's
 *   position first and the topics' ends after: every copy of an event behind that position was
 *   written before those ends, so once the group has committed past them it has seen every copy.
 * - A restart, a group whose offsets expired, a replay (`replay`): anything still in the topic.
 *   Closed once every copy the group saw (the row's `last_offset`, raised by each redelivery) is
 *   below the partition's low watermark: the records are gone from Kafka. A row redelivered before
 *   `last_offset` existed (or by a replica that does not set it) has none, and is kept.
 * - A redrive (`dlq redrive`) of a letter whose event was applied through another copy, by this group or
 *   another one sharing the dead-letter topic. Closed by keeping every row whose event has a
 *   letter still in the dead-letter topic, whenever it was written.
 *
 * And none before `INBOX_RETENTION` (the operator's own floor, for audits and debugging),
 * measured on the database's clock, as `consumed_at` is.
 */

/** A topic partition as a map key. */
export const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

/** Connect's committed position, with the ends of the topics read just after it. */
export interface PositionSnapshot {
  /** The commit time (ms) of the last transaction Connect has recorded as sent. */
  sourceTimeMs: number
  /** Each partition's end offset (high watermark) read after that position. */
  ends: Map<string, bigint>
}

/**
 * The newest snapshot every partition of which the group has committed past: its source time is
 * one the group has read every copy up to. `committed` holds the group's committed offsets; a
 * partition without one counts as at its low watermark (`lows`), where the consumer would start.
 */
export function passedSnapshot(
  snapshots: readonly PositionSnapshot[],
  committed: ReadonlyMap<string, bigint>,
  lows: ReadonlyMap<string, bigint>,
): PositionSnapshot | undefined {
  for (let i = snapshots.length - 1; i >= 0; i--) {
    const snapshot = snapshots[i] as PositionSnapshot
    const passed = [...snapshot.ends].every(([key, end]) => {
      const at = committed.get(key) ?? lows.get(key) ?? 0n
      return at >= end
    })
    if (passed) return snapshot
  }
  return undefined
}

/**
 * The time (ms) before which a row may have been consumed, as far as Connect's position says:
 * the oldest connector's, less the margin. The retention floor is applied in SQL, on the
 * database's clock.
 */
export const connectCutoff = (sourceTimeMs: number, marginMs: number) => sourceTimeMs - marginMs

/** The event ids dead letters still name: their rows are kept, whatever their age. */
export function letterEventIds(letters: readonly { eventId?: string | undefined }[]): string[] {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
  return [
    ...new Set(letters.flatMap((l) => (l.eventId && uuid.test(l.eventId) ? [l.eventId.toLowerCase()] : []))),
  ]
}
