import { cliCommands } from '../operations.ts'
import type { DoctorCheck } from './check.ts'
import { finding } from './finding.ts'

/** The connector and every task RUNNING; FAILED shows the start of its trace. */
export const connectorCheck: DoctorCheck = {
  name: 'connect.worker',
  hintWhenUnreachable: 'is Kafka Connect up?',
  async run({ connect }, t) {
    const cmd = t.commands ?? cliCommands
    const status = await connect.status(t.connectorName)
    if (!status)
      return [
        finding('connect.connector', 'fail', `no connector ${t.connectorName}`, cmd('connector register')),
      ]
    const parts = [status.connector, ...status.tasks]
    const failed = parts.find((part) => part.state === 'FAILED')
    if (failed) {
      const trace = (failed.trace ?? '').split('\n').slice(0, 15).join('\n')
      return [
        finding(
          'connect.connector',
          'fail',
          `${t.connectorName} FAILED:\n${trace}`,
          `fix the cause in the trace, then ${cmd('connector restart')}`,
          status,
        ),
      ]
    }
    // Paused or stopped (connector:stop, before slots:advance) on purpose: resume is the way back.
    const halted = parts.find((part) => part.state === 'PAUSED' || part.state === 'STOPPED')
    if (halted) {
      return [
        finding(
          'connect.connector',
          'fail',
          `${t.connectorName} is ${halted.state}: no events leave the outbox`,
          cmd('connector resume'),
          status,
        ),
      ]
    }
    if (status.tasks.length === 0 || parts.some((part) => part.state !== 'RUNNING')) {
      return [
        finding(
          'connect.connector',
          'fail',
          `${t.connectorName}: ${parts.map((p) => p.state).join(', ') || 'no tasks'}`,
          cmd('connector status'),
          status,
        ),
      ]
    }
    return [
      finding(
        'connect.connector',
        'ok',
        `${t.connectorName} and ${status.tasks.length} task(s) RUNNING`,
        undefined,
        status,
      ),
    ]
  },
}
