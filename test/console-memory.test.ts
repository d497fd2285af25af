import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { consoleMemory } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../stack/lib/config.ts'
import { sentencesOf } from './markdown-sentences.ts'

/**
 * The sampler's and the tail's tests prove that each store keeps what it is given and no more;
 * this holds the figures the console is given to the figures its page promises.
 */
describe("the console's memory", () => {
  it('is what docs/console.md says it keeps: 15 minutes of samples, the last 500 events, the dead-letter list for 2 s', () => {
    const page = readFileSync(join(repoRoot, 'docs', 'console.md'), 'utf8')
    const sentence = sentencesOf(page, 'docs/console.md').find((s) =>
      s.text.includes('It keeps nothing but the last'),
    )
    expect(sentence, 'the promise is gone from docs/console.md').toBeDefined()
    const figures =
      /last (\d+) minutes of samples, the last (\d+) events it saw and, for (\d+) s, the dead-letter list/.exec(
        sentence?.text ?? '',
      )
    expect(figures, sentence?.text).not.toBeNull()
    const [, minutes, events, seconds] = figures ?? []
    expect({
      sampleKeepMs: Number(minutes) * 60_000,
      recentEvents: Number(events),
      deadLetterListMs: Number(seconds) * 1000,
    }).toEqual(consoleMemory)
  })
})
