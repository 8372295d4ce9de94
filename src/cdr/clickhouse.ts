// The connection to a ClickHouse server, shared by the daemon's CDR writer and
// the `cdr` commands: one way to open a client, to learn what the server
// supports, and to turn its failures into registry errors.
import {ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient} from '@clickhouse/client'
import type {Config} from '../config/schema.js'
import {CCError} from '../errors.js'

export type ClickHouseTarget = NonNullable<Config['cdr']['clickhouse']>

export interface ClickHouseConnection {
  readonly client: ClickHouseClient
  readonly target: ClickHouseTarget
  /** `database.table`, both validated identifiers (config schema). */
  readonly table: string
}

export interface OpenOptions {
  readonly requestTimeoutMs?: number
  /**
   * Reuse idle sockets (the daemon's writer). One-shot commands pass false: a socket the client
   * still thinks is fresh may already be closed by the server's keep_alive_timeout (3 s by
   * default) on a CPU-starved machine, and the next statement then fails with ECONNRESET.
   */
  readonly keepAlive?: boolean
}

export const openClickHouse = (target: ClickHouseTarget, options: OpenOptions = {}): ClickHouseConnection => ({
  client: createClient({
    url: target.url,
    username: target.username,
    password: target.password,
    database: target.database,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    // The client logs each failed request to the console; we report failures ourselves, once.
    log: {level: ClickHouseLogLevel.OFF},
    compression: {request: false, response: false},
    keep_alive: {enabled: options.keepAlive ?? true},
  }),
  target,
  table: `${target.database}.${target.table}`,
})

/** What the server can do, found by asking it rather than by parsing its version. */
export interface ServerCapabilities {
  readonly version: string
  /** `DateTime64(3)` columns (ClickHouse 20.1+). */
  readonly dateTime64: boolean
  /** `{name:Type}` query parameters (19.x+); without them `cdr query` writes the values as escaped literals. */
  readonly queryParameters: boolean
  /** The `insert_deduplication_token` setting (22.x+). */
  readonly dedupToken: boolean
}

export const serverCapabilities = async (connection: ClickHouseConnection): Promise<ServerCapabilities> => {
  const result = await connection.client.query({
    query: `SELECT version() AS version,
      (SELECT count() FROM system.data_type_families WHERE name = 'DateTime64') AS date_time64,
      (SELECT count() FROM system.settings WHERE name = 'insert_deduplication_token') AS dedup_token,
      (SELECT count() FROM system.functions WHERE name = 'parseDateTime64BestEffort') AS params_era`,
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{version: string; date_time64: string | number; dedup_token: string | number; params_era: string | number}>()
  if (!row) throw new Error('SELECT version() returned no row')
  const major = Number(row.version.split('.')[0])
  return {
    version: row.version,
    dateTime64: Number(row.date_time64) > 0,
    // Query parameters arrived in 19.x; no system table lists them, so this one is the version.
    queryParameters: major >= 19,
    dedupToken: Number(row.dedup_token) > 0,
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET'])

/** True when the request never reached a server that answered (so nothing can have been written). */
export const isConnectionRefused = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
}

/** A failure of `operation` as a registry error: unreachable server vs. a server that said no. */
export const clickHouseError = (connection: Pick<ClickHouseConnection, 'target'>, operation: string, error: unknown): CCError => {
  if (error instanceof CCError) return error
  const url = connection.target.url
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof ClickHouseError) return new CCError('CC_ERR_CLICKHOUSE_FAILED', {url, operation, detail: firstLine(message)}, {cause: error})
  if ((code !== undefined && NETWORK_CODES.has(code)) || /timeout|socket hang up|ECONNREFUSED/i.test(message)) {
    return new CCError('CC_ERR_CLICKHOUSE_UNREACHABLE', {url, detail: code ?? firstLine(message)}, {cause: error})
  }
  return new CCError('CC_ERR_CLICKHOUSE_FAILED', {url, operation, detail: firstLine(message)}, {cause: error})
}

const firstLine = (text: string): string => text.split('\n')[0]?.replace(/, e\.what\(\) = DB::Exception$/, '').trim() ?? text
