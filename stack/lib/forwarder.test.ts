import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { repoRoot } from './config.ts'
import { type Forwarder, readTarget, startForwarder, type Target, writeTarget } from './forwarder.ts'
import { findFreePortRun } from './ports.ts'

/** A server that greets each connection with its name, then echoes. */
async function namedServer(name: string): Promise<{ server: Server; port: number; open: Set<Socket> }> {
  const open = new Set<Socket>()
  const server = createServer((socket) => {
    open.add(socket)
    socket.on('close', () => open.delete(socket))
    socket.on('error', () => {})
    socket.write(`${name}\n`)
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  return { server, port: address.port, open }
}

/** A connection to `port` and what it has received so far; `closed` once the other side ends it. */
function client(port: number) {
  const socket = createConnection({ host: '127.0.0.1', port })
  const state = { received: '', closed: false }
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    state.received += chunk
  })
  socket.on('error', () => {})
  socket.on('close', () => {
    state.closed = true
  })
  return { socket, state }
}

const listening = (forwarder: Forwarder) => {
  const address = forwarder.server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  return address.port
}

describe('the Postgres address (a TCP forwarder standing in for a DNS name or VIP)', () => {
  const closers: (() => unknown)[] = []
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
  })
  const start = async (target: Target) => {
    const forwarder = await startForwarder({ host: '127.0.0.1', port: 0, target })
    closers.push(() => forwarder.close())
    return forwarder
  }
  const serve = async (name: string) => {
    const s = await namedServer(name)
    closers.push(() => new Promise((resolve) => s.server.close(resolve)))
    return s
  }

  it('carries bytes both ways, and moved, drops every connection to the old node while new ones reach the new', async () => {
    const [a, b] = [await serve('a'), await serve('b')]
    const forwarder = await start({ host: '127.0.0.1', port: a.port, node: 'a' })
    const first = client(listening(forwarder))
    first.socket.write('ping\n')
    await vi.waitFor(() => expect(first.state.received).toBe('a\nping\n'))

    forwarder.retarget({ host: '127.0.0.1', port: b.port, node: 'b' })
    await vi.waitFor(() => expect(first.state.closed).toBe(true))
    await vi.waitFor(() => expect(a.open.size).toBe(0))
    const second = client(listening(forwarder))
    await vi.waitFor(() => expect(second.state.received).toBe('b\n'))
    second.socket.destroy()
  })

  it('closes a client at once when its node refuses, and the node side when the client goes', async () => {
    const refusing = await findFreePortRun(1)
    const forwarder = await start({ host: '127.0.0.1', port: refusing, node: 'gone' })
    const lost = client(listening(forwarder))
    await vi.waitFor(() => expect(lost.state.closed).toBe(true))
    expect(forwarder.connections).toBe(0)

    const a = await serve('a')
    forwarder.retarget({ host: '127.0.0.1', port: a.port, node: 'a' })
    const leaving = client(listening(forwarder))
    await vi.waitFor(() => expect(leaving.state.received).toBe('a\n'))
    leaving.socket.destroy()
    await vi.waitFor(() => expect(a.open.size).toBe(0))
    expect(forwarder.connections).toBe(0)
  })

  it('reads its target from a file written whole, and names the file when it is missing or malformed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'address-'))
    closers.push(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'target.json')
    expect(() => readTarget(file)).toThrow(expect.objectContaining({ code: 'ADDRESS_TARGET_INVALID' }))
    writeTarget(file, { host: '127.0.0.1', port: 55433, node: 'postgres' })
    expect(readTarget(file)).toEqual({ host: '127.0.0.1', port: 55433, node: 'postgres' })
    writeFileSync(file, '{"host": "127.0.0.1", "port": 0')
    expect(() => readTarget(file)).toThrow(`${file} is not JSON`)
    writeFileSync(file, '{"host": "127.0.0.1", "port": 70000, "node": "x"}')
    expect(() => readTarget(file)).toThrow(/is not a target: port/)
    expect(() => writeTarget(file, { host: '', port: 1, node: 'x' })).toThrow()
  })

  it('as its own process, moves on SIGHUP to what the file says, and a bad file moves nothing', async () => {
    const [a, b] = [await serve('a'), await serve('b')]
    const dir = mkdtempSync(join(tmpdir(), 'address-'))
    closers.push(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'target.json')
    writeTarget(file, { host: '127.0.0.1', port: a.port, node: 'a' })
    const port = await findFreePortRun(1)
    // Node itself with tsx's loader, as the stack runs it: tsx's own wrapper would not pass SIGHUP on.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'stack', 'postgres-address.ts'), '127.0.0.1', String(port), file],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot },
    )
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    closers.push(async () => {
      child.kill('SIGTERM')
      await exited
    })
    await vi.waitFor(() => expect(output).toContain(`listening on 127.0.0.1:${port}`), { timeout: 20_000 })
    const greeting = async () => {
      const c = client(port)
      await vi.waitFor(() => expect(c.state.received).toMatch(/\n/))
      c.socket.destroy()
      return c.state.received.trim()
    }
    expect(await greeting()).toBe('a')

    writeFileSync(file, 'not json')
    child.kill('SIGHUP')
    await vi.waitFor(() => expect(output).toContain('target unchanged, still a'))
    expect(await greeting()).toBe('a')

    writeTarget(file, { host: '127.0.0.1', port: b.port, node: 'b' })
    child.kill('SIGHUP')
    await vi.waitFor(() => expect(output).toContain('now forwarding to b'))
    expect(await greeting()).toBe('b')
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 30_000)
})
