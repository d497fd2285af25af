import { createHash } from 'node:crypto'
import { dlqHeader } from './dead-letter.ts'
import type { IncomingEvent } from './incoming-event.ts'

/** A dead letter that holds its key back in one consumer group: a row of the parked-letters table. */
export interface ParkedLetter {
  eventId: string
  key: string
  /** Where the event first stood on its topic (a letter without an id is known by it). */
  originalOffset: bigint
  /** The event id at the key's head when this one was parked; null for the letter that parked it. */
  behind: string | null
}

/** The parked letters of the keys a batch holds, each key's in the order they were parked. */
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

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The id the parked letters know a record by: its event id (lower case, as Postgres prints a
 * uuid, so the inbox knows it by the same), or, for a record without one that is a uuid, where
 * it first stood. Anything else could be empty (two keys' heads would clash) or unstorable.
 */
export function letterIdOf(record: IncomingEvent): string {
  const id = record.headers.id?.toLowerCase()
  if (id && uuidPattern.test(id)) return id
  return `${record.topic}/${record.partition}/${originalOffsetOf(record)}`
}

/** True when the id is an event id the inbox could hold. */
export const isEventId = (id: string) => uuidPattern.test(id)

/**
 * The key as the parked letters keep it: as it is, or its hash when Postgres could not store or
 * index it (a NUL byte; longer than an index row allows). Anything may write to a topic.
 */
export function parkedKeyOf(record: IncomingEvent): string | null {
  const key = record.key
  if (key === null) return null
  if (key.length <= 512 && !key.includes('\u0000')) return key
  const bytes = record.raw?.key ?? Buffer.from(key)
  return `sha256:${createHash('sha256')
    .update(bytes ?? '')
    .digest('hex')}`
}

/** The group a redriven copy was sent back for, if it is one. */
export const redrivenFor = (record: IncomingEvent) => record.headers[dlqHeader.redrivenFor]

/** Where the event first stood: a redriven copy says it, an original is there. */
export function originalOffsetOf(record: IncomingEvent): bigint {
  // Only a redrive's copy carries the header of ours; on any other record it is someone else's.
  const kept = redrivenFor(record) === undefined ? undefined : record.headers[dlqHeader.offset]
  return BigInt(kept && /^\d+$/.test(kept) ? kept : record.offset)
}

export function verdictFor(record: IncomingEvent, group: string, parked: ParkedKeys | undefined): Verdict {
  const forGroup = redrivenFor(record)
  if (forGroup !== undefined && forGroup !== group) return { kind: 'skip-other-group', group: forGroup }
  // A record without a key has no order to keep: Kafka spreads such records over partitions.
  const key = parkedKeyOf(record)
  const letters = key === null || !parked ? undefined : parked.get(key)
  const head = letters?.[0]
  if (!letters || !head) return { kind: 'apply' }
  const id = letterIdOf(record)
  if (!letters.some((l) => l.eventId === id)) return { kind: 'park', behind: head.eventId }
  if (forGroup === undefined) return { kind: 'skip-lettered' }
  // A letter behind the head that came back before the head was applied (the head failed again):
  // it goes back to the dead letters, behind the head's new letter, and its row stays.
  return head.eventId === id ? { kind: 'apply-letter' } : { kind: 'park', behind: head.eventId }
}

/** True when a chunk must go record by record: a key in it is held back, or a record was redriven. */
export function needsOrder(records: IncomingEvent[], parked: ParkedKeys | undefined): boolean {
  return records.some(
    (r) => redrivenFor(r) !== undefined || (parked?.get(parkedKeyOf(r) ?? '')?.length ?? 0) > 0,
  )
}

/**
 * Adds a letter at the end of its key's list; once per event. The order is the order of parking,
 * not of offsets: offsets of two partitions do not compare, and a key moves partition when
 * partitions are added.
 */
export function addParked(parked: ParkedKeys, letter: ParkedLetter): void {
  const letters = parked.get(letter.key) ?? []
  if (letters.some((l) => l.eventId === letter.eventId)) return
  letters.push(letter)
  parked.set(letter.key, letters)
}

/** Takes a letter off its key's list; the key flows again once its list is empty. */
export function removeParked(parked: ParkedKeys, key: string, eventId: string): void {
  const letters = (parked.get(key) ?? []).filter((l) => l.eventId !== eventId)
  if (letters.length === 0) parked.delete(key)
  else parked.set(key, letters)
}
