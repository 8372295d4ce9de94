// The CDR sink: one spool line per CHANNEL_HANGUP_COMPLETE. With ClickHouse
// configured the writer drains the spool into it; without, the spool is the
// embedded store (queried by `cdr query` with chDB) and keeps `retention_days`.
import type {Logger} from 'pino'
import type {CdrStatus} from '../../../src/admin/protocol.js'
import type {ChannelHangupComplete} from '../../../src/calls/events.js'
import {openClickHouse, type ClickHouseConnection} from '../../../src/cdr/clickhouse.js'
import {cdrLine} from '../../../src/cdr/columns.js'
import type {Config} from '../../../src/config/schema.js'
import {CCError} from '../../../src/errors.js'
import type {CallRegistry} from '../../calls/registry.js'
import type {MetricFamilies} from '../metrics/families.js'
import {ClickHouseCdrWriter} from './clickhouse-writer.js'
import {ActiveCallJournal} from './journal.js'
import {recoverJournal} from './journal-recovery.js'
import {CdrSpool} from './spool.js'

const RETENTION_SWEEP_MS = 3_600_000
/** How long a stopping daemon tries to hand its pending rows to ClickHouse; the rest wait in the spool. */
const STOP_FLUSH_MS = 5000

export interface CdrSinkOptions {
  readonly config: Config['cdr']
  readonly spoolDir: string
  /** The active-call journal (cdr.journal): connected calls, so that a daemon that dies still writes their CDRs. */
  readonly journalDir: string
  readonly calls: CallRegistry
  readonly metrics: MetricFamilies
  readonly log: Logger
  /** node.name: what the CDR `node` column gets, where the table has one. */
  readonly nodeName?: string
}

export class CdrSink {
  private readonly spool: CdrSpool
  private readonly connection: ClickHouseConnection | undefined
  private readonly writer: ClickHouseCdrWriter | undefined
  private readonly journal: ActiveCallJournal | undefined
  private retentionTimer: NodeJS.Timeout | undefined
  private rowsStored = 0
  private recoveredAtStart = 0
  private lastStoreError: {at: Date; code: string; message: string} | null = null
  private readonly onHangup = (event: ChannelHangupComplete) => this.record(event)

  constructor(private readonly options: CdrSinkOptions) {
    const {config, spoolDir, metrics, log} = options
    this.spool = new CdrSpool(spoolDir)
    if (config.journal.enabled) {
      this.journal = new ActiveCallJournal({dir: options.journalDir, checkpointIntervalMs: config.journal.checkpoint_interval_ms, calls: options.calls, spool: this.spool, log: log.child({sink: 'cdr-journal'})})
    }
    if (config.clickhouse) {
      this.connection = openClickHouse(config.clickhouse)
      const journal = this.journal
      this.writer = new ClickHouseCdrWriter({
        spool: this.spool,
        connection: this.connection,
        batchSize: config.batch_size,
        flushIntervalMs: config.flush_interval_ms,
        metrics,
        log: log.child({sink: 'cdr'}),
        ...(journal ? {beforeTrim: () => journal.commitEnds()} : {}),
        ...(options.nodeName === undefined ? {} : {nodeName: options.nodeName}),
      })
    }
  }

  /** Before any call: the spool, the CDRs of calls a dead daemon left connected, the writer, a fresh journal. */
  start(): void {
    this.spool.open()
    if (this.journal) this.recover()
    this.writer?.start()
    this.journal?.start()
    if (!this.writer) {
      this.sweepRetention()
      this.retentionTimer = setInterval(() => this.sweepRetention(), RETENTION_SWEEP_MS)
      this.retentionTimer.unref()
    }
    this.options.calls.on('CHANNEL_HANGUP_COMPLETE', this.onHangup)
  }

  async stop(): Promise<void> {
    this.options.calls.off('CHANNEL_HANGUP_COMPLETE', this.onHangup)
    clearInterval(this.retentionTimer)
    if (this.writer) {
      if (this.writer.pendingRows > 0) await this.writer.flush(STOP_FLUSH_MS)
      await this.writer.stop()
      if (this.writer.pendingRows > 0) this.options.log.warn({pendingRows: this.writer.pendingRows}, 'CDR rows stay in the spool until the next start')
    }
    await this.spool.sync().catch((error: unknown) => this.options.log.error({err: error}, 'CDR spool fsync failed at stop'))
    // After the spool's fsync: every call that ended leaves the journal, which is then empty after a drain.
    await this.journal?.stop().catch((error: unknown) => this.options.log.error({err: error}, 'active-call journal stop failed'))
    this.spool.close()
    await this.connection?.client.close()
  }

