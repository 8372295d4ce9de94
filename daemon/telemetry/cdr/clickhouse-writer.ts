// Sends the spool to ClickHouse: batches in spool order, by size or interval,
// retried with jittered backoff, and never inserted twice.
//
// Exactly-once, in two steps:
//  1. Before a batch is sent its byte range is saved as `inflight` (spool-state),
//     and the spool is fsync'd. After the server acknowledges it, `acked` moves
//     past it. A daemon killed at any point restarts with the same range.
//  2. A batch that may already be in ClickHouse (a timeout, a reset, a restart
//     with a batch in flight) is resent so that it cannot land twice:
//     - `token`: servers with `insert_deduplication_token` and a table that
//       deduplicates (Replicated*, or MergeTree with non_replicated_deduplication_window,
//       which `cdr migrate` sets) get the same bytes with the same token, the
//       SHA-256 of the batch, and drop what they already have;
//     - `verify`: otherwise (Debian's 18.16 has no token) the writer first asks
//       which of the batch's call_sids the table already holds and sends only
//       the others. A call_sid is unique per call, so this is exact.
//
// The node column (docs/fleet.md, "Which node wrote a CDR"): when the table has
// an optional `node` column (`cdr migrate --node-column`), every line sent gets
// `"node":"<node.name>"` added as it leaves; the spool keeps the 21 columns.
// The token is the hash of the batch as spooled, so a batch resent after the
// column appeared (or a daemon restarted with another node.name) keeps it.
import {createHash} from 'node:crypto'
import {appendFileSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {drainStream} from '@clickhouse/client'
import type {Logger} from 'pino'
import {clickHouseError, isConnectionRefused, serverCapabilities, type ClickHouseConnection} from '../../../src/cdr/clickhouse.js'
import {CDR_INSERT_SETTINGS} from '../../../src/cdr/columns.js'
import {CDR_NODE_COLUMN} from '../../../src/cdr/ddl.js'
import {listSegments} from '../../../src/cdr/spool-files.js'
import {CALL_SID_PATTERN} from '../../../src/cdr/record.js'
import {CCError, toCCError} from '../../../src/errors.js'
import type {MetricFamilies} from '../metrics/families.js'
import {splitLines, type CdrSpool, type SpoolPosition} from './spool.js'
import {readSpoolState, writeSpoolState, type InflightBatch} from './spool-state.js'

export type DedupMode = 'token' | 'verify'

/** ClickHouse could not parse the input (codes 26, 27, 117): a bad line, not a bad server. */
const isParseError = (error: unknown): boolean => error instanceof Error && /Cannot parse|CANNOT_PARSE|Code: (?:26|27|117)\b/.test(error.message)

export interface WriterOptions {
  readonly spool: CdrSpool
  readonly connection: ClickHouseConnection
  readonly batchSize: number
  readonly flushIntervalMs: number
  readonly metrics: MetricFamilies
  readonly log: Logger
  /** Before acknowledged segments are deleted: the journal's end records for their rows must be on disk first. */
  readonly beforeTrim?: () => Promise<void>
  /** node.name: sent in the `node` column when the table has one. */
  readonly nodeName?: string
}

/** JSONEachRow lines with `"node":"<name>"` added before each closing brace; the body as it is when name is undefined. */
export const withNodeField = (body: Buffer, name: string | undefined): Buffer => {
  if (name === undefined || body.length === 0) return body
  const field = `,${JSON.stringify(CDR_NODE_COLUMN)}:${JSON.stringify(name)}}`
  const lines = body.toString('utf8').split('\n')
  return Buffer.from(lines.map((line) => (line.endsWith('}') ? `${line.slice(0, -1)}${field}` : line)).join('\n'))
}

const BACKOFF_BASE_MS = 250
const BACKOFF_MAX_MS = 30_000

export class ClickHouseCdrWriter {
  acked: SpoolPosition = {segment: 1, offset: 0}
  pendingRows = 0
  rowsWritten = 0
  batchesWritten = 0
  failedAttempts = 0
  lastSuccessAt: Date | null = null
  lastError: {at: Date; error: CCError} | null = null
  nextRetryAt: Date | null = null
  dedup: DedupMode | null = null
  /** Whether the table has the `node` column (then every row carries node.name); null until the server was reached. */
  nodeColumn: boolean | null = null

  private inflight: InflightBatch | null = null
  /** The acknowledged position as state.json has it (it lags `acked` by one batch while batches flow). */
  private persistedAcked: SpoolPosition = {segment: 1, offset: 0}
  /** True when the in-flight batch may already be in ClickHouse. */
  private inflightUncertain = false
  private consecutiveFailures = 0
  private oldestUnsentAt = 0
  private flushWaiters = 0
  private pumping: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(private readonly options: WriterOptions) {}

  /** Picks up where the last run stopped: the acknowledged position and any batch in flight. */
  start(): void {
    const {spool} = this.options
    const state = readSpoolState(spool.dir)
    if (state) {
      this.acked = state.acked
      this.persistedAcked = state.acked
      this.inflight = state.inflight
      this.inflightUncertain = state.inflight !== null
    } else {
      // A spool that never fed ClickHouse (a fresh one, or the embedded store until now): all of it is pending.
      this.acked = {segment: listSegments(spool.dir)[0] ?? spool.active.segment, offset: 0}
      this.persistedAcked = this.acked
    }
    this.pendingRows = spool.countLines(this.acked)
    this.options.metrics.cdrPendingRows.set(this.pendingRows)
    if (this.pendingRows > 0) {
      this.options.log.info({pendingRows: this.pendingRows, acked: this.acked, inflight: this.inflight}, 'CDR rows from an earlier run are waiting for ClickHouse')
      this.schedule(0)
    }
  }

  /** A row was appended to the spool. */
  rowAppended(): void {
    if (this.pendingRows === 0) this.oldestUnsentAt = Date.now()
    this.pendingRows += 1
    this.options.metrics.cdrPendingRows.set(this.pendingRows)
    if (this.pendingRows >= this.options.batchSize) this.schedule(0)
    else if (!this.timer) this.schedule(this.options.flushIntervalMs)
  }

  /**
   * The next batch asks the server again what the table is like (node column, deduplication):
   * a table migrated while the daemon runs (`cdr migrate --node-column`).
   */
  recheckTable(): void {
    this.dedup = null
    this.nodeColumn = null
  }

  /** Sends everything pending now; resolves when it is all acknowledged or `timeoutMs` has passed. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    this.flushWaiters += 1
    try {
      this.consecutiveFailures = 0
      this.nextRetryAt = null
      while (this.pendingRows > 0 && !this.stopped) {
        await this.kick()
        if (this.pendingRows === 0) break
        if (Date.now() >= deadline) return false
        // A failure backs off; a flush keeps trying, once a second, until its deadline.
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))))
      }
      return this.pendingRows === 0
    } finally {
      this.flushWaiters -= 1
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    await this.pumping
    await this.persistAcked()
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.kick()
    }, delayMs)
    this.timer.unref()
  }

  /** Starts the pump unless it runs already; resolves when it stops. */
  private kick(): Promise<void> {
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined))
    return this.pumping
  }

  /** Sends batches while they are due; one pump runs at a time, so batches leave in spool order. */
  private async pump(): Promise<void> {
    const {batchSize, flushIntervalMs} = this.options
    while (!this.stopped && this.pendingRows > 0) {
      const due = this.inflight !== null || this.flushWaiters > 0 || this.pendingRows >= batchSize || Date.now() - this.oldestUnsentAt >= flushIntervalMs
      if (!due) return this.schedule(flushIntervalMs - (Date.now() - this.oldestUnsentAt))
      try {
        await this.sendBatch()
        this.consecutiveFailures = 0
        this.nextRetryAt = null
      } catch (error) {
        this.failed(error)
        return
      }
    }
  }

  private async sendBatch(): Promise<void> {
    const {spool, batchSize, metrics} = this.options
    let batch = this.inflight
    let body: Buffer
    if (batch === null) {
      const read = await spool.read(this.acked, batchSize)
      if (read.rows === 0) {
        this.pendingRows = 0
        await this.persistAcked()
        return
      }
      await spool.sync()
      batch = {start: read.start, end: read.end, rows: read.rows}
      // One state write per batch: it also records the previous batch's acknowledgement.
      await writeSpoolState(spool.dir, {acked: this.acked, inflight: batch})
      this.persistedAcked = this.acked
      this.inflight = batch
      this.inflightUncertain = false
      body = read.body
    } else {
      body = (await spool.read(batch.start, batch.rows)).body
    }
    const dedup = (this.dedup ??= await this.detectDedup())
    let rows = batch.rows
    if (this.inflightUncertain && dedup === 'verify') {
      const missing = await this.withoutRowsAlreadyStored(this.validRows(splitLines(body)))
      body = Buffer.from(missing.map((row) => row.line).join(''))
      rows = missing.length
    }
    if (rows > 0) {
      try {
        await this.insert(body, dedup)
      } catch (error) {
        // A line ClickHouse cannot parse would block the queue forever: set it aside and send the rest.
        if (!isParseError(error)) throw this.insertFailed(error)
        const valid = this.validRows(splitLines(body))
        body = Buffer.from(valid.map((row) => row.line).join(''))
        rows = valid.length
        if (rows > 0) await this.insert(body, dedup).catch((retryError: unknown) => Promise.reject(this.insertFailed(retryError)))
      }
    }
    this.acked = batch.end
    this.inflight = null
    this.inflightUncertain = false
    this.pendingRows = Math.max(0, this.pendingRows - batch.rows)
    if (this.pendingRows === 0 || this.stopped) await this.persistAcked()
    this.rowsWritten += rows
    this.batchesWritten += 1
    this.lastSuccessAt = new Date()
    metrics.cdrRowsWrittenTotal.inc(rows)
    metrics.cdrPendingRows.set(this.pendingRows)
    if (this.pendingRows > 0) this.oldestUnsentAt = 0
    // Only segments before the acknowledgement on disk: a restart may re-read the batch it names.
    if (spool.hasSegmentsBefore(this.persistedAcked.segment)) {
      // Journal recovery looks for rows in the spool: once they are gone, only end records say a call has its CDR.
      await this.options.beforeTrim?.()
      spool.removeSegmentsBefore(this.persistedAcked.segment)
    }
  }

  /** Saves the acknowledged position when no next batch will (idle, or stopping). */
  private async persistAcked(): Promise<void> {
    if (this.persistedAcked === this.acked) return
    await writeSpoolState(this.options.spool.dir, {acked: this.acked, inflight: null})
    this.persistedAcked = this.acked
  }

  /** exec, not insert: the lines are JSONEachRow already and go out byte for byte (insert would re-encode them). */
  private async insert(body: Buffer, dedup: DedupMode): Promise<void> {
    const {connection} = this.options
    const sent = withNodeField(body, this.nodeColumn === true ? this.options.nodeName : undefined)
    // Of the rows as spooled: the same batch has the same token whether or not it carries the node column.
    const token = dedup === 'token' ? createHash('sha256').update(body).digest('hex') : undefined
    const result = await connection.client.exec({
      query: `INSERT INTO ${connection.table} FORMAT JSONEachRow`,
      values: Readable.from([sent]),
      clickhouse_settings: {...CDR_INSERT_SETTINGS, ...(token === undefined ? {} : {insert_deduplication_token: token})},
    })
    await drainStream(result.stream)
  }

  private insertFailed(error: unknown): CCError {
    // Refused before any byte reached a server: the batch is certainly not there.
    this.inflightUncertain ||= !isConnectionRefused(error)
    return clickHouseError(this.options.connection, 'the CDR insert', error)
  }

  /** Lines that cannot be a CDR (a damaged disk, a hand-edited file) go to rejected.ndjson instead of blocking the queue forever. */
  private validRows(lines: readonly string[]): {line: string; callSid: string}[] {
    const rows: {line: string; callSid: string}[] = []
    for (const line of lines) {
      let callSid: unknown
      try {
        callSid = (JSON.parse(line) as {call_sid?: unknown}).call_sid
      } catch {
        callSid = undefined
      }
      if (typeof callSid === 'string' && CALL_SID_PATTERN.test(callSid)) rows.push({line, callSid})
      else {
        appendFileSync(join(this.options.spool.dir, 'rejected.ndjson'), line.endsWith('\n') ? line : `${line}\n`)
        this.options.log.error({line: line.slice(0, 500)}, 'CDR spool line is not a CDR; moved to rejected.ndjson')
      }
    }
    return rows
  }

  /** The `verify` scheme: drop the rows the table already holds. call_sids match CALL_SID_PATTERN, so they are safe as SQL literals. */
  private async withoutRowsAlreadyStored(rows: {line: string; callSid: string}[]): Promise<{line: string; callSid: string}[]> {
    const {connection, log} = this.options
    if (rows.length === 0) return rows
    const list = rows.map((row) => `'${row.callSid}'`).join(',')
    try {
      const result = await connection.client.query({query: `SELECT call_sid FROM ${connection.table} WHERE call_sid IN (${list})`, format: 'JSONEachRow'})
      const stored = new Set((await result.json<{call_sid: string}>()).map((row) => row.call_sid))
      if (stored.size > 0) log.warn({alreadyStored: stored.size, batch: rows.length}, 'CDR batch was partly or wholly inserted before; sending only the missing rows')
      return rows.filter((row) => !stored.has(row.callSid))
    } catch (error) {
      throw clickHouseError(connection, 'the CDR duplicate check', error)
    }
  }

  private async detectDedup(): Promise<DedupMode> {
    const {connection, log} = this.options
    try {
      const capabilities = await serverCapabilities(connection)
      let mode: DedupMode = 'verify'
      if (capabilities.dedupToken) {
        const result = await connection.client.query({
          query: 'SELECT engine, create_table_query FROM system.tables WHERE database = {database:String} AND name = {table:String}',
          query_params: {database: connection.target.database, table: connection.target.table},
          format: 'JSONEachRow',
        })
        const [table] = await result.json<{engine: string; create_table_query: string}>()
        if (table && (table.engine.startsWith('Replicated') || /non_replicated_deduplication_window\s*=\s*[1-9]/.test(table.create_table_query))) mode = 'token'
      }
      // Both names are identifiers the config schema validated; 18.16 has no query parameters.
      const {database, table} = connection.target
      const columns = await connection.client.query({query: `SELECT name FROM system.columns WHERE database = '${database}' AND table = '${table}' AND name = '${CDR_NODE_COLUMN}'`, format: 'JSONEachRow'})
      this.nodeColumn = (await columns.json<{name: string}>()).length > 0
      log.info({server: capabilities.version, dedup: mode, node_column: this.nodeColumn}, 'CDR writer connected to ClickHouse')
      return mode
    } catch (error) {
      throw clickHouseError(connection, 'the server check', error)
    }
  }

  private failed(error: unknown): void {
    const failure = toCCError(error)
    this.failedAttempts += 1
    this.consecutiveFailures += 1
    this.lastError = {at: new Date(), error: failure}
    this.options.metrics.cdrInsertErrorsTotal.inc()
    // Full jitter: many gateways recovering from one ClickHouse outage must not retry in step.
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.consecutiveFailures, 16))
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
    this.nextRetryAt = new Date(Date.now() + delay)
    const level = this.consecutiveFailures === 1 || this.consecutiveFailures % 20 === 0 ? 'warn' : 'debug'
    this.options.log[level]({code: failure.code, err: failure.message, pendingRows: this.pendingRows, retryInMs: delay}, 'CDR batch not written; will retry')
    this.schedule(delay)
  }
}
