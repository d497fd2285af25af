import type { ConnectClient } from '../connector/connect-client.ts'
import type { CommandNamer } from '../operations.ts'
import { connectPostgres } from '../security/postgres.ts'
import {
  backlogOnItsDatabase,
  describeBacklog,
  describeDrop,
  type SlotBacklog,
  unconfirmedRefusal,
} from './backlog.ts'
import { connectorOwningSlot, dropSlot, listSlots, SlotError, type SlotInfo } from './slots.ts'

export interface DropUnownedSlotRequest {
  slotName: string
  /** The publication the slot's events are decoded through (the connector's). */
  publication: string
  /** The connector's heartbeat table (schema-qualified), whose inserts are not counted as events. */
  heartbeatTable: string
  /** How refusals name the commands they suggest (the CLI's by default). */
  commands?: CommandNamer
  /** End the session holding an active slot; also go on when Connect cannot say who owns the slot. */
  force: boolean
  /**
   * Required when the slot holds events it has not confirmed, when they cannot be counted (a
   * physical slot), and whenever Connect cannot say whose slot it is.
   */
  confirm: boolean
}

/** Whose slot it is: `known` false when Connect could not be asked (only `force` goes on then). */
async function ownerOf(
  connect: ConnectClient,
  request: DropUnownedSlotRequest,
  log: (line: string) => void,
): Promise<{ known: boolean; owner?: string | undefined }> {
  try {
    return { known: true, owner: await connectorOwningSlot(connect, request.slotName) }
  } catch (cause) {
    if (!request.force)
      throw new SlotError(
        'OWNER_UNKNOWN',
        `cannot reach Connect to check that no connector uses ${request.slotName}; ` +
          'add --force --yes to drop it anyway (what it holds is counted first)',
        { cause, retryable: true },
      )
    log(`cannot reach Connect: ${request.slotName} may be a connector's; counting what it holds`)
    return { known: false }
  }
}

/**
 * Why dropping `slot` needs `confirm` even with nothing counted, or undefined. With the owner
 * unknown, an active slot is most likely a live connector's (its task would fail for good and
 * every later event be lost), and an inactive one may be a stopped connector's (resumed, it would
 * create a new slot and skip what was written in between): a count of 0 proves neither safe.
 * A physical slot cannot be decoded, so nothing in it can be counted.
 */
function needsConfirmation(slot: SlotInfo, ownerKnown: boolean): string | undefined {
  if (slot.slotType === 'physical')
    return `${slot.slotName} is a physical slot, whose contents cannot be counted (a standby or backup may stream from it)`
  if (ownerKnown) return undefined
  return slot.active
    ? `Connect cannot be reached, and ${slot.slotName} is active (pid ${slot.activePid}): most likely a live connector's, whose task would fail for good, losing every later event`
    : `Connect cannot be reached, so ${slot.slotName} may be a stopped connector's: resumed, it would make a new slot and skip every event written meanwhile`
}

/**
 * `slots:drop`: drops a slot that no connector owns. Refuses a connector's slot (delete the
 * connector with --drop-slot instead), and an active one unless `force`. Dropping discards what
 * the slot has not confirmed, so it counts that first, as connector:delete does, and with any
 * event there (or none countable) refuses without `confirm`, dropping nothing. It also wants
 * `confirm` when Connect cannot say whose slot it is and for a physical slot (needsConfirmation).
 * A lost slot has nothing left to count. Returns the backlog that went with the slot (undefined:
 * not countable).
 */
export async function dropUnownedSlot(
  connect: ConnectClient,
  adminUrl: string,
  request: DropUnownedSlotRequest,
  log: (line: string) => void,
): Promise<SlotBacklog | undefined> {
  const admin = connectPostgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    const { known, owner } = await ownerOf(connect, request, log)
    const slot = (await listSlots(admin)).find((s) => s.slotName === request.slotName)
    if (owner || !slot) {
      // dropSlot refuses a connector's slot and a missing one, each with its own code and hint.
      await dropSlot(admin, request.slotName, {
        force: false,
        ownedByConnector: owner,
        commands: request.commands,
      })
      return undefined
    }
    const refuse = (why: string) =>
      new SlotError(
        'CONFIRMATION_REQUIRED',
        `${why}. Nothing was dropped; run again with --yes if that is what you want.`,
      )
    const backlog =
      slot.slotType === 'physical'
        ? undefined
        : await backlogOnItsDatabase(
            admin,
            adminUrl,
            request.slotName,
            request.publication,
            request.heartbeatTable,
          ).catch((error: unknown) => {
            if (!(error instanceof SlotError && error.code === 'NOT_COUNTABLE')) throw error
            if (!request.confirm)
              throw refuse(
                `${error.message}; dropping ${request.slotName} may lose events it has not confirmed`,
              )
            log(`${error.message}; dropping it as --yes says`)
            return undefined
          })
    if (backlog) log(`replication slot ${request.slotName}: ${describeBacklog(backlog)}`)
    if (backlog && backlog.unconfirmedEvents > 0 && !request.confirm) {
      throw new SlotError(
        'CONFIRMATION_REQUIRED',
        unconfirmedRefusal(request.slotName, backlog.unconfirmedEvents, 'dropped'),
      )
    }
    // Counted first, so a refusal shows what the slot holds; a count of 0 does not make these safe.
    const unsafe = needsConfirmation(slot, known)
    if (unsafe && !request.confirm) throw refuse(unsafe)
    if (unsafe) log(`${unsafe}; dropping it as --yes says`)
    await dropSlot(admin, request.slotName, { force: request.force })
    log(backlog ? describeDrop(request.slotName, backlog) : `dropped replication slot ${request.slotName}`)
    return backlog
  } finally {
    await admin.end({ timeout: 2 })
  }
}
