import { describe, expect, it } from 'vitest'
import { doctorRunOf } from './beside.ts'

const report = (severities: string[]) =>
  JSON.stringify({ findings: severities.map((severity, i) => ({ check: `check.${i}`, severity })) })

describe("the soak's reading of a doctor run", () => {
  it('passes a run that exited 0 with every check ok', () => {
    expect(doctorRunOf(report(['ok', 'ok']), 0, 60)).toEqual({ s: 60, ok: true, notOk: [] })
  })

  it('fails a run that exited non-zero, naming the checks not ok', () => {
    expect(doctorRunOf(report(['ok', 'fail']), 1, 60)).toEqual({ s: 60, ok: false, notOk: ['check.1: fail'] })
  })

  it('fails a run that exited 0 but printed no report it could read: nothing was checked', () => {
    for (const stdout of ['', 'a stray line\n{"findings": []}', '{"findings": []}', '{"checks": 3}'])
      expect(doctorRunOf(stdout, 0, 60), stdout).toEqual({ s: 60, ok: false, notOk: ['doctor output: fail'] })
  })
})
