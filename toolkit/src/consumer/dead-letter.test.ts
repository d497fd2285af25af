import type { KafkaMessage } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { deadLetterMessage } from './dead-letter.ts'
import { toIncoming } from './incoming-event.ts'

const bytes = (value: unknown) => Buffer.from(value as Buffer | string)

describe('deadLetterMessage', () => {
  it('keeps the key, value and headers byte for byte, even when they are not UTF-8 text', () => {
    // A record some other producer wrote (Avro, protobuf, a corrupt write): the poison the DLQ is for.
    const value = Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0xc3])
    const key = Buffer.from([0xc0, 0x80, 0x41])
    const trace = Buffer.from([0xe2, 0x82])
    const record: KafkaMessage = {
      key,
      value,
      headers: { id: Buffer.from('6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d'), traceparent: trace },
      offset: '7',
      timestamp: '0',
      attributes: 0,
    }
    const letter = deadLetterMessage(toIncoming('outbox.events.book', 2, record), {
      code: 'INVALID_JSON',
      message: 'the record value is not JSON',
      attempts: 1,
    })
    expect(bytes(letter.value).equals(value)).toBe(true)
    expect(bytes(letter.key).equals(key)).toBe(true)
    expect(bytes(letter.headers?.traceparent).equals(trace)).toBe(true)
    expect(letter.headers?.['dlq.original.partition']).toBe('2')
  })
})

describe('a record from the outbox itself', () => {
  it('leaves out the null headers Debezium writes for a null column, which kafkajs cannot send', () => {
    // The EventRouter puts trace_context in a traceparent header: null when the request had none.
    const record = {
      key: Buffer.from('k'),
      value: Buffer.from('{}'),
      headers: { id: Buffer.from('6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d'), traceparent: null },
      offset: '1',
      timestamp: '0',
      attributes: 0,
    } as unknown as KafkaMessage
    const letter = deadLetterMessage(toIncoming('outbox.events.book', 0, record), {
      code: 'UNKNOWN_EVENT_TYPE',
      message: 'no handler',
      attempts: 1,
    })
    expect(Object.values(letter.headers ?? {}).every((value) => value !== null && value !== undefined)).toBe(
      true,
    )
    expect(letter.headers).not.toHaveProperty('traceparent')
    expect(bytes(letter.headers?.id).toString()).toBe('6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d')
  })
})
