import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../stack/lib/config.ts'
import { isPromise, normalise, sentencesOf } from './markdown-sentences.ts'
import {
  hasTestNamed,
  missingTests,
  type PromiseCheck,
  parseIndex,
  staleEntries,
  testNamesOf,
  uncoveredPromises,
} from './promise-index.ts'

const index = 'docs/promises.md'
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8')

/** The pages whose sentences promise: the front door and every docs page but the index itself. */
const pages = [
  'README.md',
  ...readdirSync(join(repoRoot, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.md'))
    .map((path) => join('docs', path))
    .filter((path) => path !== index)
    .sort(),
]

const parsed = parseIndex(read(index))
const repository: PromiseCheck = {
  sentences: pages.flatMap((page) => sentencesOf(read(page), page)),
  entries: parsed.entries,
  readTest: (path) => (existsSync(join(repoRoot, path)) ? read(path) : undefined),
}

describe('docs/promises.md: every promise in the docs names the test that keeps it', () => {
  it('reads every row of the index', () => {
    expect(parsed.problems).toEqual([])
    expect(parsed.entries.length).toBeGreaterThan(0)
  })

  it('has an entry for every sentence that says never, always, nothing, only, at most or within', () => {
    expect(
      uncoveredPromises(repository),
      `promise sentences with no entry in ${index}: add one naming the test that would fail, or reword`,
    ).toEqual([])
  })

  it('quotes only sentences the docs still hold, each quote picking out one', () => {
    expect(staleEntries(repository), `entries of ${index} whose sentence is gone or ambiguous`).toEqual([])
  })

  it('names only tests that exist', () => {
    expect(missingTests(repository), `entries of ${index} naming a test that is not there`).toEqual([])
  })
})

describe('the sentence reader', () => {
  const page = [
    '# A title that never promises',
    '',
    'One sentence, e.g. with `lib/events.ts. Only code` in it. Another',
    'on two lines (it ends here). *Emphasis.* Then `code` starts one.',
    '',
    '```sh',
    'npm test   # never read: a code block',
    '```',
    '<!-- never read: a comment -->',
    '- An item that is never',
    '  dead-lettered. Not read-only here.',
    '- Mode',
    '  0600) and one more. See [a page](docs/x.md).',
    '',
    '| head | only head |',
    '| --- | --- |',
    '| `only` in code | at most one. Two |',
  ].join('\n')
  const sentences = sentencesOf(page, 'p.md')

  it('splits at a stop followed by space, but not inside code, links or after e.g.', () => {
    expect(sentences.map((s) => `${s.line}: ${s.text}`)).toEqual([
      '1: A title that never promises',
      '3: One sentence, e.g. with `lib/events.ts. Only code` in it.',
      '3: Another on two lines (it ends here).',
      '4: *Emphasis.*',
      '4: Then `code` starts one.',
      '10: An item that is never dead-lettered.',
      '11: Not read-only here.',
      '12: Mode 0600) and one more.',
      '13: See [a page](docs/x.md).',
      '15: head',
      '15: only head',
      '17: `only` in code',
      '17: at most one.',
      '17: Two',
    ])
  })

  it('marks a promise by its words in prose: not in code, not in a hyphenated word', () => {
    expect(sentences.filter(isPromise).map((s) => s.text)).toEqual([
      'A title that never promises',
      'An item that is never dead-lettered.',
      'only head',
      'at most one.',
    ])
  })

  it('compares without emphasis, code marks, links, case or extra space', () => {
    expect(
      normalise('A **retry** is `safe`  within\n_24 hours_, see [the page](x.md) for CONSUMER_BATCH_SIZE'),
    ).toBe('a retry is safe within 24 hours, see the page for consumer_batch_size')
  })
})

describe('the test-name finder', () => {
  const source = [
    "describe('the consumer', () => {",
    '  it("never dead-letters a good event", async () => {})',
    "  it.each<[string, number]>([['a', 1], ['b', (2)]])('refuses %s (case %i)', () => {})",
    '  test.concurrent(`applies each of ${count} events once`, () => {})',
    "  it('escapes \\'quotes\\'', () => {})",
    "  expect(/x/.test('not a test name')).toBe(false)",
    '})',
  ].join('\n')

  it('finds it, test and describe names, with modifiers and .each tables', () => {
    expect(testNamesOf(source)).toEqual([
      { name: 'the consumer', prefix: false },
      { name: 'never dead-letters a good event', prefix: false },
      { name: 'refuses %s (case %i)', prefix: false },
      { name: 'applies each of ', prefix: true },
      { name: "escapes 'quotes'", prefix: false },
    ])
  })

  it('finds no name in a comment or a string, nor of a test that is skipped or a todo', () => {
    const other = [
      "// it('in a line comment', () => {})",
      "/* describe('in a block comment', () => {}) */",
      'const text = "it(\'in a string\', () => {})"',
      "it.skip('skipped', () => {})",
      "it.todo('to do')",
      "describe.skip('skipped block', () => {})",
      "it.skipIf(ci)('run unless CI', () => {})",
    ].join('\n')
    expect(testNamesOf(other)).toEqual([{ name: 'run unless CI', prefix: false }])
  })

  it('matches a whole name, or the start of a template up to its first ${', () => {
    expect(hasTestNamed(source, 'never dead-letters a good event')).toBe(true)
    expect(hasTestNamed(source, 'never dead-letters')).toBe(false)
    expect(hasTestNamed(source, 'applies each of')).toBe(true)
    expect(hasTestNamed(source, 'applies each of 5 events once')).toBe(true)
    expect(hasTestNamed(source, 'not a test name')).toBe(false)
  })
})

describe('the index check', () => {
  const docs = sentencesOf(
    [
      'The consumer never loses an event. It retries at most six times.',
      'A page only for browsers. Only a word here. Only a word here, twice.',
      'Never twice. Never twice, it said. Plain words here.',
    ].join('\n'),
    'docs/x.md',
  )
  const { entries, problems } = parseIndex(
    [
      '# Promises',
      '',
      '| promise | test |',
      '| --- | --- |',
      '| never loses an event | `a.test.ts` › the consumer › never loses one<br>`b.test.ts` › gone |',
      '| retries at most **six** times | `a.test.ts` › the consumer › retries six times |',
      '| a sentence since removed | `c.test.ts` › anything |',
      '| a word here | `a.test.ts` › the consumer |',
      '| never twice | `a.test.ts` › the consumer |',
      '| no test here | not a reference |',
      '',
      '## Not promises',
      '',
      '| sentence | why |',
      '| --- | --- |',
      '| only for browsers | says who needs it |',
      '| The consumer never | a promise above, so listed twice on purpose |',
      '| Plain words here | reworded since: no promise word left |',
    ].join('\n'),
  )
  const check: PromiseCheck = {
    sentences: docs,
    entries,
    readTest: (path) =>
      path === 'a.test.ts'
        ? "describe('the consumer', () => { it('never loses one', () => {}) })"
        : path === 'c.test.ts'
          ? "it('anything', () => {})"
          : undefined,
  }

  it('reads the tables: several tests a row, nested names, the "Not promises" section', () => {
    expect(problems).toEqual(['docs/promises.md:10: "not a reference" is not `path` › test name'])
    expect(entries[0]).toEqual({
      line: 5,
      quote: 'never loses an event',
      tests: [
        { path: 'a.test.ts', names: ['the consumer', 'never loses one'] },
        { path: 'b.test.ts', names: ['gone'] },
      ],
    })
    expect(entries.filter((entry) => entry.why !== undefined).map((entry) => entry.quote)).toEqual([
      'only for browsers',
      'The consumer never',
      'Plain words here',
    ])
  })

  it('fails on a promise sentence that neither an entry nor a "Not promises" row quotes', () => {
    // "never twice" is the whole of one sentence: it covers that one, not a longer one holding it.
    expect(uncoveredPromises(check)).toEqual(['docs/x.md:3: Never twice, it said.'])
    expect(uncoveredPromises({ ...check, entries: [] })).toEqual([
      'docs/x.md:1: The consumer never loses an event.',
      'docs/x.md:1: It retries at most six times.',
      'docs/x.md:2: A page only for browsers.',
      'docs/x.md:2: Only a word here.',
      'docs/x.md:2: Only a word here, twice.',
      'docs/x.md:3: Never twice.',
      'docs/x.md:3: Never twice, it said.',
    ])
  })

  it('fails on a quote that finds no sentence (no promise, in "Not promises"), or two unless one whole', () => {
    expect(staleEntries(check)).toEqual([
      'docs/promises.md:7: "a sentence since removed" is in no sentence of the docs',
      'docs/promises.md:8: "a word here" is in 2 different sentences (docs/x.md:2, docs/x.md:2): quote more of the one meant',
      'docs/promises.md:10: "no test here" is in no sentence of the docs',
      'docs/promises.md:18: "Plain words here" is in no promise sentence of the docs',
    ])
  })

  it('fails on a test file that is missing, or a name it does not hold', () => {
    expect(missingTests(check)).toEqual([
      'docs/promises.md:5: b.test.ts: no such file',
      'docs/promises.md:6: a.test.ts has no it/test/describe named "retries six times"',
      'docs/promises.md:10: "no test here" names no test',
    ])
  })
})
