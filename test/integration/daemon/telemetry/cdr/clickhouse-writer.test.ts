// CDRs from real calls (SIPp through the gateway) into a real clickhouse-server
// (Debian's 18.16): values match the calls, and every call has exactly one row
// across a ClickHouse outage, a daemon SIGKILL, and a batch that landed before
// its acknowledgement was lost.
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import type {ChannelHangupComplete} from '../../../../../src/calls/events.js'
import {cdrLine} from '../../../../../src/cdr/columns.js'
import type {CdrRecord} from '../../../../../src/cdr/record.js'
import {segmentPath, stateFilePath} from '../../../../../src/cdr/spool-files.js'
import {TestClickHouse} from '../../../../helpers/clickhouse.js'
import {sleep, TestGateway, waitFor} from '../../../../helpers/gateway.js'
import {runSipp, uacExpectingRefusal, uacShortCall, uacWithAudio} from '../../../../helpers/peers.js'

const clickhouse = new TestClickHouse()
const TABLE = 'default.telephony_cdrs'

const cdrYaml = (batchSize: number, flushMs: number) => `tenants:
  - { id: acme, dialplan: default }
  - { id: busy, dialplan: busy-plan }
trunks:
  - id: carrier-a
    tenant: acme
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555*"] }
  - id: carrier-b
    tenant: busy
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1666*"] }
dialplans:
  busy-plan:
    start: busy
    nodes:
      busy: { type: hangup, cause: 17 }
cdr:
  clickhouse: { url: "${clickhouse.url}" }
  batch_size: ${batchSize}
  flush_interval_ms: ${flushMs}
`

interface StoredRow extends Omit<CdrRecord, 'start_timestamp_ms' | 'answer_timestamp_ms' | 'end_timestamp_ms'> {
  start_timestamp_ms: number
  answer_timestamp_ms: number | null
  end_timestamp_ms: number
}

/** Rows with timestamps as epoch seconds ×1000 (18.16 has DateTime, so milliseconds are dropped). */
const storedRows = async (where = '1'): Promise<StoredRow[]> =>
  clickhouse.rows<StoredRow>(
    `SELECT *, toUnixTimestamp(start_timestamp_ms) * 1000 AS start_timestamp_ms, if(isNull(answer_timestamp_ms), NULL, toUnixTimestamp(assumeNotNull(answer_timestamp_ms)) * 1000) AS answer_timestamp_ms, toUnixTimestamp(end_timestamp_ms) * 1000 AS end_timestamp_ms FROM ${TABLE} WHERE ${where}`,
  )

const countBySid = async (where = '1'): Promise<Map<string, number>> => {
  const rows = await clickhouse.rows<{call_sid: string; n: string}>(`SELECT call_sid, count() AS n FROM ${TABLE} WHERE ${where} GROUP BY call_sid`)
  return new Map(rows.map((row) => [row.call_sid, Number(row.n)]))
}

const hangups = (gateway: TestGateway): ChannelHangupComplete[] => gateway.events.filter((event): event is ChannelHangupComplete => event.type === 'CHANNEL_HANGUP_COMPLETE')

before(async () => {
  await clickhouse.start()
})

after(() => clickhouse.cleanup())

const migrate = async (gateway: TestGateway): Promise<void> => {
  const migrated = await gateway.home.json(['cdr', 'migrate'])
  assert.equal(migrated.code, 0, JSON.stringify(migrated.body))
  await clickhouse.query(`TRUNCATE TABLE ${TABLE}`)
}

