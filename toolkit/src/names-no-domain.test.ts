import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

/*
 * The toolkit is the package every service installs: nothing in it may name the bookstore that
 * is its first user. Tests aside (they may use any example), and so is toolkit/test, their support. Words such as "in order" are fine;
 * these are the bookstore's identifiers and tables.
 */
const forbidden =
  /BookAdded|BookRemoved|OrderPlaced|OrderCancelled|Shipment(Dispatched|Failed)|orderSide|fulfilment|fulfillment|catalogue|\bbooks\b|\borders\b|\bshipments?\b/i
/** The bookstore's commands and variables: the package's code names none (its manifest and changelog may name npm). */
const commands =
  /npm (start|run)|connector:register|\bDLQ_[A-Z_]+\b|`dlq:(redrive|list)`|consumer:replay|\bKAFKA_BROKERS\b|\ban order's|\bbenchmark|\.book\b/

const root = join(import.meta.dirname, '..')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return ['node_modules', 'dist', 'test'].includes(entry.name) ? [] : sources(path)
    return /\.test\.ts$/.test(entry.name) ? [] : [path]
  })
}

describe('the toolkit folder', () => {
  it('names no bookstore concept outside its tests', () => {
    const offending = sources(root).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, where: `${relative(root, file)}:${i + 1}` }))
        .filter(
          ({ line }) =>
            forbidden.test(line) || (file.includes(`${join(root, 'src')}/`) && commands.test(line)),
        )
        .map(({ where, line }) => `${where}: ${line.trim()}`),
    )
    expect(offending).toEqual([])
  })

  it('would catch one', () => {
    expect(forbidden.test("const inbox = 'fulfilment_inbox'")).toBe(true)
    expect(forbidden.test('select * from books')).toBe(true)
    expect(commands.test('run `npm run connector:resume`')).toBe(true)
    expect(commands.test('DLQ_RETENTION_MS: z.coerce.number()')).toBe(true)
    expect(forbidden.test('events arrive in order')).toBe(false)
  })
})
