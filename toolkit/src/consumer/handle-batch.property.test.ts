import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type DatabaseFault,
  databaseFaults,
  type GroupFault,
  groupFaults,
  type SendFault,
  sendFaults,
} from '../../test/injected-faults.ts'
import {
  type RecordKind,
  type Scenario,
  type Simulation,
  type Step,
  simulatePartition,
} from '../../test/partition-simulation.ts'

/**
 * The consumer's failure policy as properties over generated partitions (good records, poison,
 * duplicates, records whose handler has a bug) and fault schedules (the database failing on the
 * Nth call, heartbeats and commits failing with kafkajs's group errors, dead letters the broker
 * does not acknowledge), with kafkajs's redelivery played in between. No broker, no database.
 */

const recordKind: fc.Arbitrary<RecordKind> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'good' as const }), weight: 6 },
  { arbitrary: fc.constant({ kind: 'duplicate' as const }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('poison' as const),
      variant: fc.constantFrom(0, 1, 2, 3 as const),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: 'buggy' as const }), weight: 1 },
)

/** Faults at call numbers; a burst fails consecutive calls, which is how an outage outlasts the retries. */
function schedule<F extends string>(faults: readonly F[], maxCall: number, maxBurst: number) {
  return fc
    .array(
      fc.record({
        at: fc.integer({ min: 1, max: maxCall }),
        length: fc.integer({ min: 1, max: maxBurst }),
        fault: fc.constantFrom(...faults),
      }),
      { maxLength: 5 },
    )
    .map((bursts) => {
      const byCall = new Map<number, F>()
      for (const { at, length, fault } of bursts)
        for (let call = at; call < at + length; call++) byCall.set(call, fault)
      return byCall
    })
}

const keys = <T extends object>(object: T) => Object.keys(object) as (keyof T & string)[]
const transientDatabaseFaults = keys(databaseFaults).filter((fault) => databaseFaults[fault].transient)

function scenario(databaseFaultsAllowed: readonly DatabaseFault[], sendFaultsAllowed: readonly SendFault[]) {
  return fc.record({
    records: fc.array(recordKind, { minLength: 1, maxLength: 24 }),
    batchSize: fc.integer({ min: 1, max: 8 }),
    fetchSize: fc.integer({ min: 1, max: 12 }),
    retry: fc.record({
      maxAttempts: fc.integer({ min: 1, max: 4 }),
      baseDelayMs: fc.constant(0),
      maxDelayMs: fc.constant(0),
    }),
    faults: fc.record({
      db: schedule(databaseFaultsAllowed, 40, 4),
      heartbeat: schedule(keys(groupFaults) as GroupFault[], 40, 2),
      send: sendFaultsAllowed.length > 0 ? schedule(sendFaultsAllowed, 10, 2) : fc.constant(new Map()),
      commit: schedule(keys(groupFaults) as GroupFault[], 10, 1),
    }),
  }) satisfies fc.Arbitrary<Scenario>
}

/** The journal cut into deliveries: each starts with its 'delivery' step and ends with 'end'. */
function deliveriesOf(journal: Step[]) {
  const deliveries: Step[][] = []
  for (const step of journal) {
    if (step.step === 'delivery') deliveries.push([])
    deliveries.at(-1)?.push(step)
  }
  return deliveries
}

const isSetAside = (kind: RecordKind | undefined) => kind?.kind === 'poison' || kind?.kind === 'buggy'

/** Every property of the policy, checked on one run; throws on the first one broken. */
function checkPolicy(run: Scenario, sim: Simulation) {
  /** Records applied, found duplicate, or dead-lettered with the broker's acknowledgement. */
  const done = new Set<number>()
  for (const delivery of deliveriesOf(sim.journal)) checkDelivery(run, delivery, done)
  // In the end every record is done, and each good event is in the inbox or was set aside
  // because every attempt at it failed for good.
  sim.messages.forEach((message, offset) => {
    expect(done).toContain(offset)
    if (run.records[offset]?.kind === 'good')
      expect(sim.inbox.has(String(message.headers?.id)) || sentAndAcked(sim.journal, offset)).toBe(true)
  })
}

