import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { withoutUserinfo } from '../redact.ts'
import {
  type ConnectorState,
  type ConnectorStatus,
  createConnectClient,
  isInState,
  isRunning,
} from './connect-client.ts'

const statusOf = (connector: ConnectorState, ...tasks: ConnectorState[]): ConnectorStatus => ({
  name: 'outbox',
  connector: { state: connector, worker_id: 'w' },
  tasks: tasks.map((state, id) => ({ id, state, worker_id: 'w' })),
})

describe('isRunning', () => {
  it('holds only when the connector and every task run', () => {
    expect(isRunning(statusOf('RUNNING', 'RUNNING', 'RUNNING'))).toBe(true)
    expect(isRunning(statusOf('RUNNING', 'RUNNING', 'FAILED'))).toBe(false)
    expect(isRunning(statusOf('PAUSED', 'RUNNING'))).toBe(false)
  })

  it('does not hold before the tasks exist, nor for an absent connector', () => {
    expect(isRunning(statusOf('RUNNING'))).toBe(false)
    expect(isRunning(undefined)).toBe(false)
  })

  it('is isInState for RUNNING, on every status', () => {
    const statuses = [
      statusOf('RUNNING', 'RUNNING'),
      statusOf('RUNNING', 'RUNNING', 'PAUSED'),
      statusOf('RUNNING'),
      statusOf('PAUSED', 'PAUSED'),
      statusOf('STOPPED'),
      statusOf('FAILED', 'RUNNING'),
      undefined,
    ]
    for (const status of statuses) expect(isRunning(status)).toBe(isInState(status, 'RUNNING'))
  })
})

describe('isInState', () => {
  it('holds PAUSED when the connector and every task are paused', () => {
    expect(isInState(statusOf('PAUSED', 'PAUSED'), 'PAUSED')).toBe(true)
    expect(isInState(statusOf('PAUSED', 'RUNNING'), 'PAUSED')).toBe(false)
  })

  it('holds STOPPED once the connector is stopped and its tasks are gone (Connect removes them)', () => {
    expect(isInState(statusOf('STOPPED'), 'STOPPED')).toBe(true)
    expect(isInState(statusOf('STOPPED', 'RUNNING'), 'STOPPED')).toBe(false)
    expect(isInState(statusOf('RUNNING'), 'STOPPED')).toBe(false)
  })

  it('holds PAUSED for a connector paused while STOPPED: Connect reports it PAUSED with no tasks', () => {
    expect(isInState(statusOf('PAUSED'), 'PAUSED')).toBe(true)
    expect(isInState(statusOf('PAUSED', 'RUNNING'), 'PAUSED')).toBe(false)
    expect(isInState(statusOf('RUNNING'), 'RUNNING')).toBe(false)
  })
})

describe('a Connect URL with a password in it', () => {
  it('is never repeated in an error (the console shows these to every reader)', async () => {
    const client = createConnectClient('http://ops:hunter2-secret@127.0.0.1:9', 1000)
    const error = (await client.status('outbox').catch((e: unknown) => e)) as Error
    expect(error.message).toContain('http://127.0.0.1:9 is not reachable')
    expect(error.message).not.toContain('hunter2')
    expect(withoutUserinfo('http://a:b@h:1/x')).toBe('http://h:1/x')
  })
})

describe('a 409 from Connect (a config change or rebalance not yet settled everywhere)', () => {
  // Connect answers 409 "stale configuration" to a restart sent right after a config update, and
  // "rebalance in progress" while its workers agree on who runs what. Both pass on their own; CI
  // saw `npm start` fail on the first one when it restarted a FAILED task with a new config.
  async function fakeConnect(conflicts: number) {
    const seen: string[] = []
    const server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`)
      if (seen.length <= conflicts) {
        response.writeHead(409, { 'content-type': 'application/json' })
        response.end(
          '{"error_code":409,"message":"Cannot complete request momentarily due to stale configuration"}',
        )
        return
      }
      response.writeHead(204)
      response.end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return { url: `http://127.0.0.1:${port}`, seen, close: () => server.close() }
  }

  it('is sent again until Connect takes it', async () => {
    const connect = await fakeConnect(3)
    try {
      await createConnectClient(connect.url, 1000).restart('outbox')
      expect(connect.seen).toEqual(
        Array(4).fill('POST /connectors/outbox/restart?includeTasks=true&onlyFailed=false'),
      )
    } finally {
      connect.close()
    }
  })

  it('fails retryable with what Connect said once the wait for it to settle is over', async () => {
    const connect = await fakeConnect(Number.POSITIVE_INFINITY)
    try {
      const client = createConnectClient(connect.url, 1000, { settleWaitMs: 1500 })
      const error = await client.pause('outbox').catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'CONNECT_REQUEST_FAILED', status: 409, retryable: true })
      expect((error as Error).message).toContain('stale configuration')
      expect(connect.seen.length).toBeGreaterThan(1)
    } finally {
      connect.close()
    }
  })
})

describe('a 500 that says a rebalance is expected (a connector made or deleted on another worker)', () => {
  it('is sent again until Connect takes it, like a 409; any other 500 is not waited out', async () => {
    const seen: string[] = []
    const server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`)
      if (request.url?.includes('broken')) {
        response.writeHead(500, { 'content-type': 'application/json' })
        response.end('{"error_code":500,"message":"Connector configuration is invalid"}')
      } else if (seen.length <= 2) {
        response.writeHead(500, { 'content-type': 'application/json' })
        response.end(
          '{"error_code":500,"message":"Request cannot be completed because a rebalance is expected"}',
        )
      } else {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end('{"slot.name":"s"}')
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    try {
      const client = createConnectClient(`http://127.0.0.1:${port}`, 1000, { settleWaitMs: 5000 })
      expect(await client.getConfig('outbox')).toEqual({ 'slot.name': 's' })
      expect(seen).toEqual(Array(3).fill('GET /connectors/outbox/config'))
      const error = await client.getConfig('broken').catch((e: unknown) => e)
      expect(error).toMatchObject({ status: 500 })
      expect(seen.filter((s) => s.includes('broken'))).toHaveLength(1)
    } finally {
      server.close()
    }
  })
})

describe('a client that must answer fast (the doctor, the console)', () => {
  it('with settleWaitMs 0 reports a 409 at once instead of waiting for Connect to settle', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(409)
      response.end('{"message":"rebalance in progress"}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    try {
      const started = Date.now()
      const error = await createConnectClient(`http://127.0.0.1:${port}`, 1000, { settleWaitMs: 0 })
        .getConfig('outbox')
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ status: 409 })
      expect(Date.now() - started).toBeLessThan(1000)
    } finally {
      server.close()
    }
  })
})
