// The writer's delivery rules against a scripted ClickHouse client: the same
// bytes and token when a batch is retried on a token-capable server, the
// call_sid check on servers without one, order, and backoff after failures.
// (The real-server behaviour is in test/integration/daemon/telemetry/cdr.)
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {pino} from 'pino'
import type {ClickHouseConnection} from '../../../../../src/cdr/clickhouse.js'
import {listSegments, segmentPath} from '../../../../../src/cdr/spool-files.js'
import {ClickHouseCdrWriter, withNodeField} from '../../../../../daemon/telemetry/cdr/clickhouse-writer.js'
import {CdrSpool} from '../../../../../daemon/telemetry/cdr/spool.js'
import {readSpoolState} from '../../../../../daemon/telemetry/cdr/spool-state.js'
import {createMetricsRegistry} from '../../../../../daemon/telemetry/metrics/families.js'

const sid = (n: number) => `CA${n.toString(16).padStart(32, '0')}`
const line = (n: number) => `{"call_sid":"${sid(n)}","end_timestamp_ms":"2026-11-25T12:00:0${n % 10}.000Z"}\n`

interface Insert {
  body: string
  token: string | undefined
}

/** A ClickHouse client that records inserts and fails the ones a test asks it to. */
const fakeServer = (options: {dedupToken: boolean; engine?: string; failures?: Array<Error | 'lost-ack'>; nodeColumn?: boolean}) => {
  const inserts: Insert[] = []
  const stored = new Set<string>()
  const failures = [...(options.failures ?? [])]
  const client = {
    async query({query}: {query: string}) {
      let rows: unknown[] = []
      if (query.includes('version()')) rows = [{version: options.dedupToken ? '24.8.1' : '18.16.1', date_time64: options.dedupToken ? 1 : 0, dedup_token: options.dedupToken ? 1 : 0, params_era: 1}]
      else if (query.includes('system.tables')) {
        const engine = options.engine ?? 'MergeTree'
        rows = [{engine, create_table_query: engine === 'MergeTree' ? 'CREATE TABLE t (...) ENGINE = MergeTree SETTINGS non_replicated_deduplication_window = 1000' : `CREATE TABLE t (...) ENGINE = ${engine}(c, default, t_local)`}]
      }
      else if (query.includes('system.columns')) rows = options.nodeColumn === true && query.includes("name = 'node'") ? [{name: 'node'}] : []
      else if (query.includes('WHERE call_sid IN')) rows = [...query.matchAll(/'(CA[0-9a-f]{32})'/g)].map((match) => match[1]).filter((value) => stored.has(value!)).map((value) => ({call_sid: value}))
      return {json: async () => rows}
    },
    async exec({values, clickhouse_settings}: {values: Readable; clickhouse_settings: Record<string, string>}) {
      const chunks: Buffer[] = []
      for await (const chunk of values) chunks.push(chunk as Buffer)
      const body = Buffer.concat(chunks).toString()
      const token = clickhouse_settings.insert_deduplication_token
      if (body.split('\n').some((candidate) => candidate !== '' && !candidate.startsWith('{'))) {
        throw new Error('Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected { before: garbage')
      }
      const failure = failures.shift()
      if (failure instanceof Error) throw failure
      // A token-capable server drops a block whose token it has seen.
      if (!(token !== undefined && inserts.some((insert) => insert.token === token))) {
        inserts.push({body, token})
        for (const match of body.matchAll(/"call_sid":"(CA[0-9a-f]{32})"/g)) stored.add(match[1]!)
      }
      if (failure === 'lost-ack') throw Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'})
      return {stream: Readable.from([])}
    },
    async close() {},
  }
  const connection = {client, target: {url: 'http://ch.test:8123', database: 'default', table: 'telephony_cdrs', username: 'default', password: ''}, table: 'default.telephony_cdrs'} as unknown as ClickHouseConnection
  return {connection, inserts, stored}
}

let dir = ''
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-writer-'))
})
afterEach(() => rmSync(dir, {recursive: true, force: true}))

const writerWith = (connection: ClickHouseConnection, batchSize: number, nodeName?: string) => {
  const spool = new CdrSpool(dir)
  spool.open()
  const {families} = createMetricsRegistry()
  const writer = new ClickHouseCdrWriter({spool, connection, batchSize, flushIntervalMs: 50, metrics: families, log: pino({level: 'silent'}), ...(nodeName === undefined ? {} : {nodeName})})
  return {spool, writer}
}

/** What the CDR sink does per call: append to the spool, tell the writer. */
const spoolRows = (spool: CdrSpool, writer: ClickHouseCdrWriter, lines: readonly string[]): void => {
  for (const text of lines) {
    spool.append(text)
    writer.rowAppended()
  }
}

