import { setTimeout as delay } from 'node:timers/promises'
import pRetry from 'p-retry'
import { request } from 'undici'
import { CodedError } from '../errors.ts'
import { type ConnectSecurityInput, connectSecuritySchema, connectTransport } from '../security/connect.ts'

/** The Kafka Connect REST API, behind one module. Errors carry Connect's own message. */
export class ConnectError extends CodedError<'CONNECT_REQUEST_FAILED'> {
  constructor(
    message: string,
    /** Connect's HTTP status; undefined when it could not be reached at all. */
    readonly status: number | undefined,
    retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super('CONNECT_REQUEST_FAILED', message, { retryable, cause: options?.cause })
  }
}

/** A connector that did not reach the state it was waited for: a part FAILED, or time ran out. */
export class ConnectorStateError extends CodedError<'TASK_FAILED' | 'NOT_RUNNING_IN_TIME'> {}

export interface ConnectorPlugin {
  class: string
  type: string
  version: string
}

export interface ConfigValidation {
  name: string
  error_count: number
  configs: { value: { name: string; value: string | null; errors: string[] } }[]
}

export type ConnectorState = 'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'UNASSIGNED' | 'RESTARTING'

export interface ConnectorStatus {
  name: string
  connector: { state: ConnectorState; worker_id: string; trace?: string }
  tasks: { id: number; state: ConnectorState; worker_id: string; trace?: string }[]
}

/**
 * The connector and every one of its tasks report `state`. A RUNNING connector without tasks is
 * not running yet (the tasks do the work, and Connect lists them a moment after the connector).
 * STOPPED and PAUSED need none: Connect removes the tasks on stop, and pausing a STOPPED connector
 * reports it PAUSED with no tasks (none are started until it is resumed).
 */
export function isInState(status: ConnectorStatus | undefined, state: ConnectorState): boolean {
  if (status === undefined || status.connector.state !== state) return false
  if (state === 'STOPPED' || state === 'PAUSED') return status.tasks.every((task) => task.state === state)
  return status.tasks.length > 0 && status.tasks.every((task) => task.state === state)
}

/** The connector and all its tasks are RUNNING: the one test of "the connector delivers". */
export const isRunning = (status: ConnectorStatus | undefined) => isInState(status, 'RUNNING')

export interface ConnectClient {
  plugins(): Promise<ConnectorPlugin[]>
  /** PUT /connector-plugins/<class>/config/validate: Connect's own verdict on a config. */
  validate(connectorClass: string, config: Record<string, string>): Promise<ConfigValidation>
  /** Creates or updates the connector; `created` tells which. Idempotent for an unchanged config. */
  putConfig(name: string, config: Record<string, string>): Promise<{ created: boolean }>
  /** The config as Connect stores it (config-provider placeholders unresolved), or undefined. */
  getConfig(name: string): Promise<Record<string, string> | undefined>
  /** undefined when no connector has that name. */
  status(name: string): Promise<ConnectorStatus | undefined>
  /**
   * GET …/tasks: the config each task runs with, as Connect stores it. Connect writes them a moment
   * after a config update, from the connector's new config; undefined when no connector has that name.
   */
  taskConfigs(name: string): Promise<Record<string, string>[] | undefined>
  restart(name: string): Promise<void>
  /** PUT …/pause: the task stays, with its connections (a Debezium task keeps its slot active). */
  pause(name: string): Promise<void>
  /**
   * PUT …/stop (Connect 3.5+): the tasks are shut down and removed, config and offsets kept, so a
   * Debezium task lets go of its slot. State STOPPED; `resume` starts it again.
   */
  stop(name: string): Promise<void>
  /** PUT …/resume: runs a PAUSED or a STOPPED connector again. */
  resume(name: string): Promise<void>
  /**
   * DELETE …/offsets (Connect 3.6+, a STOPPED connector only): forgets where the connector stood,
   * so Debezium starts from its slot when resumed.
   */
  resetOffsets(name: string): Promise<void>
  /** GET …/offsets (Connect 3.5+): where the connector stands, as Connect stores it. */
  offsets(name: string): Promise<unknown>
  /** Returns false when there was no such connector. */
  remove(name: string): Promise<boolean>
  /** Names of all connectors on this Connect cluster. */
  list(): Promise<string[]>
  /**
   * Polls until the connector and all its tasks report `state` (see `isInState`) and returns that
   * status. Throws TASK_FAILED with the stack trace as soon as any part is FAILED (it will not
   * leave FAILED on its own), NOT_RUNNING_IN_TIME (retryable) when `timeoutMs` passes first.
   */
  waitForState(name: string, state: ConnectorState, timeoutMs: number): Promise<ConnectorStatus>
}

