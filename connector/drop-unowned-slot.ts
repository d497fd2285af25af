import postgres from 'postgres'
import type { ConnectClient } from '../lib/connect-client.ts'
import { backlogOnItsDatabase, describeBacklog, describeDrop, type SlotBacklog } from './slot-backlog.ts'
import { connectorOwningSlot, dropSlot, listSlots, SlotError } from './slots.ts'

export interface DropUnownedSlotRequest {
  slotName: string
  /** The publication the slot's events are decoded through (the connector's). */
  publication: string
  /** End the session holding an active slot; also go on when Connect cannot say who owns the slot. */
  force: boolean
  /** Required when the slot holds events it has not delivered, or when they cannot be counted. */
  confirm: boolean
}

/** Whose slot it is; undefined for none. Connect down is no answer: only `force` goes on without one. */
async function ownerOf(connect: ConnectClient, request: DropUnownedSlotRequest, log: (line: string) => void) {
  try {
    return await connectorOwningSlot(connect, request.slotName)
  } catch (cause) {
    if (!request.force)
      throw new SlotError(
        'OWNER_UNKNOWN',
        `cannot reach Connect to check that no connector uses ${request.slotName}; ` +
          'add --force to drop it anyway (what it holds is counted first)',
        { cause, retryable: true },
      )
    log(`cannot reach Connect: ${request.slotName} may be a connector's; counting what it holds`)
    return undefined
  }
}

/**
 * `slots:drop`: drops a slot that no connector owns. Refuses a connector's slot (delete the
 * connector with --drop-slot instead), and an active one unless `force`. Dropping discards what
 * the slot has not confirmed, so it counts that first, as connector:delete does, and with any
 * event there (or none countable) refuses without `confirm`, dropping nothing. A lost slot has
 * nothing left to count. Returns the backlog that went with the slot (undefined: not countable).
 */
export async function dropUnownedSlot(
  connect: ConnectClient,
  adminUrl: string,
  request: DropUnownedSlotRequest,
  log: (line: string) => void,
): Promise<SlotBacklog | undefined> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    const owner = await ownerOf(connect, request, log)
    const slot = (await listSlots(admin)).find((s) => s.slotName === request.slotName)
    if (owner || !slot) {
      // dropSlot refuses a connector's slot and a missing one, each with its own code and hint.
      await dropSlot(admin, request.slotName, { force: false, ownedByConnector: owner })
      return undefined
    }
    const backlog =
      slot.slotType === 'physical'
        ? undefined
        : await backlogOnItsDatabase(admin, adminUrl, request.slotName, request.publication).catch(
            (error: unknown) => {
              if (!(error instanceof SlotError && error.code === 'NOT_COUNTABLE')) throw error
              if (!request.confirm)
                throw new SlotError(
                  'CONFIRMATION_REQUIRED',
                  `${error.message}; dropping ${request.slotName} may lose events it has not delivered. ` +
                    'Nothing was dropped; run again with --yes if that is what you want.',
                )
              log(`${error.message}; dropping it as --yes says`)
              return undefined
            },
          )
    if (backlog) log(`replication slot ${request.slotName}: ${describeBacklog(backlog)}`)
    if (backlog && backlog.unconfirmedEvents > 0 && !request.confirm) {
      throw new SlotError(
        'CONFIRMATION_REQUIRED',
        `dropping ${request.slotName} loses the ${backlog.unconfirmedEvents} event(s) it has not delivered. ` +
          'Nothing was dropped; run again with --yes if that is what you want, or let its connector catch up first.',
      )
    }
    await dropSlot(admin, request.slotName, { force: request.force })
    log(backlog ? describeDrop(request.slotName, backlog) : `dropped replication slot ${request.slotName}`)
    return backlog
  } finally {
    await admin.end({ timeout: 2 })
  }
}