function checkDelivery(run: Scenario, delivery: Step[], done: Set<number>) {
  const first = delivery[0] as Extract<Step, { step: 'delivery' }>
  const resolved: number[] = []
  const sends = new Map<number, number>()
  delivery.forEach((step, i) => {
    const before = delivery.slice(0, i)
    if (step.step === 'apply' && !step.failure) for (const offset of step.offsets) done.add(offset)
    if (step.step === 'send') {
      // A dead letter only for a record whose last attempt failed for good: never for a
      // transient database error, never for a Kafka error.
      const lastApply = before.findLast((s) => s.step === 'apply')
      expect(lastApply).toMatchObject({ offsets: [step.offset] })
      expect(['poison', 'bug']).toContain((lastApply as { failure?: string }).failure)
      sends.set(step.offset, (sends.get(step.offset) ?? 0) + 1)
      if (step.acked) done.add(step.offset)
    }
    if (step.step === 'resolve') {
      // No offset resolved unless every record up to it is done; in partition order, within
      // this delivery's records.
      for (let offset = 0; offset <= step.offset; offset++) expect(done).toContain(offset)
      expect(step.offset).toBeGreaterThan(resolved.at(-1) ?? first.from - 1)
      expect(step.offset).toBeLessThanOrEqual(first.to)
      resolved.push(step.offset)
    }
    // A lost heartbeat or a failed commit ends the delivery at once with kafkajs's own error,
    // which kafkajs needs to see to rejoin: no retry, dead letter or resolve after it.
    if ((step.step === 'heartbeat' || step.step === 'commit') && step.error) {
      expect(delivery[i + 1]).toMatchObject({ step: 'end' })
      expect((delivery[i + 1] as { threw?: unknown }).threw).toBe(step.error)
    }
    if (step.step === 'fatal') checkStop(step, before, delivery[i + 1], resolved)
  })
  // Poison is dead-lettered exactly once per delivery that gets past it.
  for (const [offset, count] of sends) expect(count, `dead letters for ${offset}`).toBe(1)
  for (let offset = first.from; offset <= (resolved.at(-1) ?? -1); offset++)
    if (isSetAside(run.records[offset])) expect(sends.get(offset), `dead letter for ${offset}`).toBe(1)
}

/** Stopping for good reason only, with the record in hand and everything after it unresolved. */
function checkStop(
  fatal: Extract<Step, { step: 'fatal' }>,
  before: Step[],
  next: Step | undefined,
  resolved: number[],
) {
  const inHand = before.findLast((s) => s.step === 'apply' || s.step === 'send')
  const offset = inHand?.step === 'send' ? inHand.offset : (inHand as { offsets: number[] }).offsets[0]
  expect(resolved.every((r) => r < (offset ?? -1))).toBe(true)
  if (inHand?.step === 'send') expect(inHand.acked).toBe(false)
  else expect(inHand).toMatchObject({ failure: 'transient' })
  expect(fatal.code).toBe(inHand?.step === 'send' ? 'DEAD_LETTER_FAILED' : 'DATABASE_UNAVAILABLE')
  expect(next).toEqual({ step: 'end' })
}

const sentAndAcked = (journal: Step[], offset: number) =>
  journal.some((s) => s.step === 'send' && s.offset === offset && s.acked)

describe('the consumer failure policy (generated partitions and faults)', () => {
  it('resolves only what is done, in order, dead-letters poison once per delivery, and stops cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(keys(databaseFaults), keys(sendFaults)), async (run) => {
        checkPolicy(run, await simulatePartition(run))
      }),
      { numRuns: 300 },
    )
  }, 60_000)

  it('never dead-letters a good event for a transient database error or a group error', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(transientDatabaseFaults, []), async (run) => {
        const sim = await simulatePartition(run)
        checkPolicy(run, sim)
        for (const step of sim.journal)
          if (step.step === 'send')
            expect(isSetAside(run.records[step.offset]), `sent ${step.offset}`).toBe(true)
      }),
      { numRuns: 200 },
    )
  }, 60_000)
})
