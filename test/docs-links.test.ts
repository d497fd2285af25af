import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../stack/lib/config.ts'
import { anchorsOf, brokenLinks, type Files, linksOf, slugOf } from './markdown-links.ts'

/** The pages a reader follows links through: the front door, every docs page, the package's own. */
const pages = [
  'README.md',
  ...readdirSync(join(repoRoot, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.md'))
    .map((path) => join('docs', path))
    .sort(),
  'toolkit/README.md',
  'toolkit/CHANGELOG.md',
]

describe('relative links in the documentation', () => {
  it.each(pages)('%s: every relative link reaches a file, every #anchor a heading', (page) => {
    expect(brokenLinks(join(repoRoot, page), repoRoot)).toEqual([])
  })
})

/** An in-memory tree, so the checker's own cases need no files on disk. */
function tree(pagesByPath: Record<string, string>, dirs: string[] = []): Files {
  return {
    read: (path) => {
      const text = pagesByPath[path]
      if (text === undefined) throw new Error(`no such file ${path}`)
      return text
    },
    kind: (path) => (path in pagesByPath ? 'file' : dirs.includes(path) ? 'dir' : undefined),
  }
}

describe('the link checker', () => {
  it("makes GitHub's anchors: lower case, punctuation gone but - and _, spaces to -", () => {
    expect(slugOf('Nodes lost for good: failover on three Kafka nodes')).toBe(
      'nodes-lost-for-good-failover-on-three-kafka-nodes',
    )
    expect(slugOf('Exactly-once delivery (KIP-618)')).toBe('exactly-once-delivery-kip-618')
    expect(slugOf('`npm run doctor` and its_checks')).toBe('npm-run-doctor-and-its_checks')
    expect(slugOf('Use it in [your service](x.md) → now')).toBe('use-it-in-your-service--now')
  })

  it('numbers repeated headings -1, -2 and ignores # lines inside code fences', () => {
    expect([...anchorsOf('## How `npm start` stops\n')]).toEqual(['how-npm-start-stops'])
    const anchors = anchorsOf('# Tools\n## Tools\n```sh\n# Tools\n```\n### Tools ###\n<a id="here"></a>')
    expect([...anchors]).toEqual(['tools', 'tools-1', 'tools-2', 'here'])
  })

  it('finds links, images and definitions outside code, and none inside it', () => {
    const text = [
      'See [a](a.md), ![b](b.png "title") and [c](<c d.md#x>).',
      'Not `[e](e.md)`, nor ``[f](f.md)``.',
      '```md',
      '[g](g.md)',
      '```',
      '[h]: h.md',
    ].join('\n')
    expect(linksOf(text)).toEqual([
      { line: 1, target: 'a.md' },
      { line: 1, target: 'b.png' },
      { line: 1, target: 'c d.md#x' },
      { line: 6, target: 'h.md' },
    ])
  })

  it('reports a missing file, a missing anchor here or there, and leaves web links alone', () => {
    const files = tree(
      {
        '/r/README.md': [
          '# Top',
          '[ok](docs/a.md#part-two) [ok](#top) [ok](docs/) [web](https://example.com/nothing#x)',
          '[gone](docs/gone.md) [bad](docs/a.md#part-3) [bad](#bottom) [code](api/x.ts#top)',
        ].join('\n'),
        '/r/docs/a.md': '# A\n## Part two',
        '/r/api/x.ts': '',
      },
      ['/r/docs'],
    )
    expect(brokenLinks('/r/README.md', '/r', files)).toEqual([
      'README.md:3: docs/gone.md: no such file',
      'README.md:3: docs/a.md#part-3: no heading with the anchor #part-3',
      'README.md:3: #bottom: no heading with the anchor #bottom',
      'README.md:3: api/x.ts#top: #top points into a file that is not Markdown',
    ])
  })
})
