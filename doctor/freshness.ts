import type { DoctorCheck } from './check.ts'
import { finding } from './finding.ts'

/** End to end: a domain write older than `staleAfterS` that no applied event has caught up with. */
export const freshnessCheck: DoctorCheck = {
  name: 'pipeline.freshness',
  hintWhenUnreachable: 'is Postgres up (npm run stack:status)? if it is, run npm run db:migrate',
  async run({ sql }, t) {
    const [row] = await sql<{ written: Date | null; applied: Date | null }[]>`
      select greatest((select max(updated_at) from books), (select max(created_at) from orders)) as written,
             (select max(consumed_at) from consumed_events) as applied`
    if (!row?.written) return [finding('pipeline.freshness', 'ok', 'nothing written yet')]
    const ageS = (Date.now() - row.written.getTime()) / 1000
    const behindS = row.applied
      ? (row.written.getTime() - row.applied.getTime()) / 1000
      : Number.POSITIVE_INFINITY
    const detail = `newest write ${row.written.toISOString()}, newest applied event ${row.applied?.toISOString() ?? 'none'}`
    if (behindS > 0 && ageS > t.staleAfterS) {
      return [
        finding(
          'pipeline.freshness',
          'fail',
          `${detail}: a write ${Math.round(ageS)} s old is not applied yet`,
          'follow the first failing check above',
          row,
        ),
      ]
    }
    return [finding('pipeline.freshness', 'ok', detail, undefined, row)]
  },
}