describe('CDR rows in ClickHouse', () => {
  const gateway = new TestGateway()
  before(async () => {
    await gateway.start(cdrYaml(100, 100))
    await migrate(gateway)
  })
  after(() => gateway.stop())

  it('one row per call, whose values match the call: echo with audio, and a busy refusal', async () => {
    const talk = await runSipp({scenarioXml: uacWithAudio(), target: gateway.sip, service: '+15550001000'})
    const busy = await runSipp({scenarioXml: uacExpectingRefusal(486), target: gateway.sip, service: '+16660002000'})
    for (const peer of [talk, busy]) {
      const {code, output} = await peer.done
      assert.equal(code, 0, output)
    }
    const answered = await gateway.hangupOf('+15550001000')
    const refused = await gateway.hangupOf('+16660002000')
    const flushed = await gateway.home.json(['cdr', 'flush'])
    assert.equal(flushed.code, 0, JSON.stringify(flushed.body))
    assert.equal(flushed.body.result.pendingRows, 0)
    assert.equal(flushed.body.result.dedup, 'verify', '18.16 has no insert_deduplication_token')

    for (const event of [answered, refused]) {
      const rows = await storedRows(`call_sid = '${event.call_sid}'`)
      assert.equal(rows.length, 1, `one row for ${event.call_sid}`)
      const row = rows[0]!
      for (const column of ['tenant_id', 'trunk_id', 'direction', 'from_number', 'to_number', 'status', 'codec', 'recording_url', 'agent_id'] as const) {
        assert.equal(row[column], event[column], column)
      }
      for (const column of ['duration_seconds', 'q850_cause', 'packets_sent', 'packets_received', 'packets_lost'] as const) assert.equal(Number(row[column]), event[column], column)
      assert.equal(Number(row.bytes_sent), event.bytes_sent, 'bytes_sent')
      const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000) * 1000)
      assert.equal(Number(row.start_timestamp_ms), seconds(event.start_timestamp_ms), 'start (whole seconds on 18.16)')
      assert.equal(Number(row.end_timestamp_ms), seconds(event.end_timestamp_ms), 'end')
      assert.equal(row.answer_timestamp_ms === null ? null : Number(row.answer_timestamp_ms), seconds(event.answer_timestamp_ms), 'answer')
      assert.ok(Math.abs(Number(row.jitter_ms) - event.jitter_ms) < 1e-3, `jitter ${row.jitter_ms} vs ${event.jitter_ms}`)
      assert.ok(Math.abs(Number(row.estimated_mos) - event.estimated_mos) < 1e-3, `MOS ${row.estimated_mos} vs ${event.estimated_mos}`)
    }
    assert.equal(answered.status, 'completed')
    assert.equal(answered.tenant_id, 'acme')
    assert.equal(answered.trunk_id, 'carrier-a')
    assert.equal(answered.direction, 'inbound')
    assert.ok(answered.packets_received > 200 && answered.packets_sent > 200, `audio both ways: ${answered.packets_received}/${answered.packets_sent}`)
    assert.ok(answered.estimated_mos > 4, `MOS ${answered.estimated_mos}`)
    assert.equal(refused.status, 'busy')
    assert.equal(refused.q850_cause, 17)
    assert.equal(refused.trunk_id, 'carrier-b')
    assert.equal(refused.answer_timestamp_ms, null)
    assert.equal(await gateway.metric(/^clutchcall_cdr_rows_written_total (\d+)/m), 2)
  })

  it('keeps every row through a ClickHouse outage: exactly one row per call once it is back', async () => {
    const before = hangups(gateway).length
    const calls = await runSipp({scenarioXml: uacShortCall(200), target: gateway.sip, service: '+15550003000', calls: 30, extraArgs: ['-r', '10', '-l', '10']})
    await sleep(1000)
    await clickhouse.stop()
    const down = await waitFor('a failed insert', async () => {
      const status = await gateway.home.json(['cdr', 'status'])
      return status.body.result.lastError ? status.body.result : undefined
    })
    assert.equal(down.lastError.code, 'CC_ERR_CLICKHOUSE_UNREACHABLE')
    const {code, output} = await calls.done
    assert.equal(code, 0, output)
    await waitFor('30 hangups', () => (hangups(gateway).length - before >= 30 ? true : undefined))
    const stuck = await gateway.home.json(['cdr', 'status'])
    assert.ok(stuck.body.result.pendingRows > 0, 'rows wait in the spool while ClickHouse is down')
    assert.match(stuck.body.result.oldestPendingAt, /^\d{4}-\d\d-\d\dT/)

    const failedFlush = await gateway.home.json(['cdr', 'flush', '--timeout', '1'])
    assert.equal(failedFlush.code, 1)
    assert.equal(failedFlush.body.error?.code, 'CC_ERR_CDR_FLUSH_INCOMPLETE')

    await clickhouse.start()
    const flushed = await gateway.home.json(['cdr', 'flush', '--timeout', '60'])
    assert.equal(flushed.code, 0, JSON.stringify(flushed.body))
    const counts = await countBySid("to_number = '+15550003000'")
    const sids = hangups(gateway).filter((event) => event.to_number === '+15550003000').map((event) => event.call_sid)
    assert.equal(sids.length, 30)
    for (const sid of sids) assert.equal(counts.get(sid), 1, `exactly one row for ${sid}`)
    assert.equal(counts.size, 30, 'no other rows for these calls')
    assert.ok((await gateway.metric(/^clutchcall_cdr_insert_errors_total (\d+)/m)) >= 1)
  })
})

