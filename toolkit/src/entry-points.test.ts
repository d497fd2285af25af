import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import tsconfig from '../../tsconfig.json' with { type: 'json' }
import toolkitPackage from '../package.json' with { type: 'json' }

/*
 * The bookstore uses the toolkit as any service would: through the package's entry points only.
 * A file outside toolkit/ that reaches into toolkit/ by path, or imports a subpath the package
 * does not export, fails here; so does an entry point the repo's source mapping does not know.
 */
const repo = join(import.meta.dirname, '..', '..')
const skipped = new Set(['node_modules', '.stack', '.git', 'toolkit', 'dist', '.tmp'])
const entryPoints = Object.keys(toolkitPackage.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => (subpath === '.' ? 'outbox-cdc' : `outbox-cdc/${subpath.slice(2)}`))

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (skipped.has(entry.name)) return []
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [path] : []
  })
}

const importedModules = (text: string) =>
  [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '')

describe("the toolkit's entry points", () => {
  it('are the only way the rest of the repo reaches the toolkit', () => {
    const deep = sources(repo).flatMap((file) =>
      importedModules(readFileSync(file, 'utf8'))
        .filter(
          (module) =>
            /(^|\/)toolkit\//.test(module) ||
            (module.startsWith('outbox-cdc') && !entryPoints.includes(module)),
        )
        .map((module) => `${relative(repo, file)} imports ${module}`),
    )
    expect(deep).toEqual([])
  })

  it('are each mapped to their source for tsx and tsc, as vitest maps them', () => {
    expect(Object.keys(tsconfig.compilerOptions.paths).sort()).toEqual([...entryPoints].sort())
    const vitestConfig = readFileSync(join(repo, 'vitest.config.ts'), 'utf8')
    for (const entry of entryPoints) expect(vitestConfig).toContain(`/^${entry.replace('/', '\\/')}$/`)
  })
})
