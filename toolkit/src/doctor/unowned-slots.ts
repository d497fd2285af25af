import { cliCommands } from '../operations.ts'
import { unownedSlots } from '../slots/backlog.ts'
import type { DoctorCheck } from './check.ts'
import { finding } from './finding.ts'

/** A slot nobody owns pins WAL for ever, and lets whoever holds it read what it decodes. */
export const unownedSlotsCheck: DoctorCheck = {
  name: 'postgres.unowned-slots',
  hintWhenUnreachable: 'are Postgres and Connect up?',
  async run({ sql, connect }, t) {
    const cmd = t.commands ?? cliCommands
    const names = await unownedSlots(sql, connect)
    if (names.length === 0)
      return [finding('postgres.unowned-slots', 'ok', 'every replication slot here belongs to a connector')]
    return [
      finding(
        'postgres.unowned-slots',
        'fail',
        `no connector owns ${names.join(', ')}: each keeps WAL until dropped, and can decode the tables it covers`,
        `if nothing of yours reads them: ${names.map((n) => cmd('slots drop', n)).join('; ')}`,
        names,
      ),
    ]
  },
}
