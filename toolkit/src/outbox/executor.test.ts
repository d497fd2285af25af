import { describe, expect, it } from 'vitest'
import { type DrizzleTransaction, drizzleExecutor, postgresJsExecutor } from './executor.ts'

describe('executors', () => {
  it('refuse a database or a client where a transaction is needed: an append outside one commits on its own', () => {
    const database = { _: { session: {} } } as unknown as DrizzleTransaction
    expect(() => drizzleExecutor(database)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }))
    const client = (() => {}) as unknown as Parameters<typeof postgresJsExecutor>[0]
    expect(() => postgresJsExecutor(client)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }))
  })
})