  /** Synchronous on purpose: the row is in the kernel before any other listener hears that the call ended. */
  private record(event: ChannelHangupComplete): void {
    const line = cdrLine(event)
    try {
      this.spool.append(line)
    } catch (error) {
      // The disk refused the row: keep it in the log, the one place left, so it can be replayed by hand.
      const message = error instanceof Error ? error.message : String(error)
      this.lastStoreError = {at: new Date(), code: 'CC_ERR_CDR_SPOOL', message}
      this.options.log.error({err: error, cdr: line.trimEnd()}, 'CDR could not be written to the spool')
      return
    }
    this.journal?.ended(event.call_sid)
    if (this.writer) this.writer.rowAppended()
    else {
      this.rowsStored += 1
      this.options.metrics.cdrRowsWrittenTotal.inc()
    }
  }

  /** The CDRs of calls a daemon that died left connected (journal-recovery.ts); before the writer counts what is pending. */
  private recover(): void {
    const {recovered} = recoverJournal({journalDir: this.options.journalDir, spool: this.spool, log: this.options.log.child({sink: 'cdr-journal'})})
    this.recoveredAtStart = recovered.length
    this.options.metrics.cdrRecoveredCallsTotal.inc(recovered.length)
    if (!this.writer) {
      this.rowsStored += recovered.length
      this.options.metrics.cdrRowsWrittenTotal.inc(recovered.length)
    }
  }

  /** Asks the server again what the table is like (its node column, how it deduplicates) before the next batch: after `cdr migrate --node-column`, a config reload. */
  recheckTable(): void {
    this.writer?.recheckTable()
  }

  /** `cdr flush`: with ClickHouse, until every pending row is acknowledged; embedded, an fsync. */
  async flush(timeoutMs: number): Promise<CdrStatus> {
    if (!this.writer) {
      await this.spool.sync()
      return this.status()
    }
    await this.spool.sync()
    const done = await this.writer.flush(timeoutMs)
    const status = this.status()
    if (!done) {
      throw new CCError('CC_ERR_CDR_FLUSH_INCOMPLETE', {pending: status.pendingRows, seconds: timeoutMs / 1000, detail: status.lastError?.message ?? 'none yet'}, {data: status})
    }
    return status
  }

  status(): CdrStatus {
    const {config} = this.options
    const target = config.clickhouse ? `${config.clickhouse.url} ${config.clickhouse.database}.${config.clickhouse.table}` : this.spool.dir
    const writer = this.writer
    const lastError = writer?.lastError ? {at: writer.lastError.at.toISOString(), code: writer.lastError.error.code, message: writer.lastError.error.message} : this.lastStoreError && {...this.lastStoreError, at: this.lastStoreError.at.toISOString()}
    return {
      enabled: true,
      store: writer ? 'clickhouse' : 'embedded',
      target,
      spoolDir: this.spool.dir,
      spool: this.spool.usage(),
      pendingRows: writer?.pendingRows ?? 0,
      oldestPendingAt: writer ? this.oldestPending() : null,
      lastSuccessAt: writer?.lastSuccessAt?.toISOString() ?? null,
      lastError,
      nextRetryAt: writer?.nextRetryAt?.toISOString() ?? null,
      rowsWritten: writer?.rowsWritten ?? this.rowsStored,
      batchesWritten: writer?.batchesWritten ?? 0,
      failedAttempts: writer?.failedAttempts ?? 0,
      dedup: writer?.dedup ?? null,
      nodeColumn: writer?.nodeColumn ?? null,
      ...(this.journal ? {journal: {path: this.journal.path, bytes: this.journal.sizeBytes, calls: this.journal.journaledCalls, recoveredAtStart: this.recoveredAtStart}} : {}),
    }
  }

  /** One word for `clutchcall status`. */
  get state(): string {
    if (!this.writer) return 'storing'
    if (this.writer.lastError && (!this.writer.lastSuccessAt || this.writer.lastError.at > this.writer.lastSuccessAt)) return 'retrying'
    return this.writer.pendingRows > 0 ? 'sending' : 'idle'
  }

  private oldestPending(): string | null {
    if (!this.writer || this.writer.pendingRows === 0) return null
    const first = this.spool.peekLine(this.writer.acked)
    if (first === undefined) return null
    try {
      const row = JSON.parse(first) as {end_timestamp_ms?: unknown}
      return typeof row.end_timestamp_ms === 'string' ? row.end_timestamp_ms : null
    } catch {
      return null
    }
  }

  private sweepRetention(): void {
    const cutoff = Date.now() - this.options.config.retention_days * 86_400_000
    try {
      const removed = this.spool.removeSegmentsOlderThan(cutoff)
      if (removed > 0) this.options.log.info({removed, retentionDays: this.options.config.retention_days}, 'CDR segments past retention removed')
    } catch (error) {
      this.options.log.warn({err: error}, 'CDR retention sweep failed')
    }
  }
}
