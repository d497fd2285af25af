import type { ConnectClient, ConnectorStatus } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import type { DoctorDeps, DoctorTargets } from './check.ts'
import { connectorCheck } from './connector.ts'

const targets = { connectorName: 'outbox' } as DoctorTargets
const withStatus = (status: ConnectorStatus) =>
  ({ connect: { status: async () => status } as unknown as ConnectClient }) as DoctorDeps

describe('the doctor on a connector that delivers nothing', () => {
  it('names connector:resume for a STOPPED connector (npm run connector:stop leaves it so)', async () => {
    const [found] = await connectorCheck.run(
      withStatus({ name: 'outbox', connector: { state: 'STOPPED', worker_id: 'w' }, tasks: [] }),
      targets,
    )
    expect(found).toMatchObject({
      severity: 'fail',
      detail: expect.stringMatching(/STOPPED: no events leave the outbox/),
      hint: 'npm run connector:resume',
    })
  })
})
