import { createServer } from 'node:net'
import { StackError } from './errors.ts'

/** Resolves true when nothing listens on 127.0.0.1:`port`. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** Fails with the port, who wanted it and the env var that moves it. */
export async function assertPortFree(port: number, component: string, envVar: string): Promise<void> {
  if (await isPortFree(port)) return
  throw new StackError(
    'PORT_IN_USE',
    `Port ${port} for ${component} is already in use by another process. ` +
      `Stop that process, or move ${component} with ${envVar}=<free port>.`,
  )
}

/** A port nothing listens on right now, picked by the kernel (for stacks of tests' own). */
export async function findFreePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * The first of `count` consecutive ports nothing listens on right now (a multi-node stack's),
 * drawn below the kernel's ephemeral range (32768 and up here): a port handed out by the kernel
 * can be taken the next moment by any client's outgoing connection, before our process binds it.
 */
export async function findFreePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count))
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isPortFree(base + i)))
    if (free.every(Boolean)) return base
  }
  throw new StackError('PORT_IN_USE', `no run of ${count} free ports found`)
}
