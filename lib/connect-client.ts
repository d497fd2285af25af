import { request } from 'undici'

/** The Kafka Connect REST API, behind one module. Errors carry Connect's own message. */
export class ConnectError extends Error {
  readonly code = 'CONNECT_REQUEST_FAILED'
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'ConnectError'
  }
}

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

export interface ConnectClient {
  plugins(): Promise<ConnectorPlugin[]>
  /** PUT /connector-plugins/<class>/config/validate: Connect's own verdict on a config. */
  validate(connectorClass: string, config: Record<string, string>): Promise<ConfigValidation>
}

export function createConnectClient(baseUrl: string, timeoutMs = 10_000): ConnectClient {
  const base = baseUrl.replace(/\/+$/, '')

  async function call<T>(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<T> {
    let response: Awaited<ReturnType<typeof request>>
    try {
      response = await request(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
    } catch (cause) {
      throw new ConnectError(`Kafka Connect at ${base} is not reachable`, undefined, true, { cause })
    }
    const text = await response.body.text()
    if (response.statusCode >= 400) {
      // 5xx and 409 (a rebalance in progress) pass; a 4xx is our mistake and will not.
      const retryable = response.statusCode >= 500 || response.statusCode === 409
      throw new ConnectError(
        `${method} ${path} → ${response.statusCode}: ${text}`,
        response.statusCode,
        retryable,
      )
    }
    return JSON.parse(text) as T
  }

  return {
    plugins: () => call<ConnectorPlugin[]>('GET', '/connector-plugins'),
    validate: (connectorClass, config) =>
      call<ConfigValidation>(
        'PUT',
        `/connector-plugins/${encodeURIComponent(connectorClass)}/config/validate`,
        config,
      ),
  }
}

export const debeziumPostgresClass = 'io.debezium.connector.postgresql.PostgresConnector'
