import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { billingCliConfig } from '../../test/cli-config.ts'
import { type CliConfigInput, loadCliConfig, parseCliConfig, withEnvOverrides } from './config.ts'
import { consoleTokenOf } from './console-command.ts'
import { runOutboxCli } from './run.ts'

const config: CliConfigInput = billingCliConfig

const dir = mkdtempSync(join(tmpdir(), 'outbox-cdc-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** runOutboxCli with its output kept, and nothing reachable: only what fails before any call. */
async function cli(argv: string[], given: CliConfigInput = config) {
  const out: string[] = []
  const err: string[] = []
  const code = await runOutboxCli(argv, given, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    untilStopped: async () => {},
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('the CLI config', () => {
  it('refuses a misspelt key and a bad connector option, each by its path, before doing anything', () => {
    const bad = {
      ...config,
      kafka: { broker: ['kafka:9092'] },
      connector: { ...config.connector, slot: 'Bad-Slot' },
    }
    expect(() => parseCliConfig(bad, 'config file x.json')).toThrow(
      /^config file x\.json is not valid:\n(.|\n)*kafka: Unrecognized key: "broker"(.|\n)*connector\.slot: must be a lower-case Postgres identifier/,
    )
  })

  it("takes the console's token from the environment or a file, never from the config itself", () => {
    const token = 't'.repeat(40)
    expect(() => parseCliConfig({ ...config, console: { token } })).toThrow(
      /console: Unrecognized key: "token"/,
    )
    const parsed = parseCliConfig(config)
    expect(() => consoleTokenOf(parsed, {})).toThrow(/OUTBOX_CDC_CONSOLE_TOKEN or console\.tokenFile/)
    expect(consoleTokenOf(parsed, { OUTBOX_CDC_CONSOLE_TOKEN: token })).toBe(token)
    const file = join(dir, 'console-token')
    writeFileSync(file, `${token}\n`)
    expect(consoleTokenOf(parseCliConfig({ ...config, console: { tokenFile: file } }), {})).toBe(token)
    expect(() => consoleTokenOf(parsed, { OUTBOX_CDC_CONSOLE_TOKEN: 'short' })).toThrow(/at least 32/)
  })

  it('takes the addresses from OUTBOX_CDC_* over the file, so passwords need not be written in it', () => {
    const merged = parseCliConfig(
      withEnvOverrides(config as Record<string, unknown>, {
        OUTBOX_CDC_DATABASE_URL: 'postgres://app:secret@db2:5432/billing',
        OUTBOX_CDC_DATABASE_ADMIN_URL: 'postgres://admin:secret@db2:5432/billing',
        OUTBOX_CDC_KAFKA_BROKERS: 'k1:9092, k2:9092',
        OUTBOX_CDC_CONNECT_URL: 'https://connect2:8083',
      }),
    )
    expect(merged.postgres).toEqual({
      url: 'postgres://app:secret@db2:5432/billing',
      adminUrl: 'postgres://admin:secret@db2:5432/billing',
    })
    expect(merged.kafka.brokers).toEqual(['k1:9092', 'k2:9092'])
    expect(merged.connect.url).toBe('https://connect2:8083')
  })

  it('loads a JSON file or a module, and says where it looked when there is none', async () => {
    writeFileSync(join(dir, 'outbox-cdc.config.json'), JSON.stringify(config))
    expect((await loadCliConfig(undefined, {}, dir)).connector.name).toBe('billing')
    writeFileSync(
      join(dir, 'ops.mjs'),
      `export default ${JSON.stringify({ ...config, consumer: { group: 'm' } })}`,
    )
    expect((await loadCliConfig('ops.mjs', {}, dir)).consumer.group).toBe('m')
    const empty = mkdtempSync(join(dir, 'empty-'))
    await expect(loadCliConfig(undefined, {}, empty)).rejects.toThrow(/no config file: pass --config <file>/)
    await expect(loadCliConfig('nope.json', {}, dir)).rejects.toThrow(/nope\.json does not exist/)
  })
})

describe('runOutboxCli', () => {
  it('answers an unknown command with exit 2 and every usage line', async () => {
    const run = await cli(['connector', 'launch'])
    expect(run.code).toBe(2)
    expect(run.err).toMatch(/^unknown command: connector launch\n/)
    expect(run.err).toContain('usage: outbox-cdc slots drop <slot> [--force] [--yes] [--json]')
  })

  it("answers an unknown flag or a missing slot with exit 2 and that command's usage, as the caller names it", async () => {
    const named = {
      ...config,
      commands: (op: string, args?: string) => `make ${op.replace(' ', '-')} ${args ?? ''}`,
    }
    const flag = await cli(['dlq', 'redrive', '--dryrun'], named)
    expect(flag).toMatchObject({ code: 2, out: '' })
    expect(flag.err).toMatch(
      /Unknown option '--dryrun'(.|\n)*\nusage: make dlq-redrive \[--group <group>\] \[--dry-run\]$/,
    )
    // Letting a parked key go needs both: which group, which key. Nothing is deleted without them.
    const release = await cli(['dlq', 'release', '--group', 'g'], named)
    expect(release).toMatchObject({ code: 2, out: '' })
    expect(release.err).toMatch(
      /^--group and --key are required\nusage: make dlq-release --group <group> --key <key>/,
    )
    const slot = await cli(['slots', 'drop'], named)
    expect(slot.code).toBe(2)
    expect(slot.err).toMatch(/^name the slot\nusage: make slots-drop <slot>/)
  })

  it('refuses a config that is not valid, whatever the command', async () => {
    await expect(cli(['doctor'], { ...config, consumer: { group: 'has space' } })).rejects.toThrow(
      /consumer\.group: must be a Kafka group id/,
    )
  })
})

describe('the outbox-cdc command', () => {
  it('prints every command and exits 2 when given none; --config without a file is a usage error', () => {
    const main = join(import.meta.dirname, 'main.ts')
    const bare = spawnSync(process.execPath, ['--import', 'tsx', main], { encoding: 'utf8' })
    expect(bare.status).toBe(2)
    expect(bare.stdout).toMatch(
      /^outbox-cdc \[--config <file>\] <command>\nusage: outbox-cdc connector register/,
    )
    const noFile = spawnSync(process.execPath, ['--import', 'tsx', main, 'doctor', '--config'], {
      encoding: 'utf8',
    })
    expect(noFile.status).toBe(2)
    expect(noFile.stderr).toMatch(/--config needs a file/)
  })
})

describe('the CLI on input it once crashed or failed on', () => {
  it('answers replay without --from as a usage error (exit 2), not a crash', async () => {
    const run = await cli(['replay'])
    expect(run.code).toBe(2)
    expect(run.err).toMatch(/--from is required(.|\n)*usage: outbox-cdc replay --from/)
  })

  it('loads a config that TypeScript compiled to CommonJS (exports.default)', async () => {
    writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}')
    writeFileSync(
      join(dir, 'ops.cjs.js'),
      `"use strict";Object.defineProperty(exports,"__esModule",{value:true});exports.default=${JSON.stringify(config)};`,
    )
    expect((await loadCliConfig('ops.cjs.js', {}, dir)).connector.name).toBe('billing')
  })
})
