import type { DoctorCheck, DoctorDeps, DoctorTargets } from './check.ts'
import { connectorCheck } from './connector.ts'
import { type Finding, finding } from './finding.ts'
import { inboxCheck } from './inbox.ts'
import { kafkaCheck } from './kafka.ts'
import { postgresCheck } from './postgres.ts'
import { unownedSlotsCheck } from './unowned-slots.ts'

/**
 * The toolkit's checks, in report order: Postgres, Connect, Kafka and the consumers, their inboxes. A service
 * adds its own after them (how fresh its read model is, say): `[...doctorChecks, ...mine]`.
 */
export const doctorChecks: readonly DoctorCheck[] = [
  postgresCheck,
  connectorCheck,
  unownedSlotsCheck,
  kafkaCheck,
  inboxCheck,
]

/** Never lets one broken component hide the others: a check that throws becomes a failure. */
async function safely<T extends DoctorTargets>(
  check: DoctorCheck<T>,
  deps: DoctorDeps,
  t: T,
): Promise<Finding[]> {
  try {
    return await check.run(deps, t)
  } catch (error) {
    return [
      finding(
        check.name,
        'fail',
        `could not check: ${(error as Error).message}`,
        t.reachHint ? `${check.hintWhenUnreachable} (${t.reachHint})` : check.hintWhenUnreachable,
      ),
    ]
  }
}

/**
 * The whole pipeline in one report, each check after the other (they share the caller's clients).
 * `ok` is false when any finding fails; a warning leaves it true.
 */
export async function runDoctor<T extends DoctorTargets>(
  deps: DoctorDeps,
  targets: T,
  checks: readonly DoctorCheck<T>[] = doctorChecks,
): Promise<{ ok: boolean; findings: Finding[] }> {
  const findings: Finding[] = []
  for (const check of checks) findings.push(...(await safely(check, deps, targets)))
  return { ok: findings.every((f) => f.severity !== 'fail'), findings }
}