export interface ConnectClientOptions {
  /**
   * How long a request that Connect answers 409 is sent again. Connect says 409 while a config
   * change or a rebalance has not reached every worker ("stale configuration", "rebalance in
   * progress"): a restart sent just after a config update meets it, and it passes on its own.
   */
  settleWaitMs?: number
  /** Basic auth and TLS, for a Connect cluster that asks for them. */
  security?: ConnectSecurityInput
}

export function createConnectClient(
  baseUrl: string,
  timeoutMs = 10_000,
  { settleWaitMs = 30_000, security }: ConnectClientOptions = {},
): ConnectClient {
  const transport = connectTransport(baseUrl, security ? connectSecuritySchema.parse(security) : undefined)
  const { base } = transport

  async function call<T>(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> {
    return (await send<T>(method, path, body)).body
  }

  /** 404 comes back as `undefined` instead of an error, for the calls where absence is an answer. */
  async function callOrAbsent<T>(method: 'GET', path: string): Promise<T | undefined> {
    try {
      return await call<T>(method, path)
    } catch (error) {
      if (error instanceof ConnectError && error.status === 404) return undefined
      throw error
    }
  }

  function send<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    return pRetry(() => sendOnce<T>(method, path, body), {
      retries: Number.MAX_SAFE_INTEGER,
      maxRetryTime: settleWaitMs,
      minTimeout: 200,
      maxTimeout: 2000,
      shouldRetry: ({ error }) => error instanceof ConnectError && settling(error),
    })
  }

  /**
   * Connect not yet settled after a change: a 409 (stale configuration, a rebalance in progress),
   * or a 500 saying a rebalance is expected (a connector made or deleted on another worker a moment
   * ago). Either passes on its own; any other 500 is reported at once.
   */
  const settling = (error: ConnectError) =>
    error.status === 409 ||
    (error.status === 500 && /rebalance is (expected|in progress)/i.test(error.message))

  async function sendOnce<T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    let response: Awaited<ReturnType<typeof request>>
    try {
      response = await request(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...transport.headers },
        ...(transport.dispatcher ? { dispatcher: transport.dispatcher } : {}),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
    } catch (cause) {
      throw unreachable(base, cause)
    }
    const text = await response.body.text()
    if (response.statusCode === 401 || response.statusCode === 403) {
      const who = transport.username
      throw new ConnectError(
        who
          ? `Kafka Connect at ${base} refused the credentials of user ${who} (${response.statusCode})`
          : `Kafka Connect at ${base} asks for credentials (${response.statusCode}): set connect.auth (or OUTBOX_CDC_CONNECT_USERNAME and _PASSWORD_FILE)`,
        response.statusCode,
        false,
      )
    }
    if (response.statusCode >= 400) {
      // 5xx and 409 (a rebalance in progress) pass; a 4xx is our mistake and will not.
      const retryable = response.statusCode >= 500 || response.statusCode === 409
      throw new ConnectError(
        `${method} ${path} → ${response.statusCode}: ${text}`,
        response.statusCode,
        retryable,
      )
    }
    return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as T }
  }
  // A name of dots only is a path step to a URL ('..' is /, and so is '%2E%2E'): a request for it
  // would reach another resource, so none is sent.
  const connector = (name: string) => {
    if (/^\.+$/.test(name))
      throw new ConnectError(
        `${JSON.stringify(name)} cannot name a connector: it is a URL path step`,
        undefined,
        false,
      )
    return `/connectors/${encodeURIComponent(name)}`
  }
  const status = async (name: string) => callOrAbsent<ConnectorStatus>('GET', `${connector(name)}/status`)

  async function waitForState(name: string, state: ConnectorState, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs
    let last: ConnectorStatus | undefined
    while (Date.now() < deadline) {
      last = await status(name)
      const failed = [last?.connector, ...(last?.tasks ?? [])].find((part) => part?.state === 'FAILED')
      if (failed) {
        throw new ConnectorStateError(
          'TASK_FAILED',
          `Connector ${name} FAILED:\n${failed.trace ?? '(no trace)'}`,
        )
      }
      if (last && isInState(last, state)) return last
      await delay(250)
    }
    throw new ConnectorStateError(
      'NOT_RUNNING_IN_TIME',
      `Connector ${name} was not ${state} after ${timeoutMs / 1000} s; last status: ${JSON.stringify(last)}`,
      { retryable: true },
    )
  }

  return {
    plugins: () => call<ConnectorPlugin[]>('GET', '/connector-plugins'),
    validate: (connectorClass, config) =>
      call<ConfigValidation>(
        'PUT',
        `/connector-plugins/${encodeURIComponent(connectorClass)}/config/validate`,
        config,
      ),
    putConfig: async (name, config) => ({
      created: (await send('PUT', `${connector(name)}/config`, config)).status === 201,
    }),
    getConfig: async (name) => callOrAbsent<Record<string, string>>('GET', `${connector(name)}/config`),
    status,
    taskConfigs: async (name) =>
      (await callOrAbsent<{ config: Record<string, string> }[]>('GET', `${connector(name)}/tasks`))?.map(
        (task) => task.config,
      ),
    restart: async (name) => {
      await call('POST', `${connector(name)}/restart?includeTasks=true&onlyFailed=false`)
    },
    pause: async (name) => {
      await call('PUT', `${connector(name)}/pause`)
    },
    stop: async (name) => {
      await call('PUT', `${connector(name)}/stop`)
    },
    resume: async (name) => {
      await call('PUT', `${connector(name)}/resume`)
    },
    offsets: (name) => call('GET', `${connector(name)}/offsets`),
    resetOffsets: async (name) => {
      await call('DELETE', `${connector(name)}/offsets`)
    },
    list: () => call<string[]>('GET', '/connectors'),
    remove: async (name) => {
      try {
        await send('DELETE', connector(name))
        return true
      } catch (error) {
        if (error instanceof ConnectError && error.status === 404) return false
        throw error
      }
    },
    waitForState,
  }
}

/** TLS codes Node gives for a certificate it does not trust or a host it was not issued for. */
const tlsFailure = /CERT|SELF_SIGNED|ERR_TLS|ERR_SSL|EPROTO|altnames/i

/**
 * "Not reachable" is retryable and says to look at the network; a TLS failure will not pass by
 * itself and says what to set. Both name the URL without credentials.
 */
function unreachable(base: string, cause: unknown): ConnectError {
  const error = cause as { code?: string; message?: string }
  const text = `${error.code ?? ''} ${error.message ?? ''}`
  if (tlsFailure.test(text))
    return new ConnectError(
      `TLS with Kafka Connect at ${base} failed: ${error.message ?? error.code} (its CA goes in connect.tls.caFile, a client certificate in connect.tls.certFile and keyFile)`,
      undefined,
      false,
      { cause },
    )
  return new ConnectError(`Kafka Connect at ${base} is not reachable`, undefined, true, { cause })
}

export const debeziumPostgresClass = 'io.debezium.connector.postgresql.PostgresConnector'
