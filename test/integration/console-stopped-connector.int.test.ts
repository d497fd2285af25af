import { parseBrokers, type RunningConsole, startConsole } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { bookstoreChecks } from '../../doctor/checks.ts'
import { doctorTargetsOf, type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')
const token = 'p'.repeat(48)

/**
 * The console's pause action meets a connector an operator stopped (connector:stop): POST
 * /api/connector/pause with the token must answer, within its few seconds, with the state Connect
 * then reports (PAUSED with no task: pausing a stopped connector leaves it so), not hang nor 500.
 */
describe('the console pause action on a STOPPED connector', () => {
  let p: Pipeline
  let ops: RunningConsole
  beforeAll(async () => {
    p = await startPipeline(stack, { consumer: false })
    ops = await startConsole({
      postgresUrl: p.db.url,
      brokers: parseBrokers(p.connectorEnv.KAFKA_BROKERS),
      connectUrl: p.connectorEnv.CONNECT_URL,
      targets: doctorTargetsOf(p, { staleAfterS: 30 }),
      checks: bookstoreChecks,
      port: 0,
      sampleMs: 1000,
      token,
    })
  })
  afterAll(async () => {
    await ops?.stop()
    await p?.stop()
  })

  /** POST /api/connector/<action> as the page sends it: the token, a CSRF token and its cookie. */
  const act = async (action: string) => {
    const csrf = await fetch(new URL('/api/csrf', ops.url), { headers: { 'x-console': '1' } })
    const cookie = csrf.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    const { csrfToken } = (await csrf.json()) as { csrfToken: string }
    const started = Date.now()
    const response = await fetch(new URL(`/api/connector/${action}`, ops.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-console': '1',
        'x-csrf-token': csrfToken,
        cookie,
        authorization: `Bearer ${token}`,
      },
      body: '{}',
      signal: AbortSignal.timeout(30_000),
    })
    return { status: response.status, body: await response.json(), ms: Date.now() - started }
  }

  it('answers 200 with the state Connect reports (PAUSED, no task), in seconds', async () => {
    const name = p.connectorEnv.CONNECTOR_NAME
    await p.connect.stop(name)
    await p.connect.waitForState(name, 'STOPPED', 30_000)
    try {
      const paused = await act('pause')
      expect(paused.status, JSON.stringify(paused.body)).toBe(200)
      expect(paused.ms).toBeLessThan(15_000)
      expect(paused.body).toMatchObject({
        action: 'pause',
        connector: name,
        settled: true,
        status: { connector: { state: 'PAUSED' }, tasks: [] },
      })
      expect(await p.connect.status(name)).toMatchObject({ connector: { state: 'PAUSED' }, tasks: [] })
    } finally {
      await p.connect.resume(name)
    }
    await p.connect.waitForState(name, 'RUNNING', 30_000)
  })

  it('restart on a STOPPED connector answers in seconds with the state Connect reports, not a 500', async () => {
    const name = p.connectorEnv.CONNECTOR_NAME
    await p.connect.stop(name)
    await p.connect.waitForState(name, 'STOPPED', 30_000)
    try {
      const restarted = await act('restart')
      expect(restarted.ms).toBeLessThan(15_000)
      // Connect leaves a stopped connector stopped on restart: the answer says so, unsettled.
      expect(restarted.status, JSON.stringify(restarted.body)).toBe(200)
      expect(restarted.body).toMatchObject({
        settled: false,
        status: { connector: { state: 'STOPPED' }, tasks: [] },
      })
      expect((await p.connect.status(name))?.connector.state).toBe('STOPPED')
    } finally {
      await p.connect.resume(name)
    }
    await p.connect.waitForState(name, 'RUNNING', 30_000)
  })
})
