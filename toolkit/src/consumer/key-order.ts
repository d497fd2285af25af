import { dlqHeader } from './dead-letter.ts'
import type { IncomingEvent } from './incoming-event.ts'

/** A dead letter that holds its key back in one consumer group: a row of the parked-letters table. */
export interface ParkedLetter {
  eventId: string
  key: string
  /** Where the event first stood on its topic; a key's letters go back in this order. */
  originalOffset: bigint
  /** The event id at the key's head when this one was parked; null for the letter that parked it. */
  behind: string | null
}

/** The parked letters of the keys a batch holds, each key's oldest first. */
export type ParkedKeys = Map<string, ParkedLetter[]>

/**
 * What to do with one record, given the keys its group holds back:
 * - `apply`: nothing holds its key back (or keeping order is off);
 * - `skip-other-group`: a letter redriven for another group, which has already dealt with its event;
 * - `skip-lettered`: its event is already a parked letter (a record delivered again after a crash,
 *   a replay, or Connect sending it again); the letter waits for its redrive;
 * - `apply-letter`: the key's first letter, redriven for this group: applied, then released;
 * - `park`: its key waits behind `behind`, so it goes to the dead letters as parked.
 */
export type Verdict =
  | { kind: 'apply' }
  | { kind: 'skip-other-group'; group: string }
  | { kind: 'skip-lettered' }
  | { kind: 'apply-letter' }
  | { kind: 'park'; behind: string }

/** The event id the inbox and the parked letters know a record by (lower case, as Postgres prints a uuid). */
export const eventIdOf = (record: IncomingEvent) => record.headers.id?.toLowerCase() ?? ''

/** The group a redriven copy was sent back for, if it is one. */
export const redrivenFor = (record: IncomingEvent) => record.headers[dlqHeader.redrivenFor]

/** Where the event first stood: a redriven copy says it, an original is there. */
export function originalOffsetOf(record: IncomingEvent): bigint {
  const kept = record.headers[dlqHeader.offset]
  return BigInt(kept && /^\d+$/.test(kept) ? kept : record.offset)
}

export function verdictFor(record: IncomingEvent, group: string, parked: ParkedKeys | undefined): Verdict {
  const forGroup = redrivenFor(record)
  if (forGroup !== undefined && forGroup !== group) return { kind: 'skip-other-group', group: forGroup }
  // A record without a key has no order to keep: Kafka spreads such records over partitions.
  const letters = record.key === null || !parked ? undefined : parked.get(record.key)
  const head = letters?.[0]
  if (!letters || !head) return { kind: 'apply' }
  const id = eventIdOf(record)
  if (!letters.some((l) => l.eventId === id)) return { kind: 'park', behind: head.eventId }
  if (forGroup === undefined) return { kind: 'skip-lettered' }
  // A letter behind the head that came back before the head was applied (the head failed again):
  // it goes back to the dead letters, behind the head's new letter, and its row stays.
  return head.eventId === id ? { kind: 'apply-letter' } : { kind: 'park', behind: head.eventId }
}

/** True when a chunk must go record by record: a key in it is held back, or a record was redriven. */
export function needsOrder(records: IncomingEvent[], parked: ParkedKeys | undefined): boolean {
  return records.some(
    (r) => redrivenFor(r) !== undefined || (r.key !== null && (parked?.get(r.key)?.length ?? 0) > 0),
  )
}

/** Adds a letter to its key's list, keeping each key's letters oldest first; once per event. */
export function addParked(parked: ParkedKeys, letter: ParkedLetter): void {
  const letters = parked.get(letter.key) ?? []
  if (letters.some((l) => l.eventId === letter.eventId)) return
  letters.push(letter)
  letters.sort((a, b) =>
    a.originalOffset < b.originalOffset ? -1 : a.originalOffset > b.originalOffset ? 1 : 0,
  )
  parked.set(letter.key, letters)
}

/** Takes a letter off its key's list; the key flows again once its list is empty. */
export function removeParked(parked: ParkedKeys, key: string, eventId: string): void {
  const letters = (parked.get(key) ?? []).filter((l) => l.eventId !== eventId)
  if (letters.length === 0) parked.delete(key)
  else parked.set(key, letters)
}
