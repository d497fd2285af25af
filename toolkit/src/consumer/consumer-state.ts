import { ConsumerError } from './errors.ts'

export type ConsumerState =
  | 'created'
  | 'starting'
  /** Started, with none of its topics in existence yet: nothing to read, and nothing wrong. */
  | 'waiting'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'failed'

/**
 * Where each state may go. `failed` and `stopped` are final: a consumer is started once, and a
 * process whose consumer failed exits for its supervisor to restart (a fresh consumer resumes
 * from the committed offsets). A fatal error while stopping changes nothing: stop() is already
 * leaving the group with only resolved offsets committed.
 */
export const consumerTransitions: Readonly<Record<ConsumerState, readonly ConsumerState[]>> = {
  created: ['starting', 'stopped'],
  starting: ['waiting', 'running', 'stopping', 'failed'],
  waiting: ['running', 'stopping', 'failed'],
  running: ['stopping', 'failed'],
  stopping: ['stopped'],
  stopped: [],
  failed: [],
}

/** The consumer's lifecycle: one state, changed only along `consumerTransitions`. */
export class ConsumerLifecycle {
  #state: ConsumerState = 'created'

  get state(): ConsumerState {
    return this.#state
  }

  /** Moves to `next` if allowed from here; false (and no change) otherwise. */
  move(next: ConsumerState): boolean {
    if (!consumerTransitions[this.#state].includes(next)) return false
    this.#state = next
    return true
  }

  /** Like move, for the caller's own requests (start twice, say): a refused one is an error. */
  require(next: ConsumerState): void {
    if (!this.move(next))
      throw new ConsumerError('INVALID_STATE', `the consumer cannot go from ${this.#state} to ${next}`)
  }
}
