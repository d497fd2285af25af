import { describe, expect, it } from 'vitest'
import { bookstoreEvents } from '../../../lib/events.ts'
import { book } from '../../test/partition-simulation.ts'
import { ConsumerError } from './errors.ts'
import { type IncomingEvent, parseEvent } from './incoming-event.ts'

/** Found by a hostile review: the id header is the inbox key (a uuid column); JS compares it as text. */
const record = (id: string): IncomingEvent => ({
  topic: 'outbox.events.book',
  partition: 0,
  offset: '7',
  key: book.id,
  headers: { id, event_type: 'BookAdded' },
  value: JSON.stringify(book),
})

describe('parseEvent: one spelling per event id', () => {
  it('gives ids that Postgres stores as the same uuid the same text (case)', () => {
    const id = '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d'
    expect(parseEvent(record(id.toUpperCase()), bookstoreEvents).id).toBe(
      parseEvent(record(id), bookstoreEvents).id,
    )
  })

  it('refuses an id Postgres would read as a uuid but spelled otherwise (hyphens moved), rather than storing a second spelling', () => {
    // Postgres accepts a hyphen after any group of four digits: this is the uuid above.
    const odd = '6b1f-9c2e-1d2a-4e3b-8c4d5e6f7a8b9c0d'
    expect(() => parseEvent(record(odd), bookstoreEvents)).toThrow(
      expect.objectContaining({ code: 'MISSING_HEADER' }),
    )
  })

  it('rejects at once (MISSING_HEADER, not retried) an id that is 36 characters but no uuid', () => {
    expect(() => parseEvent(record('-'.repeat(36)), bookstoreEvents)).toThrow(ConsumerError)
    expect(() => parseEvent(record('a'.repeat(36)), bookstoreEvents)).toThrow(ConsumerError)
  })
})
