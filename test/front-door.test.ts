import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../stack/lib/config.ts'

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8')
const readme = read('README.md')
const index = read('docs/README.md')
const pages = readdirSync(join(repoRoot, 'docs'))
  .filter((name) => name.endsWith('.md') && name !== 'README.md')
  .sort()

/** The README's first `sh` block: the commands a newcomer runs. */
const commands = (/```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '')
  .split('\n')
  .map((line) => line.replace(/#.*$/, '').trim())
  .filter(Boolean)

describe('the README, the front door', () => {
  it('stays under 250 lines; the rest lives in docs/', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(250)
  })

  it('gives the two commands, and CI runs the test command it gives', () => {
    expect(commands).toEqual(['npm ci && npm start', 'npm test'])
    const ci = read('.ci/run')
    expect(ci).toMatch(/^npm test\b/m)
  })

  it.each(pages)('links docs/%s from its Documentation list, and the index links it too', (page) => {
    const list = readme.slice(readme.indexOf('## Documentation'))
    expect(list).toMatch(new RegExp(`^- \\[[^\\]]+\\]\\(docs/${page.replace('.', '\\.')}\\): \\S`, 'm'))
    expect(index).toContain(`](${page})`)
  })
})

describe('each docs page', () => {
  it.each([...pages, 'README.md'])('docs/%s starts with a sentence saying what it is for', (page) => {
    const lines = read(join('docs', page)).split('\n')
    expect(lines[0]).toMatch(/^# \S/)
    const opening = lines.slice(1).join('\n').trim().split('\n\n')[0] ?? ''
    expect(opening).toMatch(/^This page\b[\s\S]*\.$/)
  })
})
