import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { packToolkit } from '../../scripts/toolkit-pack.ts'

describe('the packed toolkit (npm run toolkit:pack)', () => {
  it('ships the build with its declarations, the readme and the changelog, and no tests, bench or stack', async () => {
    const packed = await packToolkit()
    expect(packed.name).toBe('outbox-cdc')
    expect(packed.files).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing.js',
        'dist/cli/main.js',
        'README.md',
        'CHANGELOG.md',
      ]),
    )
    expect(
      packed.files.filter(
        (path) => /\.test\.|\/test\/|bench|stack|\.ts$/.test(path) && !path.endsWith('.d.ts'),
      ),
    ).toEqual([])
    // The changelog's latest section records the packed size this script prints; a figure more
    // than 15% off means it was not updated when the package grew or shrank.
    const changelog = readFileSync(new URL('../../toolkit/CHANGELOG.md', import.meta.url), 'utf8')
    const recorded = /Packed size \(`npm run toolkit:pack`\): ([\d.]+) kB/.exec(changelog)
    expect(recorded, 'CHANGELOG.md names no packed size').not.toBeNull()
    expect(Math.abs(Number(recorded?.[1]) * 1000 - packed.size) / packed.size).toBeLessThan(0.15)
  }, 120_000)
})
