/**
 * The benchmark's regression guard: the ratios a short run measured against the ones published
 * in a results file. Ratios, not rates: both sides of each run on the same loaded machine, so a
 * slower CI box moves them far less than it moves events per second. A guard fails only on a
 * collapse, a ratio below `floor` (half) of its published value, never on noise.
 */

export interface GuardedRatio {
  name: string
  measured: number
  published: number
  /** measured ÷ published. */
  share: number
  ok: boolean
}

/** The ratios the guard watches, by where they sit in a results record's `results`. */
const watched: Array<{ name: string; at: (results: Results) => number | undefined }> = [
  { name: 'POST /orders ÷ raw postgres.js (prepared)', at: (r) => r.writePath?.apiToRaw },
  { name: 'consumer ÷ kafkajs alone', at: (r) => r.consumer?.consumerToRaw },
  { name: 'consumer ÷ its SQL from postgres.js (prepared)', at: (r) => r.consumer?.consumerToSql?.prepared },
]

interface Results {
  writePath?: { apiToRaw?: number }
  consumer?: { consumerToRaw?: number; consumerToSql?: { prepared?: number } }
}

/** Compares every watched ratio present in both; a published ratio missing is an error, not a pass. */
export function guardRatios(measured: Results, published: Results, floor = 0.5): GuardedRatio[] {
  const rows: GuardedRatio[] = []
  for (const { name, at } of watched) {
    const now = at(measured)
    if (now === undefined) continue
    const then = at(published)
    if (then === undefined || !(then > 0))
      throw new Error(`the published results have no ${name} to guard against; run npm run bench first`)
    // Judged on the exact share; the rounded one is for the table (0.4953 must not pass as 0.5).
    const share = Math.round((now / then) * 100) / 100
    rows.push({ name, measured: now, published: then, share, ok: now / then >= floor })
  }
  if (rows.length === 0) throw new Error('the guarded run measured none of the watched ratios')
  return rows
}

/** The guard's table, printed on every run, pass or fail. */
export function guardTable(rows: GuardedRatio[], floor = 0.5): string {
  const lines = rows.map(
    (r) =>
      `| ${r.name} | ${r.measured} | ${r.published} | ${r.share} | ${r.ok ? 'ok' : `COLLAPSED (below ${floor})`} |`,
  )
  return [
    '| ratio | this run | published | this ÷ published | verdict |',
    '|---|---|---|---|---|',
    ...lines,
  ].join('\n')
}
