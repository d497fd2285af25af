import { cliCommands } from '../operations.ts'
import { humanBytes, type SlotInfo } from '../slots/slots.ts'
import type { DoctorTargets } from './check.ts'
import { type Finding, finding } from './finding.ts'

/** The connector's slot: missing, lost, inactive or lagging is a failure. Pure: given the slot row. */
export function replicationSlotFinding(slot: SlotInfo | undefined, t: DoctorTargets): Finding {
  const cmd = t.commands ?? cliCommands
  if (!slot) {
    return finding(
      'postgres.slot',
      'fail',
      `no replication slot ${t.slotName}`,
      `${cmd('connector register')} (the connector creates its slot)`,
    )
  }
  const lag = `${humanBytes(slot.retainedBytes)} retained, wal_status ${slot.walStatus}`
  if (slot.walStatus === 'lost') {
    return finding(
      'postgres.slot',
      'fail',
      `${t.slotName} is lost: ${lag}`,
      'the WAL it needed is gone; events in it were never delivered — ' +
        `${cmd('connector delete', '--drop-slot --yes')}, then ${cmd('connector register')}`,
      slot,
    )
  }
  if (!slot.active) {
    return finding(
      'postgres.slot',
      'fail',
      `${t.slotName} is inactive (${lag}): nothing streams from it and WAL piles up`,
      `check the connector below; ${cmd('connector status')}`,
      slot,
    )
  }
  if ((slot.retainedBytes ?? 0) > t.maxSlotRetainedBytes) {
    return finding(
      'postgres.slot',
      'fail',
      `${t.slotName} lags: ${lag}`,
      `the connector is not keeping up or the heartbeat is off; see ${cmd('slots list')}`,
      slot,
    )
  }
  return finding('postgres.slot', 'ok', `${t.slotName} active, ${lag}`, undefined, slot)
}
