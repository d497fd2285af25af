import { describe, expect, it } from 'vitest'
import { appendEvent } from './append.ts'
import type { SqlExecutor } from './executor.ts'

/** Records what would be sent; these cases must be refused before anything is. */
function recorder() {
  const sent: { name: string; text: string; params: unknown[] }[] = []
  const executor: SqlExecutor = {
    run: async (name, text, params) => {
      sent.push({ name, text, params })
    },
  }
  return { sent, executor }
}

const event = (payload: unknown) => ({
  id: '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d',
  aggregateType: 'invoice',
  aggregateId: 'a1',
  eventType: 'InvoiceIssued',
  payload,
})

describe('appendEvent', () => {
  it.each([
    ['a NUL character', { note: 'a\u0000b' }],
    ['a lone surrogate', { note: 'x\ud800y' }],
  ])(
    'refuses a payload Postgres jsonb cannot store (%s) with a coded error, sending nothing',
    async (_what, payload) => {
      const { sent, executor } = recorder()
      await expect(appendEvent(executor, 'outbox', event(payload))).rejects.toMatchObject({
        code: 'INVALID_PAYLOAD',
        retryable: false,
      })
      expect(sent).toEqual([])
    },
  )

  it('keeps a backslash followed by u0000 as text, which jsonb stores', async () => {
    const { sent, executor } = recorder()
    await appendEvent(executor, 'outbox', event({ note: 'C:\\u0000 and \\ud800' }))
    expect(sent).toHaveLength(2)
  })

  it('refuses a payload JSON cannot carry (a bigint) with a coded error', async () => {
    const { sent, executor } = recorder()
    await expect(appendEvent(executor, 'outbox', event({ n: 1n }))).rejects.toMatchObject({
      code: 'INVALID_PAYLOAD',
    })
    expect(sent).toEqual([])
  })

  it.each(['2026-03-01 10:00:00', 'infinity', 'yesterday', '2026-03-01T10:00:00'])(
    'refuses an occurredAt without an explicit offset (%s): it would be read in some session time zone',
    async (occurredAt) => {
      const { sent, executor } = recorder()
      await expect(appendEvent(executor, 'outbox', event({}), { occurredAt })).rejects.toMatchObject({
        code: 'INVALID_OPTION',
      })
      expect(sent).toEqual([])
    },
  )

  it('passes an occurredAt with an offset through as text, microseconds kept, for the database to read', async () => {
    const { sent, executor } = recorder()
    await appendEvent(executor, 'outbox', event({}), { occurredAt: '2026-03-01T12:00:00.123456+02:00' })
    expect(sent[0]?.params[5]).toBe('2026-03-01T12:00:00.123456+02:00')
    expect(sent[0]?.text).toContain('$6::text::timestamptz')
  })

  it('names each prepared statement after its text, so two copies of the toolkit never reuse a name for another text', async () => {
    const { sent, executor } = recorder()
    await appendEvent(executor, 'outbox_a', event({}))
    await appendEvent(executor, 'outbox_b', event({}))
    const [insertA, , insertB] = sent
    expect(insertA?.name).not.toBe(insertB?.name)
    const again = recorder()
    await appendEvent(again.executor, 'outbox_b', event({}))
    expect(again.sent[0]?.name).toBe(insertB?.name)
    expect(insertA?.name).toMatch(/^outbox_cdc_[0-9a-f]{16}$/)
  })
})
