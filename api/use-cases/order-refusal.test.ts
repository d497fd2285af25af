import { describe, expect, it } from 'vitest'
import { orderRefusal } from './order-refusal.ts'

const bookId = '5b0c4a1e-8f43-4c52-9d59-2f1f0f7e1a11'
const order = { bookId, quantity: 3 }

describe('orderRefusal: why an order that took no stock is refused', () => {
  it('a book that does not exist is BOOK_NOT_FOUND (422), naming bookId, not retryable', () => {
    const error = orderRefusal(order, undefined)
    expect(error).toMatchObject({ code: 'BOOK_NOT_FOUND', status: 422, retryable: false })
    expect(error.message).toMatch(/^bookId: /)
  })

  it('a removed book is BOOK_REMOVED (409) even with copies left: removal wins over stock', () => {
    const error = orderRefusal(order, { stock: 100, removedAt: new Date('2024-01-01T00:00:00Z') })
    expect(error).toMatchObject({ code: 'BOOK_REMOVED', status: 409, retryable: false })
    expect(error.message).toContain(bookId)
  })

  it('too few copies is INSUFFICIENT_STOCK (409), retryable, and says how many there are', () => {
    const error = orderRefusal(order, { stock: 2, removedAt: null })
    expect(error).toMatchObject({ code: 'INSUFFICIENT_STOCK', status: 409, retryable: true })
    expect(error.message).toBe(`quantity: 3 requested but only 2 in stock for book ${bookId}.`)
  })
})
