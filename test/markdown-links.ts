import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

/** A link as written in a Markdown file: its line (1-based) and its target, unresolved. */
export interface MarkdownLink {
  line: number
  target: string
}

/** What the checker may read: the real files by default, a map of them in its own tests. */
export interface Files {
  read: (path: string) => string
  /** 'file', 'dir', or undefined when nothing is there. */
  kind: (path: string) => 'file' | 'dir' | undefined
}

export const realFiles: Files = {
  read: (path) => readFileSync(path, 'utf8'),
  kind: (path) => (existsSync(path) ? (statSync(path).isDirectory() ? 'dir' : 'file') : undefined),
}

const fence = /^ {0,3}(`{3,}|~{3,})/

/**
 * Which lines are fenced code, the fences included: a fence closes on a line of the same
 * character, at least as long, and nothing else. Shared by the link check and the promise check.
 */
export function fencedLines(lines: readonly string[]): boolean[] {
  let open: string | undefined
  return lines.map((line) => {
    const marker = fence.exec(line)?.[1]
    if (open === undefined) {
      if (marker) open = marker
      return marker !== undefined
    }
    if (marker && marker[0] === open[0] && marker.length >= open.length && line.trim() === marker)
      open = undefined
    return true
  })
}

/**
 * The text with every fenced code block and every inline code span blanked out (replaced by
 * spaces, newlines kept), so line numbers still hold and nothing quoted as code counts as a link
 * or a heading. Code spans pair within a paragraph only, as CommonMark pairs them.
 */
export function withoutCode(markdown: string): string {
  const fenced = fencedLines(markdown.split('\n'))
  const lines = markdown.split('\n').map((line, i) => (fenced[i] ? ' '.repeat(line.length) : line))
  return lines
    .join('\n')
    .split(/(\n[ \t]*\n)/)
    .map((block) => block.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (span) => span.replace(/[^\n]/g, ' ')))
    .join('')
}

/**
 * GitHub's anchor for a heading's text: lower case, inline markup reduced to its text, every
 * character that is not a letter, mark, digit, space, `-` or `_` removed, spaces turned to `-`.
 */
export function slugOf(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\-_ ]/gu, '')
    .replace(/ /g, '-')
}

/** Every anchor a page offers: its ATX headings' slugs (repeats get -1, -2, …) and HTML ids. */
export function anchorsOf(markdown: string): Set<string> {
  const original = markdown.split('\n')
  const anchors = new Set<string>()
  // A heading is found on the text with code blanked (a `#` in a code block is no heading), and
  // slugged from its own text: GitHub keeps a code span's words in the anchor.
  for (const [i, blanked] of withoutCode(markdown).split('\n').entries()) {
    const line = original[i] ?? ''
    const isHeading = /^ {0,3}#{1,6}(?:[ \t]|$)/.test(blanked)
    const heading = isHeading ? /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line) : null
    if (heading) {
      const base = slugOf((heading[1] ?? '').trim())
      let slug = base
      for (let n = 1; anchors.has(slug); n++) slug = `${base}-${n}`
      anchors.add(slug)
    }
    for (const html of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(html[1] ?? '')
  }
  return anchors
}

/** Every link target outside code: inline links and images, reference definitions, href/src. */
export function linksOf(markdown: string): MarkdownLink[] {
  const found: MarkdownLink[] = []
  for (const [i, line] of withoutCode(markdown).split('\n').entries()) {
    const add = (target: string | undefined) => {
      if (target) found.push({ line: i + 1, target: target.replace(/^<(.*)>$/, '$1') })
    }
    for (const m of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) add(m[1])
    const definition = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(line)
    if (definition) add(definition[1])
    for (const m of line.matchAll(/\b(?:href|src)="([^"]*)"/g)) add(m[1])
  }
  return found
}

/**
 * The relative links of `file` that lead nowhere: a path that does not exist, or an `#anchor` that
 * is no heading of the Markdown file it names (or of `file` itself). Absolute URLs (http, https,
 * mailto, any scheme) are not checked. A path starting with `/` is taken from `root`.
 */
export function brokenLinks(file: string, root: string, files: Files = realFiles): string[] {
  const broken: string[] = []
  const name = relative(root, file)
  for (const { line, target } of linksOf(files.read(file))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue
    const hashAt = target.indexOf('#')
    const path = decodeURIComponent((hashAt < 0 ? target : target.slice(0, hashAt)).replace(/\?.*$/, ''))
    const anchor = hashAt < 0 ? undefined : decodeURIComponent(target.slice(hashAt + 1))
    const to = path === '' ? file : path.startsWith('/') ? join(root, path) : resolve(dirname(file), path)
    const kind = files.kind(to)
    if (!kind) {
      broken.push(`${name}:${line}: ${target}: no such file`)
      continue
    }
    if (anchor === undefined) continue
    if (kind === 'file' && to.endsWith('.md')) {
      if (!anchorsOf(files.read(to)).has(anchor))
        broken.push(`${name}:${line}: ${target}: no heading with the anchor #${anchor}`)
    } else if (!/^L\d+(-L\d+)?$/.test(anchor)) {
      broken.push(`${name}:${line}: ${target}: #${anchor} points into a file that is not Markdown`)
    }
  }
  return broken
}
