import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../stack/lib/config.ts'

const cliDir = join(repoRoot, 'toolkit', 'src', 'cli')
const sources = readdirSync(cliDir)
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
  .map((file) => ({ file, text: readFileSync(join(cliDir, file), 'utf8') }))

/** Every call of `name(…)` in a source, with its arguments' nodes. */
function callsOf(text: string, name: string): ts.NodeArray<ts.Expression>[] {
  const source = ts.createSourceFile('cli.ts', text, ts.ScriptTarget.Latest, true)
  const calls: ts.NodeArray<ts.Expression>[] = []
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === name)
      calls.push(node.arguments)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return calls
}

/**
 * A command line is visible to every user of the machine (`ps`, /proc/<pid>/cmdline), so no
 * command of the CLI takes a password, a token or any other secret as an argument: every
 * command's flags go through flagsOf (the one parseArgs), and none names a secret.
 */
describe("the CLI's flags", () => {
  it('name no password, token or other secret, and all go through flagsOf', () => {
    const parsers = sources
      .filter(({ text }) => callsOf(text, 'parseArgs').length > 0)
      .map(({ file }) => file)
    expect(parsers, 'parseArgs outside flagsOf').toEqual(['context.ts'])

    const flags = sources.flatMap(({ file, text }) =>
      callsOf(text, 'flagsOf').flatMap((args) => {
        const options = args[1]
        if (!options || !ts.isObjectLiteralExpression(options))
          return [`${file}: flags not written out as an object`]
        return options.properties.map((p) =>
          p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : `${file}: ?`,
        )
      }),
    )
    expect(flags.length, 'no flags found: the scan no longer sees them').toBeGreaterThan(5)
    expect(
      flags.filter(
        (flag) => /pass|secret|token|credential|auth|sasl|private/i.test(flag) || flag.includes(':'),
      ),
    ).toEqual([])
  })

  it('leave --config as the only flag read outside a command, and it names a file', () => {
    const main = sources.find(({ file }) => file === 'main.ts')?.text ?? ''
    const flagsRead = [...main.matchAll(/'(--[a-z-]+)/g)].map((m) => m[1])
    expect(new Set(flagsRead)).toEqual(new Set(['--config', '--help']))
  })
})
