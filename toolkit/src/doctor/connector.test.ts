import { describe, expect, it } from 'vitest'
import type { ConnectClient, ConnectorStatus } from '../connector/connect-client.ts'
import type { DoctorDeps, DoctorTargets } from './check.ts'
import { connectorCheck } from './connector.ts'

const targets = { connectorName: 'outbox' } as DoctorTargets
const withStatus = (status: ConnectorStatus) =>
  ({ connect: { status: async () => status } as unknown as ConnectClient }) as DoctorDeps

describe('the doctor on a connector that delivers nothing', () => {
  it('names connector resume for a STOPPED connector (connector stop leaves it so), as the CLI says it or as the caller names it', async () => {
    const [found] = await connectorCheck.run(
      withStatus({ name: 'outbox', connector: { state: 'STOPPED', worker_id: 'w' }, tasks: [] }),
      targets,
    )
    expect(found).toMatchObject({
      severity: 'fail',
      detail: expect.stringMatching(/STOPPED: no events leave the outbox/),
      hint: 'outbox-cdc connector resume',
    })
    const [named] = await connectorCheck.run(
      withStatus({ name: 'outbox', connector: { state: 'STOPPED', worker_id: 'w' }, tasks: [] }),
      { ...targets, commands: (operation) => `make ${operation.replace(' ', '-')}` },
    )
    expect(named?.hint).toBe('make connector-resume')
  })
})
