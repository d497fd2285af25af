import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { assertPortFree, isPortFree } from './ports.ts'

describe('port checks', () => {
  it('see a port taken by another listener and say which variable moves it', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    try {
      expect(await isPortFree(port)).toBe(false)
      await expect(assertPortFree(port, 'kafka', 'KAFKA_PORT')).rejects.toThrow(
        `Port ${port} for kafka is already in use by another process. Stop that process, or move kafka with KAFKA_PORT=<free port>.`,
      )
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
    expect(await isPortFree(port)).toBe(true)
  })
})
