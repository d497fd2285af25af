import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { newestPgBin, parseJavaMajor } from './prereqs.ts'

describe('parseJavaMajor', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_392"', 8],
    ['bash: java: command not found', undefined],
  ])('%s → %s', (output, major) => {
    expect(parseJavaMajor(output)).toBe(major)
  })
})

describe('newestPgBin', () => {
  it('picks the newest major that has a server, skipping client-only installs', () => {
    const root = mkdtempSync(join(tmpdir(), 'pgroot-'))
    const server = (major: string) => {
      mkdirSync(join(root, major, 'bin'), { recursive: true })
      writeFileSync(join(root, major, 'bin', 'initdb'), '')
      writeFileSync(join(root, major, 'bin', 'postgres'), '')
    }
    server('9')
    server('15')
    mkdirSync(join(root, '17', 'bin'), { recursive: true }) // psql only
    expect(newestPgBin(root)).toBe(join(root, '15', 'bin'))
    expect(newestPgBin(join(root, 'absent'))).toBeUndefined()
  })
})
