import type { Message } from 'kafkajs'
import { describe, expect, it, vi } from 'vitest'
import {
  databaseFaults,
  type GroupFault,
  groupFaults,
  protocolError,
  type SendFault,
  sendFaults,
} from '../../test/injected-faults.ts'
import { dlqHeader } from './dead-letter.ts'
import { ConsumerError } from './errors.ts'
import type { IncomingEvent } from './incoming-event.ts'
import { FatalConsumerError, type ProcessDeps, processMessage } from './process-message.ts'

const record: IncomingEvent = {
  topic: 'outbox.events.book',
  partition: 0,
  offset: '41',
  key: 'b1',
  headers: { id: '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d', event_type: 'BookAdded' },
  value: '{}',
}

/** processMessage with fakes: `failures` are thrown by the first calls to applyEvent, in order. */
function harness(failures: Error[], overrides: Partial<ProcessDeps> = {}) {
  const deadLetters: Message[] = []
  const deps: ProcessDeps = {
    applyEvent: vi.fn(async () => {
      const failure = failures.shift()
      if (failure) throw failure
      return 'applied' as const
    }),
    publishDeadLetter: vi.fn(async (message: Message) => void deadLetters.push(message)),
    deadLetterTopic: 'outbox.events-dlq',
    retry: { maxAttempts: 4, baseDelayMs: 0, maxDelayMs: 0 },
    heartbeat: vi.fn(async () => {}),
    ...overrides,
  }
  return { deps, deadLetters }
}

const transient = () => databaseFaults['57P01 admin_shutdown'].make()

describe('processMessage', () => {
  it('retries transient database errors, heartbeating between tries, and applies the event', async () => {
    const { deps, deadLetters } = harness([
      transient(),
      databaseFaults['08006 connection_failure'].make(),
      databaseFaults.ECONNRESET.make(),
    ])
    const onRetry = vi.fn()
    await expect(processMessage(deps, record, onRetry)).resolves.toEqual({ outcome: 'applied' })
    expect(deps.applyEvent).toHaveBeenCalledTimes(4)
    expect(deps.heartbeat).toHaveBeenCalledTimes(3)
    expect(onRetry).toHaveBeenCalledTimes(3)
    expect(deadLetters).toEqual([])
  })

  it('stops the consumer, dead-lettering nothing, when transient errors outlast the policy', async () => {
    const { deps, deadLetters } = harness([transient(), transient(), transient(), transient()])
    const failure = await processMessage(deps, record).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(FatalConsumerError)
    expect(failure).toMatchObject({ code: 'DATABASE_UNAVAILABLE' })
    expect(deadLetters).toEqual([])
  })

  it('dead-letters poison at once, without retrying or heartbeating', async () => {
    const { deps, deadLetters } = harness([new ConsumerError('INVALID_JSON', 'the record value is not JSON')])
    await expect(processMessage(deps, record)).resolves.toEqual({
      outcome: 'dead-lettered',
      errorCode: 'INVALID_JSON',
    })
    expect(deps.applyEvent).toHaveBeenCalledTimes(1)
    expect(deps.heartbeat).not.toHaveBeenCalled()
    expect(deadLetters[0]?.headers).toMatchObject({ [dlqHeader.offset]: '41', [dlqHeader.attempts]: '1' })
  })

  it('retries a handler TypeError like any other handler failure before dead-lettering it', async () => {
    const { deps, deadLetters } = harness([
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
    ])
    await expect(processMessage(deps, record)).resolves.toEqual({ outcome: 'applied' })
    expect(deps.applyEvent).toHaveBeenCalledTimes(3)
    expect(deadLetters).toEqual([])

    const always = harness(Array.from({ length: 4 }, () => new TypeError('x is not a function')))
    await expect(processMessage(always.deps, record)).resolves.toEqual({
      outcome: 'dead-lettered',
      errorCode: 'HANDLER_FAILED',
    })
    expect(always.deps.applyEvent).toHaveBeenCalledTimes(4)
    expect(always.deadLetters[0]?.headers).toMatchObject({
      [dlqHeader.attempts]: '4',
      [dlqHeader.errorMessage]: 'x is not a function',
    })
  })

  it('retries a handler bug, then dead-letters it as HANDLER_FAILED with the number of attempts', async () => {
    const bug = () => databaseFaults['23514 check_violation'].make()
    const { deps, deadLetters } = harness([transient(), bug(), bug(), bug()])
    await expect(processMessage(deps, record)).resolves.toEqual({
      outcome: 'dead-lettered',
      errorCode: 'HANDLER_FAILED',
    })
    expect(deadLetters[0]?.headers).toMatchObject({
      [dlqHeader.errorCode]: 'HANDLER_FAILED',
      [dlqHeader.attempts]: '4',
    })
  })

  // Regression (issue 10): a heartbeat that failed while backing off dead-lettered a good event as
  // HANDLER_FAILED, and the caller then resolved its offset during the rebalance.
  it.each(Object.keys(groupFaults) as GroupFault[])(
    'a heartbeat lost while backing off (%s) leaves the event unresolved and never dead-letters it',
    async (fault) => {
      const lost = groupFaults[fault]()
      const { deps, deadLetters } = harness([transient(), transient()], {
        heartbeat: vi.fn(async () => {
          throw lost
        }),
      })
      // kafkajs must get its own error back (it rejoins the group on REBALANCE_IN_PROGRESS).
      await expect(processMessage(deps, record)).rejects.toBe(lost)
      expect(deps.applyEvent).toHaveBeenCalledTimes(1)
      expect(deps.publishDeadLetter).not.toHaveBeenCalled()
      expect(deadLetters).toEqual([])
    },
  )

  it('does not dead-letter a handler bug whose backoff lost the group either', async () => {
    const lost = protocolError('REBALANCE_IN_PROGRESS')
    const { deps } = harness([databaseFaults['handler TypeError'].make()], {
      heartbeat: async () => {
        throw lost
      },
    })
    await expect(processMessage(deps, record)).rejects.toBe(lost)
    expect(deps.publishDeadLetter).not.toHaveBeenCalled()
  })

  it.each(Object.keys(sendFaults) as SendFault[])(
    'stops the consumer when the broker does not acknowledge a dead letter (%s)',
    async (fault) => {
      const { deps } = harness([new ConsumerError('UNKNOWN_EVENT_TYPE', 'no handler')], {
        publishDeadLetter: async () => {
          throw sendFaults[fault]()
        },
      })
      const failure = await processMessage(deps, record).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(FatalConsumerError)
      expect(failure).toMatchObject({
        code: 'DEAD_LETTER_FAILED',
        cause: { name: expect.stringMatching(/^KafkaJS/) },
      })
    },
  )
})
