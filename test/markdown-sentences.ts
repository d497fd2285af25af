import { fencedLines } from './markdown-links.ts'

/** A sentence of a Markdown page: where it starts (1-based line) and its text as written. */
export interface Sentence {
  file: string
  line: number
  text: string
  /** The text with code spans and link targets blanked: what the promise words are looked for in. */
  prose: string
}

/**
 * The words that make a sentence a promise: a reader may hold the project to it. A word joined by
 * a hyphen (`read-only`, `outbox-only`) names a kind of thing and promises nothing by itself.
 */
export const promiseWords = /(?<![\w-])(never|always|nothing|only|at most|within)(?![\w-])/i

const listItem = /^\s*(?:[-*+]|\d{1,9}[.)])\s+/
/** What may start a list inside a paragraph: a bullet, or 1 (so `0600) and` is not an item). */
const listInParagraph = /^\s*(?:[-*+]|1[.)])\s+/
const tableRow = /^\s*\|/
const heading = /^ {0,3}#{1,6}\s/
/** Words whose period ends no sentence. */
const abbreviations = new Set(['e.g', 'i.e', 'etc', 'vs', 'cf', 'approx'])

interface Block {
  line: number
  text: string
  /** For a list item: how far its marker is indented. */
  indent?: number
}

const indentOf = (line: string) => line.length - line.trimStart().length

/**
 * Whether a line starts a list item: anywhere a bullet or `1.` may (CommonMark lets no other
 * number interrupt a paragraph, so a wrapped `0600) and` goes on), and any number at the
 * indentation of the item before it.
 */
function startsItem(line: string, current: Block | undefined): boolean {
  if (!listItem.test(line)) return false
  if (current === undefined || listInParagraph.test(line)) return true
  return current.indent !== undefined && indentOf(line) <= current.indent
}

/** Fenced code blocks and HTML comments blanked (lines kept, so line numbers still hold). */
function withoutCodeBlocks(lines: string[]): string[] {
  const fenced = fencedLines(lines)
  let comment = false
  return lines.map((line, i) => {
    if (fenced[i]) return ''
    if (comment || line.trimStart().startsWith('<!--')) {
      comment = !line.includes('-->')
      return ''
    }
    return line
  })
}

/** Table cells split on the pipes outside code spans; `\|` stays in its cell. */
function cellsOf(row: string): string[] {
  const masked = maskCode(row)
  const cells: string[] = []
  let start = 0
  for (let i = 0; i < row.length; i++) {
    if (masked[i] === '|' && row[i - 1] !== '\\') {
      cells.push(row.slice(start, i))
      start = i + 1
    }
  }
  cells.push(row.slice(start))
  return cells.slice(1, row.trimEnd().endsWith('|') ? -1 : undefined).map((cell) => cell.trim())
}

/**
 * The page cut into the blocks sentences live in: paragraphs, list items (with their continuation
 * lines), headings and table cells. Code blocks, comments and table separator rows are left out.
 */
export function blocksOf(markdown: string): Block[] {
  const lines = withoutCodeBlocks(markdown.split('\n'))
  const blocks: Block[] = []
  let current: Block | undefined
  const close = () => {
    if (current && current.text.trim() !== '') blocks.push(current)
    current = undefined
  }
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') {
      close()
    } else if (tableRow.test(line)) {
      close()
      if (/^\s*\|?[\s:|-]+\|?\s*$/.test(line) && line.includes('-')) continue
      for (const cell of cellsOf(line)) if (cell !== '') blocks.push({ line: i + 1, text: cell })
    } else if (heading.test(line)) {
      close()
      blocks.push({ line: i + 1, text: line.replace(/^\s*#+\s*/, '').replace(/\s+#+\s*$/, '') })
    } else if (startsItem(line, current)) {
      close()
      current = { line: i + 1, text: line.replace(listItem, ''), indent: indentOf(line) }
    } else if (current) {
      current.text += `\n${line.trim()}`
    } else {
      current = { line: i + 1, text: line.trim() }
    }
  }
  close()
  return blocks
}

/**
 * The text with what is not prose blanked to `x`, length kept: code spans (backticks kept, so a
 * sentence may still start with one), link and image targets, and bare URLs. A period in
 * `lib/events.ts` or a URL then ends no sentence, and `only` inside code is no promise.
 */
export function maskCode(text: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, 'x')
  return text
    .replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_m, ticks: string, body: string) => ticks + blank(body) + ticks)
    .replace(/\]\(([^)]*)\)/g, (_m, target: string) => `](${blank(target)})`)
    .replace(/\bhttps?:\/\/\S+/g, blank)
}

/** Where a sentence ends: a stop, then closing marks, then space (an abbreviation's stop ends none). */
function sentenceEnds(masked: string): number[] {
  const ends: number[] = []
  for (const m of masked.matchAll(/[.!?][)"'*_]*(?=\s+\S)/g)) {
    const word = /(\S+)$/.exec(masked.slice(0, m.index))?.[1]?.replace(/^[(*_"']+/, '')
    if (word && abbreviations.has(word.toLowerCase())) continue
    ends.push(m.index + m[0].length)
  }
  return ends
}

/** The sentences of one Markdown page, outside code, each with the line it starts on. */
export function sentencesOf(markdown: string, file: string): Sentence[] {
  const sentences: Sentence[] = []
  for (const block of blocksOf(markdown)) {
    const masked = maskCode(block.text)
    let start = 0
    for (const end of [...sentenceEnds(masked), block.text.length]) {
      const raw = block.text.slice(start, end)
      const lead = raw.length - raw.trimStart().length
      const text = raw.trim()
      if (text !== '') {
        const at = start + lead
        sentences.push({
          file,
          line: block.line + (block.text.slice(0, at).match(/\n/g)?.length ?? 0),
          text: text.replace(/\s+/g, ' '),
          prose: masked.slice(at, at + raw.trim().length).replace(/\s+/g, ' '),
        })
      }
      start = end
    }
  }
  return sentences
}

/** Whether a sentence uses one of the promise words in its prose (code does not count). */
export function isPromise(sentence: Sentence): boolean {
  return promiseWords.test(sentence.prose)
}

/**
 * A sentence or a quote as compared: links reduced to their text, code and emphasis marks gone,
 * `\|` unescaped, white space collapsed, lower case.
 */
export function normalise(text: string): string {
  return text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .replace(/(?<!\w)_+(?=\S)|(?<=\S)_+(?!\w)/g, '')
    .replace(/\\\|/g, '|')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase()
}
