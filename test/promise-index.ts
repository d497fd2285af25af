import ts from 'typescript'
import { isPromise, normalise, type Sentence } from './markdown-sentences.ts'

/** A test as the index names it: its file from the repository root, and its it/describe names. */
export interface TestRef {
  path: string
  /** Outermost first: each must be the name of an it, test or describe in the file. */
  names: string[]
}

/** One row of docs/promises.md: a quote from a promise sentence, and what keeps it true. */
export interface IndexEntry {
  line: number
  quote: string
  tests: TestRef[]
  /** Set in the "Not promises" section: the sentence is exempt, and this says why. */
  why?: string
}

const testRef = /^`([^`]+)`\s*›\s*(.+)$/

/**
 * The entries of docs/promises.md: every table whose first column is `promise` (its second,
 * `test`, holds one or more `` `path` › name `` separated by `<br>`), and the table of the
 * "Not promises" section (`sentence`, `why`).
 */
export function parseIndex(markdown: string): { entries: IndexEntry[]; problems: string[] } {
  const entries: IndexEntry[] = []
  const problems: string[] = []
  let section = ''
  let columns: string[] = []
  for (const [i, raw] of markdown.split('\n').entries()) {
    const line = i + 1
    if (!raw.trimStart().startsWith('|')) {
      columns = []
      const heading = /^#{1,6}\s+(.*)$/.exec(raw)
      if (heading) section = heading[1] ?? ''
      continue
    }
    const cells = rowCells(raw)
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) continue
    if (columns.length === 0) {
      columns = cells.map((cell) => cell.toLowerCase())
      continue
    }
    const [quote = '', second = ''] = cells.map(unescapePipes)
    if (columns[0] === 'sentence' && /^not promises/i.test(section)) {
      entries.push({ line, quote, tests: [], why: second })
    } else if (columns[0] === 'promise') {
      const tests: TestRef[] = []
      for (const item of second.split(/<br\s*\/?>/)) {
        const m = testRef.exec(item.trim())
        if (m) tests.push({ path: m[1] ?? '', names: (m[2] ?? '').split(' › ').map((name) => name.trim()) })
        else problems.push(`docs/promises.md:${line}: "${item.trim()}" is not \`path\` › test name`)
      }
      entries.push({ line, quote, tests })
    }
  }
  return { entries, problems }
}

function unescapePipes(text: string): string {
  return text.replace(/\\\|/g, '|').trim()
}

function rowCells(row: string): string[] {
  const cells: string[] = []
  let cell = ''
  let code = false
  for (let i = 0; i < row.length; i++) {
    const c = row[i]
    if (c === '`') code = !code
    if (c === '|' && !code && row[i - 1] !== '\\') {
      cells.push(cell.trim())
      cell = ''
    } else cell += c
  }
  cells.push(cell.trim())
  return cells.slice(1, row.trimEnd().endsWith('|') ? -1 : undefined)
}

/** The callee chain of a call, outermost name first: `it.each(t)(…)` → ['it', 'each']. */
function calleeChain(callee: ts.Expression): string[] | undefined {
  if (ts.isIdentifier(callee)) return [callee.text]
  if (ts.isPropertyAccessExpression(callee)) {
    const base = calleeChain(callee.expression)
    return base && [...base, callee.name.text]
  }
  // `it.each(table)(…)`, `describe.skipIf(x)(…)`: the call that returns the test function.
  if (ts.isCallExpression(callee)) return calleeChain(callee.expression)
  return undefined
}

/**
 * The names a test file gives its tests that run: the first argument of every `it(`, `test(` and
 * `describe(` call (with modifiers: `it.each<[string, number]>(table)(`, `describe.skipIf(x)(`,
 * `test.concurrent(`), read with TypeScript's parser, so a name in a comment or a string is none.
 * `.skip` and `.todo` keep nothing: a test that does not run keeps no promise. A template literal
 * is kept up to its first `${`, marked as a prefix.
 */
