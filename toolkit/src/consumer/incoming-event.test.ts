import { describe, expect, it } from 'vitest'
import { bookstoreEvents } from '../../../lib/events.ts'
import { book } from '../../test/partition-simulation.ts'
import { ConsumerError } from './errors.ts'
import { type IncomingEvent, parseEvent } from './incoming-event.ts'

const record = (overrides: Partial<IncomingEvent> = {}): IncomingEvent => ({
  topic: 'outbox.events.book',
  partition: 0,
  offset: '7',
  key: book.id,
  headers: { id: '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d', event_type: 'BookAdded' },
  value: JSON.stringify(book),
  ...overrides,
})

const codeOf = (message: IncomingEvent) => {
  try {
    parseEvent(message, bookstoreEvents)
    return 'parsed'
  } catch (error) {
    expect(error).toBeInstanceOf(ConsumerError)
    expect((error as ConsumerError).retryable).toBe(false)
    return (error as ConsumerError).code
  }
}

describe('parseEvent', () => {
  it('returns the id, type and validated payload of a well-formed record', () => {
    expect(parseEvent(record(), bookstoreEvents)).toEqual({
      id: record().headers.id,
      eventType: 'BookAdded',
      payload: book,
    })
  })

  it.each([
    ['no id header', record({ headers: { event_type: 'BookAdded' } }), 'MISSING_HEADER'],
    [
      'no event_type header',
      record({ headers: { id: '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d' } }),
      'MISSING_HEADER',
    ],
    [
      'an unknown event type',
      record({ headers: { id: '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d', event_type: 'BookBurnt' } }),
      'UNKNOWN_EVENT_TYPE',
    ],
    ['a value that is not JSON', record({ value: '{"id":' }), 'INVALID_JSON'],
    [
      'a JSON string inside a string',
      record({ value: JSON.stringify(JSON.stringify(book)) }),
      'INVALID_PAYLOAD',
    ],
    [
      'a payload missing a field',
      record({ value: JSON.stringify({ ...book, title: undefined }) }),
      'INVALID_PAYLOAD',
    ],
  ])('rejects %s as never retryable', (_case, message, code) => {
    expect(codeOf(message)).toBe(code)
  })
})

describe('parseEvent and tracing', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  const headers = { id: '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d', event_type: 'BookAdded' }

  it('keeps a well-formed traceparent header for the handlers, so the events they append carry it', () => {
    expect(parseEvent(record({ headers: { ...headers, traceparent } }), bookstoreEvents).traceparent).toBe(
      traceparent,
    )
  })

  it.each(['', 'not-a-trace', `${traceparent}-extra`, traceparent.toUpperCase()])(
    'drops a malformed traceparent (%j) and applies the event anyway',
    (bad) => {
      const parsed = parseEvent(record({ headers: { ...headers, traceparent: bad } }), bookstoreEvents)
      expect(parsed.payload).toEqual(book)
      expect(parsed).not.toHaveProperty('traceparent')
    },
  )
})

// The id header is the inbox key, a uuid column, which Postgres compares as a uuid and JS as text:
// two spellings of one id would let a redelivery through as a new event.
describe('parseEvent: one spelling per event id', () => {
  const withId = (id: string) => record({ headers: { id, event_type: 'BookAdded' } })

  it('gives ids that Postgres stores as the same uuid the same text (case)', () => {
    const id = '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d'
    expect(parseEvent(withId(id.toUpperCase()), bookstoreEvents).id).toBe(
      parseEvent(withId(id), bookstoreEvents).id,
    )
  })

  it('refuses an id Postgres would read as a uuid but spelled otherwise (hyphens moved), rather than storing a second spelling', () => {
    // Postgres accepts a hyphen after any group of four digits: this is the uuid above.
    expect(codeOf(withId('6b1f-9c2e-1d2a-4e3b-8c4d5e6f7a8b9c0d'))).toBe('MISSING_HEADER')
  })

  it('rejects at once (MISSING_HEADER, not retried) an id that is 36 characters but no uuid', () => {
    expect(codeOf(withId('-'.repeat(36)))).toBe('MISSING_HEADER')
    expect(codeOf(withId('a'.repeat(36)))).toBe('MISSING_HEADER')
  })
})
