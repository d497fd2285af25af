import { connectPostgres } from '../security/postgres.ts'
import {
  backlogOnItsDatabase,
  describeBacklog,
  describeDrop,
  type SlotBacklog,
  unconfirmedCaveat,
  unconfirmedRefusal,
} from '../slots/backlog.ts'
import { connectorOwningSlot, dropSlot, listSlots, SlotError } from '../slots/slots.ts'
import { type ConnectClient, isInState } from './connect-client.ts'
import { dropWhatAnOrphanMakes } from './orphan-slot.ts'
import { pollUntil } from './poll.ts'

export interface DeleteConnectorRequest {
  connectorName: string
  slotName: string
  publication: string
  /** The connector's heartbeat table (schema-qualified), whose inserts are not counted as events. */
  heartbeatTable: string
  /** Also drop the connector's replication slot (what it has not delivered of its unconfirmed events is lost). */
  dropSlot: boolean
  /** Required with `dropSlot` when the slot holds anything unconfirmed. */
  confirm: boolean
}

export interface DeleteConnectorResult {
  connectorExisted: boolean
  /** The slot's backlog when it was dropped (what it had not confirmed); undefined if kept or absent. */
  dropped?: SlotBacklog
  slotFound: boolean
}

/** How long a deleted connector's task may take to let go of its slot (Connect under load: seconds). */
const releaseTimeoutMs = 60_000

/** Debezium re-reads a slot it waits on every 2 s: three of those periods. */
const orphanWatchMs = 6_000

/**
 * Deletes a connector and, when asked, its slot. Dropping a slot discards every event it has not
 * confirmed, so with any such event it refuses without `confirm` — before deleting anything, so a
 * refused call changes nothing. The count is taken again after the connector has stopped, since
 * writes go on meanwhile: without `confirm`, events found then keep the slot (the connector is
 * gone by then, and registering it again delivers them). With `confirm`, that second count is
 * what the result reports as dropped unconfirmed. Unconfirmed is not undelivered (see
 * SlotBacklog.unconfirmedEvents): the count errs towards asking. A lost slot has nothing left to lose (see
 * SlotBacklog.lost): it is dropped without asking, and the connector with it.
 */
export async function deleteConnector(
  connect: ConnectClient,
  adminUrl: string,
  request: DeleteConnectorRequest,
  log: (line: string) => void,
): Promise<DeleteConnectorResult> {
  const admin = connectPostgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    const before = request.dropSlot
      ? await backlogOnItsDatabase(
          admin,
          adminUrl,
          request.slotName,
          request.publication,
          request.heartbeatTable,
        )
      : undefined
    if (before) log(`replication slot ${request.slotName}: ${describeBacklog(before)}`)
    if (before && !request.confirm && before.unconfirmedEvents > 0) {
      throw new SlotError(
        'CONFIRMATION_REQUIRED',
        unconfirmedRefusal(request.slotName, before.unconfirmedEvents, 'deleted'),
      )
    }
    // The slot is going: Connect must forget where the connector stood in it, or registering it
    // again under its name hands Debezium that position, older than the new slot's, and the task
    // fails ("no longer available on the server"). Offsets are reset on a STOPPED connector only,
    // and only while it exists, so before the delete.
    // Whether or not the slot is still there: a position left behind fails the next register alike.
    if (request.dropSlot && (await connect.status(request.connectorName))) {
      await connect.stop(request.connectorName)
      // Polled without waitForState, which gives up on a FAILED part: a connector whose task
      // failed (a lost slot, say) is the one most often deleted, and it stops all the same.
      const stopped = await pollUntil(
        async () => isInState(await connect.status(request.connectorName), 'STOPPED'),
        releaseTimeoutMs,
      )
      if (!stopped)
        throw new SlotError(
          'SLOT_IN_USE_BY_CONNECTOR',
          `connector ${request.connectorName} was not STOPPED after ${releaseTimeoutMs / 1000} s, so nothing is deleted, but it is left stopped ` +
            '(connector resume undoes that); run the same command again to delete it',
          { retryable: true },
        )
      await connect.resetOffsets(request.connectorName)
      log(`stopped connector ${request.connectorName} and reset its stored position in ${request.slotName}`)
    }
    const connectorExisted = await connect.remove(request.connectorName)
    log(
      connectorExisted
        ? `deleted connector ${request.connectorName}`
        : `no connector named ${request.connectorName}`,
    )
    if (!request.dropSlot) return { connectorExisted, slotFound: false }
    if (!before) {
      log(`no replication slot ${request.slotName} to drop`)
      return { connectorExisted, slotFound: false }
    }
    // Dropping a slot the task still holds, or is about to take again, would have the task create
    // it afresh: the slot would survive its own drop. Not released in time: keep it, and say so.
    // Released: Connect no longer reports the connector (its task is stopped) and no session
    // holds the slot. An inactive slot alone proves nothing: a task between two attempts (one
    // failing on a lost slot, say) holds none, and would create the slot again right after a drop.
    const released = await pollUntil(async () => {
      const slot = (await listSlots(admin)).find((s) => s.slotName === request.slotName)
      return !slot?.active && !(await connect.status(request.connectorName))
    }, releaseTimeoutMs)
    if (!released) {
      throw new SlotError(
        'SLOT_IN_USE_BY_CONNECTOR',
        `connector ${request.connectorName} is deleted, but its task had not let go of ${request.slotName} ` +
          `after ${releaseTimeoutMs / 1000} s, so the slot is kept; run the same command again to drop it`,
        { retryable: true },
      )
    }
    const dropped =
      (await backlogOnItsDatabase(
        admin,
        adminUrl,
        request.slotName,
        request.publication,
        request.heartbeatTable,
      )) ?? before
    // Events written between the first count and the connector's stop are as lost as the others.
    if (!request.confirm && dropped.unconfirmedEvents > 0) {
      throw new SlotError(
        'CONFIRMATION_REQUIRED',
        `${dropped.unconfirmedEvents} event(s) the connector had not confirmed were in ${request.slotName} once it stopped ` +
          `(${unconfirmedCaveat}); the connector is deleted but the slot is kept. ` +
          'Register the connector again to deliver the rest (it starts where the slot is), or run again with --yes to drop it.',
      )
    }
    // Force ends a walsender that lingers past the wait, now that no connector will reconnect.
    const find = async () => (await listSlots(admin)).find((s) => s.slotName === request.slotName)
    const database = (await find())?.database ?? null
    await dropSlot(admin, request.slotName, { force: true })
    if (dropped.lost) {
      log(
        `watching ${orphanWatchMs / 1000} s for ${request.slotName} to come back: Connect cannot stop the task of a lost slot, and it makes the slot again once it is gone`,
      )
      await dropWhatAnOrphanMakes(
        {
          find,
          drop: async () => {
            await dropSlot(admin, request.slotName, { force: false })
          },
          owner: () => connectorOwningSlot(connect, request.slotName),
          log,
        },
        {
          slotName: request.slotName,
          database,
          watchMs: orphanWatchMs,
          timeoutMs: releaseTimeoutMs,
        },
      )
    }
    log(describeDrop(request.slotName, dropped))
    return { connectorExisted, slotFound: true, dropped }
  } finally {
    await admin.end({ timeout: 2 })
  }
}
