import type { DoctorCheck, DoctorDeps, DoctorTargets } from './check.ts'
import { connectorCheck } from './connector.ts'
import { type Finding, finding } from './finding.ts'
import { freshnessCheck } from './freshness.ts'
import { kafkaCheck } from './kafka.ts'
import { postgresCheck } from './postgres.ts'
import { sagaCheck } from './saga.ts'
import { unownedSlotsCheck } from './unowned-slots.ts'

/** Every check, in report order: Postgres, Connect, Kafka and the consumer, then end to end. */
export const doctorChecks: readonly DoctorCheck[] = [
  postgresCheck,
  connectorCheck,
  unownedSlotsCheck,
  kafkaCheck,
  freshnessCheck,
  sagaCheck,
]

/** Never lets one broken component hide the others: a check that throws becomes a failure. */
async function safely(check: DoctorCheck, deps: DoctorDeps, targets: DoctorTargets): Promise<Finding[]> {
  try {
    return await check.run(deps, targets)
  } catch (error) {
    return [
      finding(check.name, 'fail', `could not check: ${(error as Error).message}`, check.hintWhenUnreachable),
    ]
  }
}

/**
 * The whole pipeline in one report, each check after the other (they share the caller's clients).
 * `ok` is false when any finding fails; a warning leaves it true.
 */
export async function runDoctor(
  deps: DoctorDeps,
  targets: DoctorTargets,
  checks: readonly DoctorCheck[] = doctorChecks,
): Promise<{ ok: boolean; findings: Finding[] }> {
  const findings: Finding[] = []
  for (const check of checks) findings.push(...(await safely(check, deps, targets)))
  return { ok: findings.every((f) => f.severity !== 'fail'), findings }
}
