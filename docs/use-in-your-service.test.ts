import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const page = readFileSync(new URL('use-in-your-service.md', import.meta.url), 'utf8')
const serviceDir = new URL('../test/outside/invoicing/src/', import.meta.url)
const service = readdirSync(serviceDir)
  .map((file) => readFileSync(new URL(file, serviceDir), 'utf8'))
  .join('\n')

describe('docs/use-in-your-service.md', () => {
  const snippets = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')

  it('has its snippets', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(6)
  })

  it.each(snippets.map((snippet, i) => [i + 1, snippet]))(
    'snippet %i is code the outside-the-repo test runs, word for word',
    (_n, snippet) => {
      expect(service).toContain(snippet)
    },
  )
})
