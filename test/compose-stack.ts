import { randomBytes } from 'node:crypto'
import { DockerComposeEnvironment, Wait } from 'testcontainers'
import { repoRoot } from '../stack/lib/config.ts'
import type { StackInfo } from '../stack/lib/stack.ts'

/**
 * The Docker path (STACK_MODE=testcontainers): docker-compose.yml's postgres, kafka and connect
 * through testcontainers, on the same host ports as the native stack. Our CI has no Docker engine.
 */
export async function startComposeStack(): Promise<{ info: StackInfo; stop: () => Promise<void> }> {
  const secret = () => randomBytes(24).toString('hex')
  const [password, adminPassword] = [secret(), secret()]
  const environment = await new DockerComposeEnvironment(repoRoot, 'docker-compose.yml')
    .withEnvironment({
      POSTGRES_PASSWORD: password,
      POSTGRES_ADMIN_PASSWORD: adminPassword,
      CONNECTOR_DB_PASSWORD: secret(),
    })
    .withWaitStrategy('postgres-1', Wait.forHealthCheck())
    .withWaitStrategy('kafka-1', Wait.forHealthCheck())
    .withWaitStrategy('connect-1', Wait.forHealthCheck())
    .withStartupTimeout(300_000)
    .up(['postgres', 'kafka', 'connect'])

  const port = (service: string, inside: number) =>
    environment.getContainer(`${service}-1`).getMappedPort(inside)
  const url = `postgres://outbox:${password}@127.0.0.1:${port('postgres', 5432)}/outbox`
  const adminUrl = `postgres://postgres:${adminPassword}@127.0.0.1:${port('postgres', 5432)}/postgres`
  return {
    info: {
      secure: false,
      postgres: { url, adminUrl, managed: true },
      kafka: { brokers: [`127.0.0.1:${port('kafka', 9092)}`], managed: true },
      connect: {
        url: `http://127.0.0.1:${port('connect', 8083)}`,
        workers: [`http://127.0.0.1:${port('connect', 8083)}`],
        managed: true,
      },
    },
    stop: async () => {
      await environment.down({ removeVolumes: true })
    },
  }
}
