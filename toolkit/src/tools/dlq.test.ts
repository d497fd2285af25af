import type { KafkaMessage } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { dlqHeader } from '../consumer/dead-letter.ts'
import { isLetterOf, redrivenCopy, toDeadLetter } from './dlq.ts'

const letter = (headers: Record<string, string>): KafkaMessage =>
  ({
    key: Buffer.from('inv-1'),
    value: Buffer.from('{}'),
    offset: '3',
    timestamp: '99',
    attributes: 0,
    headers: { id: Buffer.from('e1'), event_type: Buffer.from('InvoicePaid'), ...headers },
  }) as KafkaMessage

describe('a redrive per group', () => {
  const lettered = {
    [dlqHeader.group]: 'billing',
    [dlqHeader.offset]: '12',
    [dlqHeader.timestamp]: '1700000000000',
    [dlqHeader.errorCode]: 'PARKED',
    [dlqHeader.parkedBehind]: 'e0',
  }

  it('sends a letter back for the group that wrote it, with where the event first stood and its own time', () => {
    const copy = redrivenCopy(letter(lettered))
    const headers = Object.fromEntries(Object.entries(copy.headers ?? {}).map(([k, v]) => [k, v?.toString()]))
    expect(headers).toEqual({
      id: 'e1',
      event_type: 'InvoicePaid',
      [dlqHeader.redrivenFor]: 'billing',
      [dlqHeader.offset]: '12',
    })
    expect(copy.timestamp).toBe('1700000000000')
  })

  it('sends a letter from before groups were named back for every group, as it always did', () => {
    const copy = redrivenCopy(letter({ [dlqHeader.offset]: '12', [dlqHeader.errorCode]: 'INVALID_JSON' }))
    expect(Object.keys(copy.headers ?? {})).toEqual(['id', 'event_type'])
  })

  it('lists and redrives a group’s own letters and those naming none, never another group’s', () => {
    const billing = toDeadLetter(letter(lettered), 0)
    const unnamed = toDeadLetter(letter({}), 0)
    expect(billing).toMatchObject({ group: 'billing', parkedBehind: 'e0' })
    expect(isLetterOf(billing, 'billing')).toBe(true)
    expect(isLetterOf(billing, 'shipping')).toBe(false)
    expect(isLetterOf(unnamed, 'shipping')).toBe(true)
    expect(isLetterOf(billing, undefined)).toBe(true)
  })
})
