import type { SlotInfo } from '../slots/slots.ts'
import { SlotError } from '../slots/slots.ts'
import { pollUntil as until } from './poll.ts'

/** What the watch needs of Postgres and Connect: small, so its rules are tested without them. */
export interface OrphanWatchDeps {
  /** The slot of that name now, if any. */
  find: () => Promise<SlotInfo | undefined>
  /** Drops it, without ending any session that holds it. */
  drop: () => Promise<void>
  /** The connector whose config names the slot now, if any. */
  owner: () => Promise<string | undefined>
  log: (line: string) => void
}

export interface OrphanWatchOptions {
  slotName: string
  /** The database the dropped slot was on: a slot of that name on another one is not the orphan's. */
  database: string | null
  /** How long to watch for the slot's return once it is gone. */
  watchMs: number
  /** How long the whole watch may take, waits included. */
  timeoutMs: number
  pollMs?: number
}

/** Postgres' codes for a slot gone meanwhile (undefined_object) or taken meanwhile (object_in_use). */
const raced = (error: unknown) =>
  (error instanceof SlotError && (error.code === 'SLOT_NOT_FOUND' || error.code === 'SLOT_ACTIVE')) ||
  ['42704', '55006'].includes((error as { code?: unknown })?.code as string)

/**
 * After a lost slot is dropped, watches for its return and drops what the connector's orphaned task
 * made. Connect cannot stop the task of a lost slot: Debezium waits in the task's start for the
 * slot to become valid (re-reading it every 2 s, for 30 minutes), Connect gives up on it after its
 * graceful-stop timeout and reports the connector gone, and once the slot is dropped the orphan
 * creates it afresh, then exits. Left alone, that slot would hold WAL with no connector to read it.
 *
 * What comes back is the orphan's only if no connector names it now (someone may have registered
 * one meanwhile, as a service's start-up may) and it is on the same database; and it is dropped only idle,
 * never by ending a session, since a slot someone holds is not an orphan's (the orphan lets go as
 * soon as it has made it). A slot that returns after the watch is not seen: the caller says how
 * long it watched.
 */
export async function dropWhatAnOrphanMakes(deps: OrphanWatchDeps, o: OrphanWatchOptions): Promise<void> {
  const pollMs = o.pollMs ?? 100
  const deadline = Date.now() + o.timeoutMs
  const left = () => Math.max(0, deadline - Date.now())
  const mine = (slot: SlotInfo | undefined) => slot !== undefined && slot.database === o.database
  let told = false
  for (;;) {
    const back = await until(
      async () => (await deps.find()) !== undefined,
      Math.min(o.watchMs, left()),
      pollMs,
    )
    if (!back) return
    const slot = await deps.find()
    if (!slot) continue
    const owner = await deps.owner()
    if (owner || !mine(slot)) {
      deps.log(
        owner
          ? `${o.slotName} is back, and connector ${owner} now names it: left to that connector`
          : `${o.slotName} is back on database ${slot.database}, not ${o.database}: not the deleted connector's, left alone`,
      )
      return
    }
    if (!told)
      deps.log(
        `the deleted connector's orphaned task (Connect cannot stop a task waiting on a lost slot) created ${o.slotName} again; dropping that too`,
      )
    told = true
    await until(async () => !(await deps.find())?.active, left(), pollMs)
    const now = await deps.find()
    if (now?.active)
      throw new SlotError(
        'SLOT_IN_USE_BY_CONNECTOR',
        `${o.slotName} came back and is held by pid ${now.activePid}, which no connector in Connect names, so it is kept; ` +
          'see who holds it (pg_stat_activity), and drop it with slots drop once nothing does',
        { retryable: true },
      )
    if (now)
      try {
        await deps.drop()
      } catch (error) {
        if (!raced(error)) throw error
      }
    if (left() === 0) break
  }
  const still = await deps.find()
  if (still && mine(still))
    throw new SlotError(
      'SLOT_IN_USE_BY_CONNECTOR',
      `${o.slotName} still came back ${Math.round(o.timeoutMs / 1000)} s after it was dropped, with no connector naming it: ` +
        'a task of the deleted connector still runs in Connect. Run the same command again; if it keeps coming back, restart that Connect worker',
      { retryable: true },
    )
}
