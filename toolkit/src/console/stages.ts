import type { Finding, Severity } from '../doctor/finding.ts'

/** The pipeline's path, in the order an event travels it. */
export const stageIds = ['api', 'postgres', 'slot', 'connector', 'topics', 'consumer', 'readModel'] as const
export type StageId = (typeof stageIds)[number]

export interface Stage {
  id: StageId
  title: string
  /** ok is green, warn amber, fail red. */
  severity: Severity
  /** One line per finding of the stage, the worst first. */
  details: string[]
  /** What to do, from the worst finding that says. */
  hint?: string
}

const titles: Record<StageId, string> = {
  api: 'API',
  postgres: 'Postgres: outbox and publication',
  slot: 'Replication slot',
  connector: 'Connector and task',
  topics: 'Topics and partitions',
  consumer: 'Consumer groups',
  readModel: 'Read model',
}

/**
 * Which stages each of the toolkit's findings speaks for. A check that could not run at all reports
 * under its own name (`postgres`, `kafka`, `connect.worker`…): it leaves every stage it covers
 * unknown, so it marks all of them.
 */
const toolkitStages: Record<string, readonly StageId[]> = {
  'postgres.wal_level': ['postgres'],
  'postgres.publication': ['postgres'],
  'postgres.slot': ['slot'],
  'postgres.unowned-slots': ['slot'],
  postgres: ['postgres', 'slot'],
  'connect.connector': ['connector'],
  'connect.worker': ['connector'],
  'kafka.topics': ['topics'],
  'consumer.group': ['consumer'],
  'consumer.dead-letters': ['consumer'],
  kafka: ['topics', 'consumer'],
  'consumer.inbox': ['consumer'],
  inbox: ['consumer'],
}

/**
 * A finding's stages: the service's own map first, then the toolkit's; another consumer group's
 * lag, dead letters or inbox (`<name>.group`, `<name>.inbox`) are consumers; any other check of the service's own speaks
 * for what its handlers wrote, the read model.
 */
function stagesFor(check: string, own: Readonly<Record<string, readonly StageId[]>>): readonly StageId[] {
  const named = own[check] ?? toolkitStages[check]
  if (named) return named
  return check.endsWith('.group') || check.endsWith('.dead-letters') || check.endsWith('.inbox')
    ? ['consumer']
    : ['readModel']
}

const rank: Record<Severity, number> = { ok: 0, warn: 1, fail: 2 }

/**
 * The diagram's stages from doctor's findings plus the two services' own health (the doctor does
 * not look at the API, and sees the consumer only through its group). A stage no finding speaks
 * for is red: the console could not tell, which an operator must not mistake for healthy.
 */
export function toStages(
  findings: readonly Finding[],
  services: { api: Finding; consumer: Finding },
  placed: Readonly<Record<string, readonly StageId[]>> = {},
): Stage[] {
  const byStage = new Map<StageId, Finding[]>(stageIds.map((id) => [id, []]))
  byStage.get('api')?.push(services.api)
  byStage.get('consumer')?.push(services.consumer)
  for (const f of findings) for (const id of stagesFor(f.check, placed)) byStage.get(id)?.push(f)
  return stageIds.map((id) => {
    const own = [...(byStage.get(id) ?? [])].sort((a, b) => rank[b.severity] - rank[a.severity])
    const worst = own[0]
    if (!worst && id === 'readModel' && !findings.some((f) => !toolkitStages[f.check] && !placed[f.check]))
      // Only a service's own checks speak for what its handlers wrote: none given is amber, not a failure.
      return {
        id,
        title: titles[id],
        severity: 'warn',
        details: ["no check of the service's own looks at what its handlers wrote"],
        hint: 'add checks of your own to the doctor (doctor.checks) to see it here',
      }
    if (!worst)
      return { id, title: titles[id], severity: 'fail', details: ['no check reported on this stage yet'] }
    const hint = own.find((f) => f.severity !== 'ok' && f.hint)?.hint
    return {
      id,
      title: titles[id],
      severity: worst.severity,
      details: own.map((f) => f.detail),
      ...(hint ? { hint } : {}),
    }
  })
}
