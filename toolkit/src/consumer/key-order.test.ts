import { describe, expect, it } from 'vitest'
import { dlqHeader } from './dead-letter.ts'
import type { IncomingEvent } from './incoming-event.ts'
import {
  addParked,
  needsOrder,
  originalOffsetOf,
  type ParkedKeys,
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

describe('verdictFor: what a record of a held-back key does', () => {
  const parked = parkedOf(['e1', 'inv-1', 10, null], ['e2', 'inv-1', 11, 'e1'])

  it('applies a record whose key holds nothing back, or that has no key, or when order is not kept', () => {
    expect(verdictFor(record('e9', 'inv-2'), 'billing', parked)).toEqual({ kind: 'apply' })
    expect(verdictFor(record('e9', null), 'billing', parked)).toEqual({ kind: 'apply' })
    expect(verdictFor(record('e9', 'inv-1'), 'billing', undefined)).toEqual({ kind: 'apply' })
  })

  it('parks a new record of a held-back key behind the key’s first letter', () => {
    expect(verdictFor(record('e3', 'inv-1'), 'billing', parked)).toEqual({ kind: 'park', behind: 'e1' })
  })

  it('passes by a record that is already one of the key’s letters (delivered again), until its redrive', () => {
    expect(verdictFor(record('e2', 'inv-1'), 'billing', parked)).toEqual({ kind: 'skip-lettered' })
    expect(verdictFor(record('E1', 'inv-1'), 'billing', parked)).toEqual({ kind: 'skip-lettered' })
  })

  it('applies only the key’s first letter when redriven; a later one that comes first goes back behind it', () => {
    const forBilling = { [dlqHeader.redrivenFor]: 'billing' }
    expect(verdictFor(record('e1', 'inv-1', forBilling), 'billing', parked)).toEqual({ kind: 'apply-letter' })
    expect(verdictFor(record('e2', 'inv-1', forBilling), 'billing', parked)).toEqual({
      kind: 'park',
      behind: 'e1',
    })
  })

  it('passes by a letter redriven for another group, whatever its key', () => {
    const forShipping = { [dlqHeader.redrivenFor]: 'shipping' }
    expect(verdictFor(record('e1', 'inv-1', forShipping), 'billing', parked)).toEqual({
      kind: 'skip-other-group',
      group: 'shipping',
    })
    expect(verdictFor(record('e5', 'inv-9', forShipping), 'billing', undefined)).toMatchObject({
      kind: 'skip-other-group',
    })
  })
})

describe('the parked keys of a batch', () => {
  it('keeps each key’s letters in the order the events first stood, and frees the key with its last letter', () => {
    const parked = parkedOf(['late', 'k', 30, 'first'], ['first', 'k', 12, null], ['first', 'k', 12, null])
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

  it('takes where the event first stood from a redriven copy, and its own offset otherwise', () => {
    expect(originalOffsetOf(record('a', 'k', {}, '41'))).toBe(41n)
    expect(originalOffsetOf(record('a', 'k', { [dlqHeader.offset]: '12' }, '41'))).toBe(12n)
  })
})
