import { describe, expect, it } from 'vitest'
import { finding } from '../doctor/finding.ts'
import { stageIds, toStages } from './stages.ts'

const services = {
  api: finding('api.health', 'ok', 'api answers'),
  consumer: finding('consumer.health', 'ok', 'consumer consuming'),
}
const healthy = [
  finding('postgres.wal_level', 'ok', 'logical'),
  finding('postgres.publication', 'ok', 'outbox'),
  finding('postgres.slot', 'ok', 'slot active'),
  finding('postgres.unowned-slots', 'ok', 'all owned'),
  finding('connect.connector', 'ok', 'RUNNING'),
  finding('kafka.topics', 'ok', 'topics'),
  finding('consumer.group', 'ok', 'lag 0'),
  finding('consumer.dead-letters', 'ok', 'none'),
  finding('pipeline.freshness', 'ok', 'fresh'),
]
const severities = (stages: ReturnType<typeof toStages>) =>
  Object.fromEntries(stages.map((s) => [s.id, s.severity]))

describe('the path as stages', () => {
  it('shows every stage, in the order an event travels, green when every finding is ok', () => {
    const stages = toStages(healthy, services)
    expect(stages.map((s) => s.id)).toEqual([...stageIds])
    expect(stages.every((s) => s.severity === 'ok')).toBe(true)
  })

  it('colours a stage by its worst finding and shows that finding first, with its hint', () => {
    const paused = healthy.map((f) =>
      f.check === 'connect.connector' ? finding(f.check, 'fail', 'PAUSED', 'npm run connector:resume') : f,
    )
    const dead = paused.map((f) =>
      f.check === 'consumer.dead-letters'
        ? finding(f.check, 'warn', '2 dead letters', 'npm run dlq:list')
        : f,
    )
    const stages = toStages(dead, services)
    expect(severities(stages)).toMatchObject({ connector: 'fail', consumer: 'warn', slot: 'ok' })
    const connector = stages.find((s) => s.id === 'connector')
    expect(connector).toMatchObject({ details: ['PAUSED'], hint: 'npm run connector:resume' })
    expect(stages.find((s) => s.id === 'consumer')?.details[0]).toBe('2 dead letters')
  })

  it('marks every stage a check covers when the check could not run, and keeps the others', () => {
    const kafkaDown = [
      ...healthy.filter((f) => !f.check.startsWith('kafka') && !f.check.startsWith('consumer')),
      finding('kafka', 'fail', 'could not check: connection refused', 'is Kafka up?'),
    ]
    expect(severities(toStages(kafkaDown, services))).toEqual({
      api: 'ok',
      postgres: 'ok',
      slot: 'ok',
      connector: 'ok',
      topics: 'fail',
      consumer: 'fail',
      readModel: 'ok',
    })
  })

  it('shows a stage no check reported on as red, not as healthy', () => {
    const stages = toStages([], services)
    expect(stages.find((s) => s.id === 'topics')).toMatchObject({ severity: 'fail' })
  })

  it('shows the read model amber, not red, for a service that gave no checks of its own', () => {
    const toolkitOnly = healthy.filter((f) => f.check !== 'pipeline.freshness')
    expect(toStages(toolkitOnly, services).find((s) => s.id === 'readModel')).toMatchObject({
      severity: 'warn',
      hint: expect.stringMatching(/doctor\.checks/),
    })
  })

  it('shows the API red when it does not answer, whatever the doctor says', () => {
    const api = finding('api.health', 'fail', 'cannot reach http://127.0.0.1:3000/health', 'npm run api')
    expect(toStages(healthy, { ...services, api })[0]).toMatchObject({
      severity: 'fail',
      hint: 'npm run api',
    })
  })

  it('shows fulfilment on the path: its group on the consumer stage, stuck orders on the read model', () => {
    const stages = toStages(
      [
        ...healthy,
        finding(
          'fulfilment.group',
          'fail',
          'group outbox-cdc-fulfilment: 0 member(s), lag 4: nobody is consuming',
        ),
        finding('saga.orders', 'fail', '4 order(s) placed more than 60 s ago'),
      ],
      services,
    )
    expect(severities(stages)).toMatchObject({ consumer: 'fail', readModel: 'fail', connector: 'ok' })
    expect(stages.find((s) => s.id === 'consumer')?.details[0]).toContain('outbox-cdc-fulfilment')
  })

  it('shows an inbox on its consumer stage, also one that could not be read', () => {
    const warned = toStages([...healthy, finding('fulfilment.inbox', 'warn', 'topic keeps 14 d')], services)
    expect(severities(warned)).toMatchObject({ consumer: 'warn', readModel: 'ok' })
    const unread = toStages(
      [...healthy, finding('inbox', 'fail', 'could not check: relation does not exist')],
      services,
    )
    expect(severities(unread)).toMatchObject({ consumer: 'fail', readModel: 'ok', postgres: 'ok' })
  })

  it("shows a service's own checks: another group's lag as consumers, the rest as the read model, unless it says where", () => {
    const own = [
      ...healthy,
      finding('billing.group', 'fail', 'lag 20000'),
      finding('billing.ledger', 'warn', 'ledger behind'),
      finding('billing.capture', 'fail', 'nothing captured'),
    ]
    expect(severities(toStages(own, services))).toMatchObject({
      consumer: 'fail',
      readModel: 'fail',
      connector: 'ok',
    })
    expect(severities(toStages(own, services, { 'billing.capture': ['connector'] }))).toMatchObject({
      consumer: 'fail',
      readModel: 'warn',
      connector: 'fail',
    })
  })
})
