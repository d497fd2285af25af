import type postgres from 'postgres'
import { type ConnectClient, ConnectError } from '../connector/connect-client.ts'
import { type CommandNamer, cliCommands } from '../operations.ts'
import { advanceSlot, connectorOwningSlot, SlotError } from './slots.ts'

/**
 * Advances a slot and, when a connector reads it, resets that connector's stored position with it.
 * Debezium refuses to start from a position older than its slot keeps ("no longer available on the
 * server"), which an advance makes of every stored position it skips; without a stored position it
 * starts where the slot is. So the connector must be STOPPED (Connect resets only then, and a
 * stopped task holds no slot), and Connect must be asked: a slot whose reader is unknown is not
 * advanced.
 */
export async function advanceConnectorSlot(
  sql: postgres.Sql,
  connect: ConnectClient,
  slot: string,
  options: { confirm: boolean; commands?: CommandNamer; database?: string | undefined },
) {
  const commands = options.commands ?? cliCommands
  let owner: string | undefined
  try {
    owner = await connectorOwningSlot(connect, slot, options.database)
  } catch (cause) {
    if (!(cause instanceof ConnectError)) throw cause
    throw new SlotError(
      'OWNER_UNKNOWN',
      `cannot tell whether a connector reads ${slot} (${cause.message}): its stored position would have to be reset with the advance, so nothing was advanced`,
      { retryable: true, cause },
    )
  }
  if (owner) {
    const state = (await connect.status(owner))?.connector.state
    if (state !== 'STOPPED')
      throw new SlotError(
        'CONNECTOR_NOT_STOPPED',
        `connector ${owner} reads ${slot} and is ${state ?? 'unknown'}: stop it first with \`${commands('connector stop')}\` (its position is reset with the advance), and start it again with \`${commands('connector resume')}\``,
        { retryable: true },
      )
    // The reset comes after the advance, which cannot be undone: make sure it can be done first.
    await connect.offsets(owner).catch((cause) => {
      throw new SlotError(
        'OWNER_UNKNOWN',
        `connector ${owner}'s stored position cannot be read or reset through this Connect (${(cause as Error).message}; Connect 3.6+ resets offsets), so nothing was advanced`,
        { cause },
      )
    })
  }
  const moved = await advanceSlot(sql, slot, options)
  if (owner) await connect.resetOffsets(owner)
  return { ...moved, resetConnector: owner ?? null }
}
