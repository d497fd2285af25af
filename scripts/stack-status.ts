import { redactUrl } from 'outbox-cdc'
import { loadStackConfig } from '../stack/lib/config.ts'
import { secretFile } from '../stack/lib/secrets.ts'
import { type ComponentStatus, stackStatus } from '../stack/lib/status.ts'
import { hasFlag, runCli } from './cli.ts'

/** Exits 0 when every component is healthy, 1 otherwise, so scripts can wait on it. */
runCli(async () => {
  const config = loadStackConfig()
  const status = await stackStatus(config)
  const { info } = status
  // URLs are printed without passwords; the local stack's are in files named here.
  const report = {
    ok: status.ok,
    /** The secured stack: TLS everywhere, SCRAM users, Connect behind basic auth. */
    secure: info.secure,
    postgres: {
      url: redactUrl(info.postgres.url).replace(':***@', '@'),
      ...(config.managed.postgres ? { passwordFile: secretFile(config.secretsDir, 'postgres-app') } : {}),
      ...status.postgres,
    },
    // Security as references (a CA file, a user, a password file), never a password.
    kafka: { brokers: info.kafka.brokers, security: info.kafka.security ?? null, ...status.kafka },
    connect: { ...status.connect, url: redactUrl(info.connect.url), security: info.connect.security ?? null },
  }
  if (hasFlag('--json')) {
    console.log(JSON.stringify(report, null, 2))
  } else {
    const line = (name: string, where: string, s: ComponentStatus) =>
      `  ${s.healthy ? '✓' : '✗'} ${name.padEnd(9)} ${s.healthy ? 'healthy  ' : 'unhealthy'} ` +
      `${s.managed ? `pid ${s.pid ?? '-'}`.padEnd(10) : 'external  '} ports ${s.ports.join(',').padEnd(12)} ${where}`
    const major = status.postgres.major === null ? '' : ` (Postgres ${status.postgres.major})`
    console.log(line('postgres', `${report.postgres.url}${major}`, status.postgres))
    // With a standby: each node, its role as it says it, and the failover slots it holds in sync.
    for (const node of status.postgres.standby?.nodes ?? []) {
      const slots = node.slots.map(
        (s) => `${s.slotName}${node.role === 'standby' ? (s.synced ? ' (synced)' : ' (not synced)') : ''}`,
      )
      console.log(
        `    ${node.name.padEnd(11)} ${(node.role ?? 'down').padEnd(8)} port ${node.port}` +
          (slots.length > 0 ? `  slots: ${slots.join(', ')}` : ''),
      )
    }
    for (const node of status.kafka.nodes) console.log(line(node.name, node.broker, node))
    for (const worker of status.connect.workers) console.log(line(worker.name, redactUrl(worker.url), worker))
    if (info.secure)
      console.log(
        `  secured: Kafka SASL_SSL (SCRAM-SHA-512), Connect basic auth, Postgres TLS only; CA ${config.certsDir}/ca.pem`,
      )
    console.log(
      status.ok ? 'Stack is healthy.' : 'Stack is not healthy: `npm run stack:up` starts what is missing.',
    )
  }
  return status.ok ? 0 : 1
})
