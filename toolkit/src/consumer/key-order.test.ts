import { describe, expect, it } from 'vitest'
import { dlqHeader } from './dead-letter.ts'
import type { IncomingEvent } from './incoming-event.ts'
import {
  addParked,
  letterIdOf,
  needsOrder,
  originalOffsetOf,
  type ParkedKeys,
  parkedKeyOf,
  removeParked,
  verdictFor,
} from './key-order.ts'

const record = (
  id: string,
  key: string | null,
  headers: Record<string, string> = {},
  offset = '7',
): IncomingEvent => ({
  topic: 'shop.invoice',
  partition: 0,
  offset,
  key,
  headers: { id, event_type: 'InvoicePaid', ...headers },
  value: '{}',
})

const parkedOf = (...letters: Array<[string, string, number, string | null]>): ParkedKeys => {
  const parked: ParkedKeys = new Map()
  for (const [eventId, key, offset, behind] of letters)
    addParked(parked, { eventId, key, originalOffset: BigInt(offset), behind })
  return parked
}

const e1 = '00000000-0000-4000-8000-000000000001'
const e2 = '00000000-0000-4000-8000-000000000002'
const e3 = '00000000-0000-4000-8000-000000000003'
const e5 = '00000000-0000-4000-8000-000000000005'
const e9 = '00000000-0000-4000-8000-000000000009'

describe('verdictFor: what a record of a held-back key does', () => {
  const parked = parkedOf([e1, 'inv-1', 10, null], [e2, 'inv-1', 11, e1])

  it('applies a record whose key holds nothing back, or that has no key, or when order is not kept', () => {
    expect(verdictFor(record(e9, 'inv-2'), 'billing', parked)).toEqual({ kind: 'apply' })
    expect(verdictFor(record(e9, null), 'billing', parked)).toEqual({ kind: 'apply' })
    expect(verdictFor(record(e9, 'inv-1'), 'billing', undefined)).toEqual({ kind: 'apply' })
  })

  it('parks a new record of a held-back key behind the key’s first letter', () => {
    expect(verdictFor(record(e3, 'inv-1'), 'billing', parked)).toEqual({ kind: 'park', behind: e1 })
  })

  it('passes by a record that is already one of the key’s letters (delivered again), until its redrive', () => {
    expect(verdictFor(record(e2, 'inv-1'), 'billing', parked)).toEqual({ kind: 'skip-lettered' })
    expect(verdictFor(record(e1.toUpperCase(), 'inv-1'), 'billing', parked)).toEqual({
      kind: 'skip-lettered',
    })
  })

  it('applies only the key’s first letter when redriven; a later one that comes first goes back behind it', () => {
    const forBilling = { [dlqHeader.redrivenFor]: 'billing' }
    expect(verdictFor(record(e1, 'inv-1', forBilling), 'billing', parked)).toEqual({ kind: 'apply-letter' })
    expect(verdictFor(record(e2, 'inv-1', forBilling), 'billing', parked)).toEqual({
      kind: 'park',
      behind: e1,
    })
  })

  it('parks a record without an id behind its key’s head, never taking it for the head', () => {
    const noId = (offset: string): IncomingEvent => ({
      ...record('', 'inv-1', {}, offset),
      headers: { event_type: 'InvoicePaid' },
    })
    const held = parkedOf([letterIdOf(noId('5')), 'inv-1', 5, null])
    expect(verdictFor(noId('9'), 'billing', held)).toEqual({ kind: 'park', behind: 'shop.invoice/0/5' })
    expect(verdictFor(noId('5'), 'billing', held)).toEqual({ kind: 'skip-lettered' })
  })

  it('passes by a letter redriven for another group, whatever its key', () => {
    const forShipping = { [dlqHeader.redrivenFor]: 'shipping' }
    expect(verdictFor(record(e1, 'inv-1', forShipping), 'billing', parked)).toEqual({
      kind: 'skip-other-group',
      group: 'shipping',
    })
    expect(verdictFor(record(e5, 'inv-9', forShipping), 'billing', undefined)).toMatchObject({
      kind: 'skip-other-group',
    })
  })
})

describe('the parked keys of a batch', () => {
  it('keeps each key’s letters in the order they were parked (offsets of two partitions do not compare), and frees the key with its last letter', () => {
    // The key moved to another partition (partitions were added): its later event has a lower offset.
    const parked = parkedOf(
      ['first', 'k', 1_000_000, null],
      ['late', 'k', 7, 'first'],
      ['first', 'k', 12, null],
    )
    expect(parked.get('k')?.map((l) => l.eventId)).toEqual(['first', 'late'])
    removeParked(parked, 'k', 'first')
    expect(parked.get('k')?.map((l) => l.eventId)).toEqual(['late'])
    removeParked(parked, 'k', 'late')
    expect(parked.has('k')).toBe(false)
  })

  it('sends a chunk record by record when a key in it is held back or a record in it was redriven', () => {
    const parked = parkedOf(['e1', 'inv-1', 10, null])
    expect(needsOrder([record('a', 'inv-2'), record('b', 'inv-3')], parked)).toBe(false)
    expect(needsOrder([record('a', 'inv-2'), record('b', 'inv-1')], parked)).toBe(true)
    expect(needsOrder([record('a', 'inv-2', { [dlqHeader.redrivenFor]: 'x' })], undefined)).toBe(true)
  })

  it('knows a record without a usable id by where it first stood, and a key Postgres cannot store by its hash', () => {
    const noId: IncomingEvent = { ...record('x', 'k', {}, '41'), headers: { event_type: 'InvoicePaid' } }
    expect(letterIdOf(noId)).toBe('shop.invoice/0/41')
    const redriven = { [dlqHeader.redrivenFor]: 'billing', [dlqHeader.offset]: '12' }
    expect(letterIdOf(record('not a uuid\u0000', 'k', redriven, '41'))).toBe('shop.invoice/0/12')
    const uuid = '0B0E3E7A-6C1B-4B7E-9A0C-1D2E3F405060'
    expect(letterIdOf(record(uuid, 'k'))).toBe(uuid.toLowerCase())
    expect(parkedKeyOf(record(uuid, 'inv-1'))).toBe('inv-1')
    for (const key of ['a\u0000b', 'x'.repeat(600)]) {
      const stored = parkedKeyOf(record(uuid, key))
      expect(stored).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(parkedKeyOf(record(crypto.randomUUID(), key))).toBe(stored)
    }
  })

  it('takes where the event first stood from a redriven copy, and its own offset otherwise', () => {
    expect(originalOffsetOf(record('a', 'k', {}, '41'))).toBe(41n)
    const redriven = { [dlqHeader.redrivenFor]: 'billing', [dlqHeader.offset]: '12' }
    expect(originalOffsetOf(record('a', 'k', redriven, '41'))).toBe(12n)
    // Only a redrive says where the event first stood: on any other record the header is not ours.
    expect(originalOffsetOf(record('a', 'k', { [dlqHeader.offset]: '12' }, '41'))).toBe(41n)
  })
})
