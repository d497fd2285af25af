import type { ConnectClient, DoctorDeps } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import { bookstoreTargets } from './config.ts'
import { sagaCheck } from './saga.ts'

const targets = bookstoreTargets({
  connectorName: 'c',
  slotName: 's',
  publication: 'p',
  namespace: 'ns',
  consumerGroup: 'g',
  fulfilmentGroup: 'f',
  maxSlotRetainedBytes: 1,
  maxConsumerLag: 1,
  staleAfterS: 60,
})

/** The two things the check reads: the connector's config, and the count of orders left placed. */
const deps = (tableIncludeList: string, stuck = 0): DoctorDeps =>
  ({
    connect: {
      getConfig: async () => ({ 'table.include.list': tableIncludeList }),
    } as unknown as ConnectClient,
    sql: { unsafe: async () => [{ stuck, oldest: null }] } as unknown as DoctorDeps['sql'],
  }) as DoctorDeps

describe('the saga check', () => {
  it('fails when the connector does not capture fulfilment_outbox: its events are dropped', async () => {
    const findings = await sagaCheck.run(deps('public.outbox,public.outbox_heartbeat'), targets)
    expect(findings.map((f) => [f.check, f.severity])).toEqual([
      ['saga.capture', 'fail'],
      ['saga.orders', 'ok'],
    ])
    expect(findings[0]?.hint).toMatch(/connector:register/)
  })

  it('fails on orders left placed, and says nothing when fulfilment is not part of the pipeline', async () => {
    const all = 'public.outbox,public.fulfilment_outbox,public.outbox_heartbeat'
    expect((await sagaCheck.run(deps(all, 3), targets)).map((f) => [f.check, f.severity])).toEqual([
      ['saga.orders', 'fail'],
    ])
    expect(
      await sagaCheck.run(deps(all, 3), bookstoreTargets({ ...targets, fulfilmentGroup: undefined })),
    ).toEqual([])
  })
})