export function testNamesOf(source: string): { name: string; prefix: boolean }[] {
  const names: { name: string; prefix: boolean }[] = []
  const file = ts.createSourceFile('test.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const chain = calleeChain(node.expression)
      const first = node.arguments[0]
      if (
        chain &&
        ['it', 'test', 'describe'].includes(chain[0] ?? '') &&
        !chain.some((part) => part === 'skip' || part === 'todo') &&
        first
      ) {
        if (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))
          names.push({ name: first.text, prefix: false })
        else if (ts.isTemplateExpression(first)) names.push({ name: first.head.text, prefix: true })
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return names
}

/** Whether the file names a test `name`: its whole name, or a template's fixed start. */
export function hasTestNamed(source: string, name: string): boolean {
  return testNamesOf(source).some((test) =>
    test.prefix ? test.name.trim() !== '' && name.startsWith(test.name.trimEnd()) : test.name === name,
  )
}

/** What the check needs from the repository: the sentences, and each test file's text. */
export interface PromiseCheck {
  sentences: Sentence[]
  entries: IndexEntry[]
  /** A test file's text, or undefined when there is no such file. */
  readTest: (path: string) => string | undefined
}

const where = (s: Sentence) => `${s.file}:${s.line}`
const places = (found: Sentence[]) =>
  found.length > 4 ? `${found.slice(0, 4).map(where).join(', ')}, …` : found.map(where).join(', ')

/** Each sentence's text as compared, worked out once: every entry is looked for in every sentence. */
const normalised = (sentences: Sentence[]) => sentences.map((s) => ({ s, text: normalise(s.text) }))

/** Every promise sentence that no entry quotes, as `file:line: sentence`. */
export function uncoveredPromises({ sentences, entries }: PromiseCheck): string[] {
  const quotes = entries.map((entry) => normalise(entry.quote))
  const all = normalised(sentences)
  const whole = (text: string) => text.replace(/[.!?:;,]+$/, '')
  const wholes = new Set(all.map(({ text }) => whole(text)))
  // A quote that is a whole sentence (a heading, say) stands for that sentence alone: else any
  // later sentence that repeats it, and promises more, would pass as covered.
  const covers = (quote: string, text: string) =>
    wholes.has(quote) ? whole(text) === quote : text.includes(quote)
  return all
    .filter(({ s, text }) => isPromise(s) && !quotes.some((quote) => covers(quote, text)))
    .map(({ s }) => `${where(s)}: ${s.text}`)
}

/**
 * Every entry whose quote finds no sentence (an entry of "Not promises": no promise sentence), or
 * finds two sentences that differ (the quote must pick one out; the same sentence in two pages
 * is one promise, and a quote that is a whole sentence picks that sentence).
 */
export function staleEntries({ sentences, entries }: PromiseCheck): string[] {
  const stale: string[] = []
  const all = normalised(sentences)
  for (const entry of entries) {
    const quote = normalise(entry.quote)
    const found = all.filter(
      ({ s, text }) => quote !== '' && (entry.why === undefined || isPromise(s)) && text.includes(quote),
    )
    const distinct = new Set(found.map(({ text }) => text))
    if (found.length === 0) {
      const what = entry.why === undefined ? 'sentence' : 'promise sentence'
      stale.push(`docs/promises.md:${entry.line}: "${entry.quote}" is in no ${what} of the docs`)
    } else if (distinct.size > 1 && !found.some(({ text }) => text.replace(/[.!?:;,]+$/, '') === quote)) {
      stale.push(
        `docs/promises.md:${entry.line}: "${entry.quote}" is in ${distinct.size} different sentences (${places(found.map(({ s }) => s))}): quote more of the one meant`,
      )
    }
  }
  return stale
}

/** Every test an entry names that does not exist: no such file, or no it/describe of that name. */
export function missingTests({ entries, readTest }: PromiseCheck): string[] {
  const missing: string[] = []
  for (const entry of entries) {
    if (entry.why === undefined && entry.tests.length === 0)
      missing.push(`docs/promises.md:${entry.line}: "${entry.quote}" names no test`)
    for (const test of entry.tests) {
      const source = readTest(test.path)
      if (source === undefined) {
        missing.push(`docs/promises.md:${entry.line}: ${test.path}: no such file`)
        continue
      }
      for (const name of test.names)
        if (!hasTestNamed(source, name))
          missing.push(`docs/promises.md:${entry.line}: ${test.path} has no it/test/describe named "${name}"`)
    }
  }
  return missing
}
