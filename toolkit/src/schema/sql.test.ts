import { describe, expect, it } from 'vitest'
import { schemaSql } from './sql.ts'

const base = { outboxes: ['outbox'], heartbeat: 'outbox_heartbeat', inboxes: ['inbox'], publication: 'pub' }

describe('schemaSql', () => {
  it('creates a schema it names and lets the replication role use it', () => {
    const text = schemaSql({
      ...base,
      outboxes: [{ schema: 'svc', table: 'outbox' }],
      heartbeat: { schema: 'svc', table: 'hb' },
      replicationRole: 'dbz',
    })
    expect(text).toContain('create schema if not exists "svc"')
    expect(text).toMatch(/grant usage on schema "svc" to "dbz"/)
  })

  it('makes an existing publication publish inserts only (the outbox deletes must not reach Kafka)', () => {
    expect(schemaSql(base)).toMatch(/alter publication "pub" set \(publish = 'insert'\)/)
  })

  it("refuses names that would end the script's dollar quoting, and an empty outbox list", () => {
    expect(() => schemaSql({ ...base, publication: 'p$$' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    )
    expect(() => schemaSql({ ...base, outboxes: [], replicationRole: 'dbz' })).toThrow(/at least one outbox/)
  })
})
