import { cliCommands } from '../operations.ts'
import { unownedSlots } from '../slots/backlog.ts'
import { humanBytes, listSlots } from '../slots/slots.ts'
import type { DoctorCheck } from './check.ts'
import { type Finding, finding } from './finding.ts'

/**
 * A logical slot nobody owns pins WAL for ever, and lets whoever holds it read what it decodes: a
 * failure. A physical slot is never a connector's: it is a standby's or a backup's. One a standby
 * streams from (active) is how replication works and is not reported; an idle one pins WAL until
 * its standby comes back or someone drops it, which only its owner can judge: a warning. Past
 * the retained-WAL limit, any physical slot fails, as the connector's own slot does.
 */
export const unownedSlotsCheck: DoctorCheck = {
  name: 'postgres.unowned-slots',
  hintWhenUnreachable: 'are Postgres and Connect up?',
  async run({ sql, connect }, t) {
    const cmd = t.commands ?? cliCommands
    const names = await unownedSlots(sql, connect)
    const slots = new Map((await listSlots(sql)).map((slot) => [slot.slotName, slot]))
    const physical = (name: string) => slots.get(name)?.slotType === 'physical'
    const logical = names.filter((name) => !physical(name))
    const idle = names.filter((name) => physical(name) && !slots.get(name)?.active)
    const findings: Finding[] = []
    if (logical.length === 0)
      findings.push(
        finding('postgres.unowned-slots', 'ok', 'every logical replication slot here belongs to a connector'),
      )
    else
      findings.push(
        finding(
          'postgres.unowned-slots',
          'fail',
          `no connector owns ${logical.join(', ')}: each keeps WAL until dropped, and can decode the tables it covers`,
          `if nothing of yours reads them: ${logical.map((n) => cmd('slots drop', n)).join('; ')}`,
          logical,
        ),
      )
    // Whoever owns it, a slot past the retained-WAL limit (or lost) fills the disk all the same.
    const over = names.filter((name) => {
      const slot = slots.get(name)
      return (
        physical(name) && ((slot?.retainedBytes ?? 0) > t.maxSlotRetainedBytes || slot?.walStatus === 'lost')
      )
    })
    if (over.length > 0)
      findings.push(
        finding(
          'postgres.physical-slots',
          'fail',
          over
            .map((name) => {
              const slot = slots.get(name)
              return `${name} retains ${humanBytes(slot?.retainedBytes ?? null)} (wal_status ${slot?.walStatus}), above the ${humanBytes(t.maxSlotRetainedBytes)} limit`
            })
            .join('; '),
          `a standby or backup is not keeping up with it; if none will: ${over.map((n) => cmd('slots drop', `${n} --yes`)).join('; ')}`,
          over,
        ),
      )
    else if (idle.length > 0)
      findings.push(
        finding(
          'postgres.physical-slots',
          'warn',
          `physical slot(s) ${idle.join(', ')}: no standby streams from it now, so each keeps WAL until one does or it is dropped`,
          `if no standby or backup will come back for them: ${idle.map((n) => cmd('slots drop', `${n} --yes`)).join('; ')}`,
          idle,
        ),
      )
    return findings
  },
}
