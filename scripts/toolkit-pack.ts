import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CodedError } from 'outbox-cdc'
import { runCli } from './cli.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

export interface PackedToolkit {
  name: string
  version: string
  /** The tarball's file name (in `destination` when one was given). */
  filename: string
  /** Bytes of the gzipped tarball, and of its files unpacked. */
  size: number
  unpackedSize: number
  files: string[]
}

/** What a user needs: the build (no tests), the manifest, the readme and the changelog. */
const shipped = (path: string) =>
  ['package.json', 'README.md', 'CHANGELOG.md'].includes(path) ||
  (path.startsWith('dist/') && !/\.test\.|\.int\.test\./.test(path))

/**
 * Builds and packs the toolkit with npm (its prepack runs tsc) and checks what went in: only
 * the files above, and every file that `exports` points at. `destination` keeps the tarball
 * there; without it nothing is written (a dry run).
 */
export async function packToolkit(destination?: string): Promise<PackedToolkit> {
  const args = [
    'pack',
    '--json',
    '-w',
    'outbox-cdc',
    ...(destination ? ['--pack-destination', destination] : ['--dry-run']),
  ]
  const { stdout } = await promisify(execFile)('npm', args, { cwd: root, maxBuffer: 16 * 1024 * 1024 })
  // npm prints the prepack script's output before the JSON.
  const [report] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    name: string
    version: string
    filename: string
    size: number
    unpackedSize: number
    files: { path: string }[]
  }[]
  if (!report) throw new CodedError('PACK_FAILED', 'npm pack reported no package')
  const files = report.files.map((file) => file.path).sort()
  const unwanted = files.filter((path) => !shipped(path))
  const manifest = JSON.parse(readFileSync(new URL('../toolkit/package.json', import.meta.url), 'utf8')) as {
    exports: Record<string, string | Record<string, string>>
  }
  const targets = Object.values(manifest.exports).flatMap((entry) =>
    typeof entry === 'string' ? [entry] : Object.values(entry),
  )
  const missing = targets.map((target) => target.replace(/^\.\//, '')).filter((path) => !files.includes(path))
  if (unwanted.length > 0 || missing.length > 0) {
    throw new CodedError(
      'PACK_CONTENTS',
      [
        ...(unwanted.length > 0 ? [`ships what no user needs: ${unwanted.join(', ')}`] : []),
        ...(missing.length > 0 ? [`lacks what package.json exports: ${missing.join(', ')}`] : []),
      ].join('; '),
    )
  }
  return { ...report, files }
}

const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runCli(async () => {
    const packed = await packToolkit(process.argv[2])
    console.log(
      `${packed.name}@${packed.version}: ${kB(packed.size)} packed, ${kB(packed.unpackedSize)} unpacked, ${packed.files.length} files` +
        (process.argv[2] ? ` → ${process.argv[2]}/${packed.filename}` : ''),
    )
    return 0
  })
}
