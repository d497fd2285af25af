import { describe, expect, it } from 'vitest'
import { createGroupMembership } from './group-membership.ts'

const clocked = (staleAfterMs = 30_000) => {
  let at = 1_000_000
  const membership = createGroupMembership({ staleAfterMs, now: () => at })
  return {
    membership,
    advance: (ms: number) => {
      at += ms
    },
  }
}

describe('the consumer group membership', () => {
  it('is out of the group until it has first joined', () => {
    const { membership } = clocked()
    expect(membership.verdict()).toEqual({ inGroup: false, reason: 'has not joined its group yet' })
    membership.joined()
    expect(membership.verdict()).toEqual({ inGroup: true })
  })

  it('is out of the group from a crash kafkajs restarts from until it joins again, heartbeats or not', () => {
    const { membership, advance } = clocked()
    membership.joined()
    membership.crashed(new Error('This server does not host this topic-partition'))
    advance(4_000)
    membership.alive()
    expect(membership.verdict()).toEqual({
      inGroup: false,
      reason:
        'kafkajs crashed 4 s ago (This server does not host this topic-partition) and has not rejoined its group since',
    })
    membership.joined()
    expect(membership.verdict()).toEqual({ inGroup: true })
  })

  it('is out of the group after a whole session timeout with no heartbeat or fetch, as with a frozen broker', () => {
    const { membership, advance } = clocked(30_000)
    membership.joined()
    advance(29_000)
    membership.alive()
    advance(30_000)
    expect(membership.verdict()).toEqual({ inGroup: true })
    advance(1)
    expect(membership.verdict()).toEqual({
      inGroup: false,
      reason: 'no heartbeat or fetch for 30 s (session timeout 30 s): out of its group',
    })
    membership.alive()
    expect(membership.verdict()).toEqual({ inGroup: true })
  })
})
