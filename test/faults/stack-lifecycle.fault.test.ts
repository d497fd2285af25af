import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { processesUnder } from '../support.ts'
import { mainConfig, ownStackEnv, runScript } from './own-stack.ts'

/** A free loopback port, found by letting the kernel pick one. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

function pidAlive(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)
  } catch {
    return false
  }
}

describe.skipIf(mainConfig.env.STACK_MODE !== 'native')('stack:up / stack:status / stack:down', async () => {
  const stackDir = mkdtempSync(join(tmpdir(), 'outbox-stack-it-'))
  const ports = {
    POSTGRES_PORT: String(await freePort()),
    KAFKA_PORT: String(await freePort()),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
    CONNECT_PORT: String(await freePort()),
  }
  const env = ownStackEnv(stackDir, ports)
  const cli = (script: string, args: string[] = [], extraEnv: Record<string, string> = {}) =>
    runScript({ ...env, ...extraEnv }, script, args)
  const status = () => JSON.parse(cli('stack-status', ['--json']).output)
  // Each test brings the stack to the state it starts from, so it passes alone (-t) and in any
  // order; in file order these find the state already right and cost a status call.
  const ensureUp = () => {
    if (!status().ok) expect(cli('stack-up').code).toBe(0)
  }
  const ensureDown = () => {
    if (processesUnder(stackDir).length > 0) expect(cli('stack-down').code).toBe(0)
  }
  const ensureDownWithData = () => {
    if (!existsSync(join(stackDir, 'postgres', 'data'))) ensureUp()
    ensureDown()
  }

  afterAll(() => {
    cli('stack-down', ['--purge'])
    rmSync(stackDir, { recursive: true, force: true })
  })

  it('names every missing prerequisite in one message and starts nothing', () => {
    ensureDown()
    const hadData = existsSync(join(stackDir, 'postgres'))
    const { code, output } = cli('stack-up', [], { JAVA_HOME: '/nonexistent-jdk', PG_BIN: '/nonexistent-pg' })
    expect(code).toBe(1)
    expect(output).toContain('PREREQUISITE_MISSING')
    expect(output).toContain('Java 17 or newer, none found at JAVA_HOME=/nonexistent-jdk')
    expect(output).toContain('PG_BIN=/nonexistent-pg has no initdb and postgres')
    expect(existsSync(join(stackDir, 'postgres'))).toBe(hadData)
    expect(processesUnder(stackDir)).toEqual([])
  })

  it('refuses a port in use, naming the port and the variable that moves it', async () => {
    ensureDown()
    const squatter: Server = createServer()
    await new Promise<void>((resolve) => squatter.listen(Number(ports.POSTGRES_PORT), '127.0.0.1', resolve))
    try {
      const { code, output } = cli('stack-up')
      expect(code).toBe(1)
      expect(output).toContain(`Port ${ports.POSTGRES_PORT} for postgres is already in use`)
      expect(output).toContain('POSTGRES_PORT=<free port>')
      expect(processesUnder(stackDir)).toEqual([])
    } finally {
      await new Promise((resolve) => squatter.close(resolve))
    }
  })

  it('starts all three, reports them healthy, and leaves a running stack as it is', () => {
    const first = cli('stack-up')
    expect(first.output).toContain('Stack is up')
    expect(first.code).toBe(0)

    const before = status()
    expect(before.ok).toBe(true)
    expect(before.postgres.url).toBe(`postgres://outbox@127.0.0.1:${ports.POSTGRES_PORT}/outbox`)
    expect(before.postgres.url).not.toContain(readFileSync(before.postgres.passwordFile, 'utf8').trim())
    expect(before.kafka.brokers).toEqual([`127.0.0.1:${ports.KAFKA_PORT}`])
    expect(before.connect.url).toBe(`http://127.0.0.1:${ports.CONNECT_PORT}`)
    for (const name of ['postgres', 'kafka', 'connect']) {
      expect(before[name]).toMatchObject({ healthy: true, managed: true })
      expect(pidAlive(before[name].pid, stackDir)).toBe(true)
    }

    const second = cli('stack-up')
    expect(second.code).toBe(0)
    expect(second.output.match(/already running, left as it was/g)).toHaveLength(3)
    const after = status()
    expect([after.postgres.pid, after.kafka.pid, after.connect.pid]).toEqual([
      before.postgres.pid,
      before.kafka.pid,
      before.connect.pid,
    ])
  })

  it('stops every process it started and leaves none behind', () => {
    ensureUp()
    const before = status()
    const { code, output } = cli('stack-down')
    expect(code).toBe(0)
    expect(output).toMatch(/connect\s+stopped/)
    expect(output).toMatch(/kafka\s+stopped/)
    expect(output).toMatch(/postgres\s+stopped/)
    for (const name of ['postgres', 'kafka', 'connect'])
      expect(pidAlive(before[name].pid, stackDir)).toBe(false)
    expect(processesUnder(stackDir)).toEqual([])

    const down = cli('stack-status', ['--json'])
    expect(down.code).toBe(1)
    expect(JSON.parse(down.output).ok).toBe(false)
  })

  it('shows the log path and its last lines when a component fails to start', () => {
    ensureDownWithData()
    const conf = join(stackDir, 'postgres', 'data', 'postgresql.conf')
    const original = readFileSync(conf, 'utf8')
    appendFileSync(conf, '\nno_such_setting = 1\n')
    try {
      const { code, output } = cli('stack-up')
      expect(code).toBe(1)
      expect(output).toContain('postgres exited while starting')
      expect(output).toContain(join(stackDir, 'postgres', 'postgres.log'))
      expect(output).toContain('unrecognized configuration parameter "no_such_setting"')
    } finally {
      writeFileSync(conf, original)
    }
  })

  it('deletes data, logs and secrets with --purge', () => {
    ensureUp()
    for (const name of ['postgres', 'kafka', 'connect', 'secrets'])
      expect(existsSync(join(stackDir, name))).toBe(true)
    const { code } = cli('stack-down', ['--purge'])
    expect(code).toBe(0)
    for (const name of ['postgres', 'kafka', 'connect', 'secrets'])
      expect(existsSync(join(stackDir, name))).toBe(false)
    expect(processesUnder(stackDir)).toEqual([])
  })
})
