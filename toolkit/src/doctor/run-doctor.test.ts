import { describe, expect, it } from 'vitest'
import type { DoctorCheck, DoctorDeps, DoctorTargets } from './check.ts'
import { finding } from './finding.ts'
import { runDoctor } from './run-doctor.ts'

const deps = {} as DoctorDeps
const targets = {} as DoctorTargets
const check = (name: string, run: DoctorCheck['run']): DoctorCheck => ({
  name,
  hintWhenUnreachable: `is ${name} up?`,
  run,
})

describe('runDoctor', () => {
  it('keeps the order of the checks, and of the findings within each', async () => {
    const report = await runDoctor(deps, targets, [
      check('a', async () => [finding('a.one', 'ok', '1'), finding('a.two', 'warn', '2', 'look')]),
      check('b', async () => [finding('b.one', 'ok', '3')]),
    ])
    expect(report.findings.map((f) => f.check)).toEqual(['a.one', 'a.two', 'b.one'])
    expect(report.ok).toBe(true)
  })

  it('turns a check that throws into one failure with its hint, and still runs the checks after it', async () => {
    const report = await runDoctor(deps, targets, [
      check('postgres', async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:55432')
      }),
      check('kafka', async () => [finding('kafka.topics', 'ok', 'x')]),
    ])
    expect(report.findings).toEqual([
      {
        check: 'postgres',
        severity: 'fail',
        detail: 'could not check: connect ECONNREFUSED 127.0.0.1:55432',
        hint: 'is postgres up?',
      },
      { check: 'kafka.topics', severity: 'ok', detail: 'x' },
    ])
    expect(report.ok).toBe(false)
  })
})
