/** Whether the consumer is in its group, and if not, why (for `/health`). */
export interface MembershipVerdict {
  inGroup: boolean
  reason?: string
}

export interface GroupMembershipOptions {
  /**
   * How long without a sign of life (a join, heartbeat or fetch) before the member counts as out
   * of its group: the session timeout, after which the coordinator has evicted it anyway.
   */
  staleAfterMs: number
  /** The clock; Date.now when not given. */
  now?: () => number
}

/**
 * The consumer's group membership as kafkajs's instrumentation events tell it, without I/O so it
 * is tested with a fake clock. The consumer's lifecycle says whether it was started; this says
 * whether kafkajs is in fact in the group now:
 * - a crash kafkajs restarts from (`restart: true`) takes it out until it joins again: kafkajs
 *   has disconnected, and its restart may fail again and again (a topic gone, a broker frozen);
 * - no heartbeat or fetch for `staleAfterMs` means the coordinator has not heard from it for a
 *   whole session: requests hang on a frozen broker long before any crash is reported.
 * A fetch returns within kafkajs's maxWaitTime (5 s) even when there is nothing to read, and a
 * heartbeat goes out every heartbeatInterval while records are applied, so a working member
 * gives signs far more often than once a session.
 */
export function createGroupMembership(options: GroupMembershipOptions) {
  const now = options.now ?? Date.now
  let lastSignAt: number | undefined
  let crash: { at: number; message: string } | undefined
  const seconds = (ms: number) => `${Math.round(ms / 1000)} s`

  return {
    /** GROUP_JOIN: in the group, whatever happened before. */
    joined() {
      lastSignAt = now()
      crash = undefined
    },
    /** HEARTBEAT or FETCH: the coordinator or a leader answered. */
    alive() {
      lastSignAt = now()
    },
    /** CRASH: kafkajs left the group; with `restart: true` it tries to join again by itself. */
    crashed(error: Error) {
      crash = { at: now(), message: error.message }
    },
    verdict(): MembershipVerdict {
      const at = now()
      if (crash)
        return {
          inGroup: false,
          reason: `kafkajs crashed ${seconds(at - crash.at)} ago (${crash.message}) and has not rejoined its group since`,
        }
      if (lastSignAt === undefined) return { inGroup: false, reason: 'has not joined its group yet' }
      const silentMs = at - lastSignAt
      if (silentMs > options.staleAfterMs)
        return {
          inGroup: false,
          reason: `no heartbeat or fetch for ${seconds(silentMs)} (session timeout ${seconds(options.staleAfterMs)}): out of its group`,
        }
      return { inGroup: true }
    },
  }
}

export type GroupMembership = ReturnType<typeof createGroupMembership>
