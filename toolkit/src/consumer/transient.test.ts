import { describe, expect, it } from 'vitest'
import { dnsError } from '../../test/injected-faults.ts'
import { isTransient } from './transient.ts'

const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code })

describe('isTransient', () => {
  it.each(['40001', '40P01', '57P01', '57P03', '08006', 'ECONNREFUSED', 'CONNECTION_CLOSED'])(
    'retries %s',
    (code) => {
      expect(isTransient(pgError(code))).toBe(true)
    },
  )

  it.each(['25006', '53100', '53200', '57P05', '58030'])(
    'retries %s: the server is read-only, full or failing, whatever the event',
    (code) => {
      expect(isTransient(pgError(code))).toBe(true)
    },
  )

  it.each(['28P01', '28000', '3D000'])(
    'retries %s: a login refused or a database missing says nothing about the event',
    (code) => {
      expect(isTransient(pgError(code))).toBe(true)
    },
  )

  it.each(['42P01', '42703', '42883', '42704', '3F000', '42501'])(
    'retries %s: a table, column, function, type or schema missing, or a grant missing, is the deploy (code before its migration), never the event',
    (code) => {
      expect(isTransient(pgError(code))).toBe(true)
    },
  )

  it('retries any failed system call: a database host that does not resolve or cannot be reached', () => {
    expect(isTransient(dnsError())).toBe(true)
    const unreachable = Object.assign(new Error('connect EHOSTUNREACH 10.0.0.5:5432'), {
      code: 'EHOSTUNREACH',
      syscall: 'connect',
    })
    expect(isTransient(new Error('Failed query: insert …', { cause: unreachable }))).toBe(true)
  })

  it('looks through the cause chain, as Drizzle wraps the driver error', () => {
    expect(isTransient(new Error('Failed query: insert …', { cause: pgError('40001') }))).toBe(true)
  })

  it.each(['23505', '23502', '23514', '22P02', '22001', '22003'])(
    'does not retry %s: bad data (class 22) or a broken constraint (class 23) is the event',
    (code) => {
      expect(isTransient(pgError(code))).toBe(false)
    },
  )

  it('does not retry errors without a code', () => {
    expect(isTransient(new Error('boom'))).toBe(false)
    expect(isTransient('boom')).toBe(false)
  })
})