describe('ClickHouseCdrWriter', () => {
  it('adds the node name to every row it sends when the table has the node column, and nothing when it has not; the spool keeps the 21 columns', async () => {
    for (const nodeColumn of [true, false]) {
      const server = fakeServer({dedupToken: true, nodeColumn, failures: ['lost-ack']})
      const {spool, writer} = writerWith(server.connection, 10, 'gw-fra-1')
      writer.start()
      spoolRows(spool, writer, [line(1), line(2)])
      assert.equal(await writer.flush(10_000), true)
      assert.equal(writer.nodeColumn, nodeColumn)
      assert.equal(server.inserts.length, 1, 'the resent batch had the same bytes and token')
      const rows = server.inserts[0]!.body.trim().split('\n').map((text) => JSON.parse(text) as Record<string, unknown>)
      assert.deepEqual(rows.map((row) => row.node), nodeColumn ? ['gw-fra-1', 'gw-fra-1'] : [undefined, undefined])
      assert.deepEqual(rows.map((row) => row.call_sid), [sid(1), sid(2)])
      await writer.stop()
      spool.close()
      const spooled = listSegments(dir).map((sequence) => readFileSync(segmentPath(dir, sequence), 'utf8')).join('')
      assert.ok(spooled.includes(sid(2)), 'the rows are in the spool')
      assert.doesNotMatch(spooled, /gw-fra-1/, 'as the 21 columns only')
      rmSync(dir, {recursive: true, force: true})
      dir = mkdtempSync(join(tmpdir(), 'cc-writer-'))
    }
  })

  it('a batch resent after the node column appeared keeps its token (the hash of the spooled rows) and lands once', async () => {
    const options: {dedupToken: boolean; nodeColumn: boolean; failures: Array<'lost-ack'>} = {dedupToken: true, nodeColumn: false, failures: ['lost-ack']}
    const server = fakeServer(options)
    const {spool, writer} = writerWith(server.connection, 10, 'gw-fra-1')
    const client = server.connection.client as unknown as {exec: (...args: unknown[]) => Promise<unknown>}
    const exec = client.exec.bind(client)
    // The table is migrated (and the daemon told, by a config reload) while the first attempt's acknowledgement is lost.
    let first = true
    client.exec = async (...args: unknown[]) => {
      try {
        return await exec(...args)
      } finally {
        if (first) {
          first = false
          options.nodeColumn = true
          writer.recheckTable()
        }
      }
    }
    writer.start()
    spoolRows(spool, writer, [line(1), line(2)])
    assert.equal(await writer.flush(10_000), true)
    assert.equal(writer.nodeColumn, true, 'the retry looked at the table again')
    assert.equal(server.inserts.length, 1, 'the resent batch (now with node) was deduplicated by the same token')
    assert.doesNotMatch(server.inserts[0]!.body, /"node"/, 'what landed is the first attempt, sent before the column existed')
    assert.equal(server.stored.size, 2)
    await writer.stop()
    spool.close()
  })

  it('withNodeField adds the field to each line and leaves an empty body and a missing name alone', () => {
    const body = Buffer.from(line(1) + line(2))
    assert.equal(withNodeField(body, undefined), body)
    assert.equal(withNodeField(Buffer.alloc(0), 'gw').length, 0)
    const text = withNodeField(body, 'gw.1').toString()
    assert.equal(text.split('\n').length, 3, 'two lines and the final newline')
    assert.ok(text.endsWith('"node":"gw.1"}\n'))
  })

  it('sends batches in spool order and moves the acknowledged position past each', async () => {
    const server = fakeServer({dedupToken: false})
    const {spool, writer} = writerWith(server.connection, 3)
    writer.start()
    spoolRows(spool, writer, Array.from({length: 7}, (_, i) => line(i + 1)))
    assert.equal(await writer.flush(5000), true)
    assert.deepEqual(server.inserts.map((insert) => insert.body), [line(1) + line(2) + line(3), line(4) + line(5) + line(6), line(7)])
    assert.equal(writer.pendingRows, 0)
    assert.deepEqual(readSpoolState(dir), {acked: spool.active, inflight: null})
    await writer.stop()
    spool.close()
  })

  it('token mode: a batch whose acknowledgement was lost is resent with the same bytes and token, and lands once', async () => {
    const server = fakeServer({dedupToken: true, failures: ['lost-ack']})
    const {spool, writer} = writerWith(server.connection, 10)
    writer.start()
    spoolRows(spool, writer, Array.from({length: 4}, (_, i) => line(i + 1)))
    assert.equal(await writer.flush(10_000), true)
    assert.equal(writer.dedup, 'token')
    assert.equal(writer.failedAttempts, 1)
    assert.equal(server.inserts.length, 1, 'the retry was deduplicated by its token')
    assert.match(server.inserts[0]!.token ?? '', /^[0-9a-f]{64}$/)
    assert.equal(server.stored.size, 4)
    await writer.stop()
    spool.close()
  })

  it('verify mode: after a lost acknowledgement only the rows ClickHouse lacks are sent again', async () => {
    const server = fakeServer({dedupToken: false, failures: ['lost-ack']})
    const {spool, writer} = writerWith(server.connection, 10)
    writer.start()
    spoolRows(spool, writer, Array.from({length: 4}, (_, i) => line(i + 1)))
    assert.equal(await writer.flush(10_000), true)
    assert.equal(writer.dedup, 'verify')
    assert.equal(server.inserts.length, 1, 'nothing left to resend: all four were stored by the first attempt')
    assert.equal(writer.rowsWritten, 0, 'the retry wrote nothing new')
    await writer.stop()
    spool.close()
  })

  it('waits for beforeTrim (the journal\'s end records) before it deletes an acknowledged segment, and only then', async () => {
    const server = fakeServer({dedupToken: false})
    const spool = new CdrSpool(dir, {segmentMaxBytes: line(1).length * 2})
    spool.open()
    const seenByHook: number[][] = []
    const writer = new ClickHouseCdrWriter({
      spool, connection: server.connection, batchSize: 2, flushIntervalMs: 50, metrics: createMetricsRegistry().families, log: pino({level: 'silent'}),
      beforeTrim: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20))
        seenByHook.push(listSegments(dir))
      },
    })
    writer.start()
    spoolRows(spool, writer, Array.from({length: 7}, (_, i) => line(i + 1)))
    assert.equal(await writer.flush(5000), true)
    assert.ok(seenByHook.length >= 1, 'segments were trimmed, so the hook ran')
    assert.equal(seenByHook[0]?.[0], 1, 'the first segment was still there while the hook ran')
    assert.ok(listSegments(dir)[0]! > 1, 'and was deleted after it')
    await writer.stop()
    spool.close()

    // Nothing to delete: no hook.
    const quiet = fakeServer({dedupToken: false})
    let calls = 0
    const single = new CdrSpool(join(dir, 'single'))
    single.open()
    const second = new ClickHouseCdrWriter({spool: single, connection: quiet.connection, batchSize: 2, flushIntervalMs: 50, metrics: createMetricsRegistry().families, log: pino({level: 'silent'}), beforeTrim: async () => void (calls += 1)})
    second.start()
    spoolRows(single, second, [line(1), line(2), line(3)])
    assert.equal(await second.flush(5000), true)
    assert.equal(calls, 0)
    await second.stop()
    single.close()
  })

  it('a Distributed (or any non-deduplicating) table falls back to the call_sid check even on a token-capable server', async () => {
    const server = fakeServer({dedupToken: true, engine: 'Distributed'})
    const {spool, writer} = writerWith(server.connection, 10)
    writer.start()
    spoolRows(spool, writer, [line(1)])
    assert.equal(await writer.flush(5000), true)
    assert.equal(writer.dedup, 'verify')
    assert.equal(server.inserts[0]!.token, undefined)
    await writer.stop()
    spool.close()
  })

  it('keeps rows and reports the error while the server refuses connections, then delivers them', async () => {
    const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), {code: 'ECONNREFUSED'})
    const server = fakeServer({dedupToken: false, failures: [refused(), refused()]})
    const {spool, writer} = writerWith(server.connection, 1)
    writer.start()
    spoolRows(spool, writer, [line(1)])
    assert.equal(await writer.flush(0), false)
    assert.equal(writer.pendingRows, 1)
    assert.equal(writer.lastError?.error.code, 'CC_ERR_CLICKHOUSE_UNREACHABLE')
    assert.ok(writer.nextRetryAt && writer.nextRetryAt.getTime() > Date.now() - 1000)
    assert.deepEqual(readSpoolState(dir)?.inflight?.rows, 1, 'the batch is recorded as in flight before it is sent')
    assert.equal(await writer.flush(10_000), true)
    assert.equal(server.stored.size, 1)
    assert.equal(server.inserts.length, 1)
    await writer.stop()
    spool.close()
  })

  it('sets a line ClickHouse cannot parse aside in rejected.ndjson and delivers the rest of its batch', async () => {
    const server = fakeServer({dedupToken: false})
    const {spool, writer} = writerWith(server.connection, 10)
    writer.start()
    spoolRows(spool, writer, [line(1), 'garbage from a damaged disk\n', line(2)])
    assert.equal(await writer.flush(5000), true)
    assert.deepEqual([...server.stored].sort(), [sid(1), sid(2)])
    assert.equal(readFileSync(join(dir, 'rejected.ndjson'), 'utf8'), 'garbage from a damaged disk\n')
    assert.equal(writer.pendingRows, 0)
    await writer.stop()
    spool.close()
  })
})