describe('a daemon killed in the middle of a run of calls', () => {
  const gateway = new TestGateway()
  before(async () => {
    // One row per batch, sent at once: the kill lands among many inserts, some of them in flight.
    await gateway.start(cdrYaml(1, 10))
    await migrate(gateway)
  })
  after(() => gateway.stop())

  it('restarts and every call that completed has exactly one row', async () => {
    const status = await gateway.home.json(['status'])
    const pid = status.body.result.pid as number
    const calls = await runSipp({scenarioXml: uacShortCall(100), target: gateway.sip, service: '+15550004000', calls: 200, extraArgs: ['-r', '25', '-l', '20'], timeoutS: 20})
    await waitFor('some calls completed', () => (hangups(gateway).length >= 20 ? true : undefined))
    process.kill(pid, 'SIGKILL')
    calls.stop()
    await calls.done
    await sleep(300)
    const completed = hangups(gateway).map((event) => event.call_sid)
    assert.ok(completed.length >= 20)

    const restarted = await gateway.home.json(['start'])
    assert.equal(restarted.code, 0, JSON.stringify(restarted.body))
    const flushed = await gateway.home.json(['cdr', 'flush', '--timeout', '60'])
    assert.equal(flushed.code, 0, JSON.stringify(flushed.body))
    const counts = await countBySid()
    for (const sid of completed) assert.equal(counts.get(sid), 1, `exactly one row for ${sid}`)
    for (const [sid, n] of counts) assert.equal(n, 1, `${sid} stored ${n} times`)
  })
})

describe('a batch that reached ClickHouse before the daemon died', () => {
  const gateway = new TestGateway()
  after(() => gateway.stop())

  it('is not inserted twice on restart (the call_sid check of servers without a dedup token)', async () => {
    const record = (n: number): CdrRecord => ({
      call_sid: `CA${n.toString(16).padStart(32, '0')}`, tenant_id: 'acme', trunk_id: 'carrier-a', direction: 'inbound', from_number: '+15550001111', to_number: `+1555000${n}`,
      start_timestamp_ms: Date.UTC(2026, 10, 25, 12, 0, n), answer_timestamp_ms: Date.UTC(2026, 10, 25, 12, 0, n + 1), end_timestamp_ms: Date.UTC(2026, 10, 25, 12, 1, n),
      duration_seconds: 59, q850_cause: 16, status: 'completed', codec: 'PCMU', packets_sent: 3000, packets_received: 3000, packets_lost: 0, bytes_sent: 516_000,
      jitter_ms: 1.5, estimated_mos: 4.4, recording_url: '', agent_id: '',
    })
    const lines = Array.from({length: 10}, (_, index) => cdrLine(record(index + 1)))
    const spoolDir = gateway.home.path('cdr-spool')
    mkdirSync(spoolDir, {recursive: true})
    writeFileSync(segmentPath(spoolDir, 1), lines.join(''))
    const firstFive = Buffer.byteLength(lines.slice(0, 5).join(''))
    // The daemon had sent rows 1-5 and died before ClickHouse's answer arrived.
    writeFileSync(stateFilePath(spoolDir), JSON.stringify({acked: {segment: 1, offset: 0}, inflight: {start: {segment: 1, offset: 0}, end: {segment: 1, offset: firstFive}, rows: 5}}))
    // The table and the landed rows exist before the daemon starts, so its first retry already sees them.
    gateway.home.writeConfig(cdrYaml(5, 100))
    await migrate(gateway)
    await clickhouse.query(`INSERT INTO ${TABLE} FORMAT JSONEachRow ${lines.slice(0, 5).join('')}`, {date_time_input_format: 'best_effort'})
    await gateway.start(cdrYaml(5, 100))

    const flushed = await gateway.home.json(['cdr', 'flush', '--timeout', '60'])
    assert.equal(flushed.code, 0, JSON.stringify(flushed.body))
    const counts = await countBySid()
    assert.equal(counts.size, 10)
    for (const [sid, n] of counts) assert.equal(n, 1, `${sid} stored ${n} times`)
  })
})
