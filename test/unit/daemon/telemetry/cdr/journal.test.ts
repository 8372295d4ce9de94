// The active-call journal and its recovery, on real files: what a daemon that
// dies (the process abandoned mid-run, the file cut short) leaves behind, and
// what the next start makes of it.
import assert from 'node:assert/strict'
import {appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {setImmediate as nextTurn} from 'node:timers/promises'
import pino, {type Logger} from 'pino'
import {Registry} from 'prom-client'
import {cdrLine} from '../../../../../src/cdr/columns.js'
import {compactingPath, decodeJournal, encodeRecord, journalPath, type JournaledCall, type JournalRecord} from '../../../../../src/cdr/journal-format.js'
import type {Config} from '../../../../../src/config/schema.js'
import {Call} from '../../../../../daemon/calls/call.js'
import {CallRegistry} from '../../../../../daemon/calls/registry.js'
import {ActiveCallJournal} from '../../../../../daemon/telemetry/cdr/journal.js'
import {recoverJournal, type RecoveryResult} from '../../../../../daemon/telemetry/cdr/journal-recovery.js'
import {CdrSink} from '../../../../../daemon/telemetry/cdr/sink.js'
import {CdrSpool} from '../../../../../daemon/telemetry/cdr/spool.js'
import {createMetricFamilies} from '../../../../../daemon/telemetry/metrics/families.js'

let home = ''
let spoolDir = ''
let journalDir = ''
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'cc-journal-'))
  spoolDir = join(home, 'cdr-spool')
  journalDir = join(home, 'journal')
})
afterEach(() => rmSync(home, {recursive: true, force: true}))

const capturingLog = (): {log: Logger; lines: Array<Record<string, unknown>>} => {
  const lines: Array<Record<string, unknown>> = []
  const log = pino({level: 'info'}, {write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>)})
  return {log, lines}
}

const silent = pino({level: 'silent'})
const quality = {codec: 'PCMA', packetsSent: 250, packetsReceived: 248, packetsLost: 2, bytesSent: 43_000, lossRatio: 0, jitterMs: 1.5, rttMs: null, estimatedMos: 4.39}

/** What a running daemon has for CDRs: a spool, the journal, and the sink's two steps on hangup (row, then `ended`). */
class Daemon {
  readonly calls = new CallRegistry()
  readonly spool = new CdrSpool(spoolDir)
  readonly journal: ActiveCallJournal
  readonly recovery: RecoveryResult
  readonly logLines: Array<Record<string, unknown>>

  constructor(options: {compactBytes?: number} = {}) {
    const {log, lines} = capturingLog()
    this.logLines = lines
    this.spool.open()
    this.recovery = recoverJournal({journalDir, spool: this.spool, log})
    // The timer never fires in a test: checkpoints are asked for.
    this.journal = new ActiveCallJournal({dir: journalDir, checkpointIntervalMs: 3_600_000, calls: this.calls, spool: this.spool, log, ...options})
    this.journal.start()
    this.calls.on('CHANNEL_HANGUP_COMPLETE', (event) => {
      this.spool.append(cdrLine(event))
      this.journal.ended(event.call_sid)
    })
  }

  /** An inbound call answered the way SIP answers: `answering` before the 200 OK, the confirmed answer with the ACK; then the group commit. */
  async connect(to: string): Promise<Call> {
    const call = new Call({tenant: 'acme', trunk: 'carrier-a', direction: 'inbound', from: '+15550001111', to, sipCallId: `${to}@test`}, this.calls, silent)
    call.answering('PCMA')
    await this.journal.commit()
    call.answered('PCMA')
    call.qualityUpdate(quality)
    return call
  }
}

const journalRecords = (): JournalRecord[] => decodeJournal(readFileSync(journalPath(journalDir))).records
const spoolRows = (): Array<{call_sid: string; status: string; q850_cause: number; end_timestamp_ms: string; to_number: string}> => {
  const rows = []
  for (const name of readdirSync(spoolDir).filter((entry) => entry.startsWith('seg-'))) {
    for (const line of readFileSync(join(spoolDir, name), 'utf8').split('\n')) if (line) rows.push(JSON.parse(line))
  }
  return rows
}
const rowsOf = (sid: string) => spoolRows().filter((row) => row.call_sid === sid)

describe('the active-call journal', () => {
  it('has an answer in the file as soon as `answering` returns (before the 200 OK leaves), on disk at the next group commit', async () => {
    const daemon = new Daemon()
    const call = new Call({tenant: 'acme', trunk: 'carrier-a', direction: 'inbound', from: '+15550001111', to: '+15550000001', sipCallId: 'a@test'}, daemon.calls, silent)
    call.answering('PCMA')
    assert.equal(journalRecords().length, 1, 'written synchronously: a SIGKILL right after the 200 OK keeps it')
    assert.equal(daemon.journal.counters.fsyncs, 0)
    await daemon.journal.commit()
    const [record] = journalRecords()
    assert.equal(record?.kind, 'answer')
    assert.ok(record?.kind === 'answer')
    assert.equal(record.call.call_sid, call.sid)
    assert.equal(record.call.to_number, '+15550000001')
    assert.equal(record.call.tenant_id, 'acme')
    assert.equal(record.call.codec, 'PCMA')
    assert.ok(record.call.answer_timestamp_ms >= call.record.start_timestamp_ms)
    assert.equal(daemon.journal.counters.fsyncs, 1)
    assert.equal(statSync(journalPath(journalDir)).mode & 0o777, 0o600)
    assert.equal(statSync(journalDir).mode & 0o777, 0o700)
  })

  it('shares one fsync among the answers of one moment', async () => {
    const daemon = new Daemon()
    await Promise.all(Array.from({length: 50}, (_, n) => daemon.connect(`+1555100${n}`)))
    assert.equal(journalRecords().filter((record) => record.kind === 'answer').length, 50)
    assert.ok(daemon.journal.counters.fsyncs <= 5, `50 answers took ${daemon.journal.counters.fsyncs} fsyncs`)
  })

  it('after a crash, gives the connected call exactly one CDR (failed, 41, ending at its last checkpoint) and the ended one none more', async () => {
    const first = new Daemon()
    const connected = await first.connect('+15550000002')
    const ended = await first.connect('+15550000003')
    ended.finish({cause: 16, status: 'completed'})
    await first.journal.requestCheckpoint()
    const checkpoint = journalRecords().findLast((record) => record.kind === 'checkpoint')
    assert.ok(checkpoint?.kind === 'checkpoint')
    assert.deepEqual(checkpoint.calls.map((call) => call.call_sid), [connected.sid], 'the ended call left the journal')
    assert.ok(journalRecords().some((record) => record.kind === 'end' && record.call_sids.includes(ended.sid)))
    // The daemon dies here: nothing more is written.

    const second = new Daemon()
    assert.deepEqual(second.recovery.recovered.map((record) => record.call_sid), [connected.sid])
    const [recovered] = rowsOf(connected.sid)
    assert.equal(rowsOf(connected.sid).length, 1)
    assert.equal(recovered?.status, 'failed')
    assert.equal(recovered?.q850_cause, 41)
    assert.equal(recovered?.end_timestamp_ms, new Date(checkpoint.at_ms).toISOString())
    assert.equal(rowsOf(ended.sid).length, 1)
    assert.equal(rowsOf(ended.sid)[0]?.status, 'completed')
    assert.deepEqual(journalRecords(), [], 'the next start begins an empty journal')
    assert.ok(second.logLines.some((line) => line.recovered === 1))

    // And a third start has nothing left to recover.
    const third = new Daemon()
    assert.equal(third.recovery.recovered.length, 0)
    assert.equal(rowsOf(connected.sid).length, 1)
  })

  it('writes no second row when the daemon died between the spool row and the end record', async () => {
    const first = new Daemon()
    const call = await first.connect('+15550000004')
    call.finish({cause: 16, status: 'completed'})
    assert.ok(!journalRecords().some((record) => record.kind === 'end'), 'the end record waits for the next checkpoint')

    const second = new Daemon()
    assert.equal(second.recovery.recovered.length, 0)
    assert.equal(second.recovery.alreadySpooled, 1)
    assert.equal(rowsOf(call.sid).length, 1)
    assert.equal(rowsOf(call.sid)[0]?.status, 'completed')
  })

  it('survives a torn last record: every whole record is recovered, the file is kept aside, the log says so', async () => {
    const first = new Daemon()
    const a = await first.connect('+15550000005')
    const b = await first.connect('+15550000006')
    // The host died while a third answer was being written.
    const torn = encodeRecord({kind: 'answer', call: {...(journalRecords()[0] as {call: JournaledCall}).call, call_sid: `CA${'e'.repeat(32)}`}})
    appendFileSync(journalPath(journalDir), torn.subarray(0, 60))
    const damagedBytes = readFileSync(journalPath(journalDir))

    const second = new Daemon()
    assert.deepEqual(second.recovery.recovered.map((record) => record.call_sid).sort(), [a.sid, b.sid].sort())
    assert.deepEqual(second.recovery.damaged.map((range) => range.reason), ['torn'])
    assert.equal(second.recovery.keptAside.length, 1)
    assert.deepEqual(readFileSync(second.recovery.keptAside[0]!), damagedBytes)
    assert.ok(second.logLines.some((line) => String(line.msg).includes('cut short') && line.tornTail === true))
  })

  it('loses only the call whose own record was cut, when the crash truncated a whole record', async () => {
    const first = new Daemon()
    const a = await first.connect('+15550000007')
    const b = await first.connect('+15550000008')
    const size = statSync(journalPath(journalDir)).size
    truncateSync(journalPath(journalDir), size - 25)

    const second = new Daemon()
    assert.deepEqual(second.recovery.recovered.map((record) => record.call_sid), [a.sid])
    assert.equal(rowsOf(b.sid).length, 0)
  })

  it('starts on a journal that is garbage from end to end', () => {
    new Daemon()
    writeFileSync(journalPath(journalDir), Buffer.from([0, 1, 2, 10, 255, 254, 10, 0, 0]))
    const daemon = new Daemon()
    assert.equal(daemon.recovery.recovered.length, 0)
    assert.equal(daemon.recovery.damaged.length, 3)
  })

  it('compacts to the connected calls only, losing nothing appended while it runs', async () => {
    const first = new Daemon({compactBytes: 1})
    const kept = await Promise.all([first.connect('+15550000010'), first.connect('+15550000011')])
    const gone = await Promise.all([first.connect('+15550000012'), first.connect('+15550000013'), first.connect('+15550000014')])
    for (const call of gone) call.finish({cause: 16, status: 'completed'})
    // Answers arrive one per turn of the event loop while checkpoints (and compactions: past four checkpoints' worth) write, fsync and rename.
    const during: Call[] = []
    for (let round = 0; round < 8; round++) {
      const checkpoint = first.journal.requestCheckpoint()
      for (let n = 0; n < 5; n++) {
        during.push(await first.connect(`+15552${round}0${n}`))
        await nextTurn()
      }
      await checkpoint
    }
    assert.ok(first.journal.counters.compactions >= 1, `${first.journal.counters.checkpoints} checkpoints, no compaction`)
    assert.ok(!existsSync(compactingPath(journalDir)))
    const records = journalRecords()
    assert.equal(records[0]?.kind, 'checkpoint', 'a compacted journal begins with a checkpoint')
    const named = new Set(records.flatMap((record) => (record.kind === 'answer' ? [record.call.call_sid] : record.kind === 'checkpoint' ? record.calls.map((call) => call.call_sid) : [])))
    for (const call of gone) assert.ok(!named.has(call.sid), 'an ended call is compacted away')
    // Bounded: past four checkpoints' worth the next checkpoint compacts (the 1-byte floor of this test aside).
    const lastCheckpoint = records.findLast((record) => record.kind === 'checkpoint')
    assert.ok(lastCheckpoint)
    assert.equal(statSync(journalPath(journalDir)).size, first.journal.sizeBytes)
    assert.ok(first.journal.sizeBytes <= 5 * encodeRecord(lastCheckpoint).length, `${first.journal.sizeBytes} bytes kept of ${first.journal.counters.bytes} appended`)
    const live = [...kept, ...during].map((call) => call.sid).sort()

    const second = new Daemon()
    assert.deepEqual(second.recovery.recovered.map((record) => record.call_sid).sort(), live)
    for (const call of gone) assert.equal(rowsOf(call.sid).length, 1)
  })

  it('reads both files when a compaction was cut short by a crash (the union, minus every ended call)', () => {
    const call = (n: number): JournaledCall => ({
      call_sid: `CA${String(n).padStart(32, '0')}`, tenant_id: 'acme', trunk_id: 'none', direction: 'inbound', from_number: '1', to_number: String(n),
      start_timestamp_ms: Date.now() - 10_000, answer_timestamp_ms: Date.now() - 9_000, codec: 'PCMU', packets_sent: 0, packets_received: 0, packets_lost: 0,
      bytes_sent: 0, jitter_ms: 0, estimated_mos: 0, recording_url: '', agent_id: '', last_seen_ms: Date.now() - 5_000,
    })
    new Daemon()
    writeFileSync(journalPath(journalDir), Buffer.concat([encodeRecord({kind: 'answer', call: call(1)}), encodeRecord({kind: 'answer', call: call(2)}), encodeRecord({kind: 'end', call_sids: [call(3).call_sid]})]))
    writeFileSync(compactingPath(journalDir), Buffer.concat([encodeRecord({kind: 'checkpoint', at_ms: Date.now(), calls: [call(2), call(3), call(4)]})]))
    const daemon = new Daemon()
    assert.deepEqual(daemon.recovery.recovered.map((record) => record.to_number).sort(), ['1', '2', '4'])
    assert.ok(!existsSync(compactingPath(journalDir)))
  })

  it('empties itself once every call has ended, and then writes and fsyncs nothing while idle', async () => {
    const daemon = new Daemon()
    const calls = await Promise.all([daemon.connect('+15550000030'), daemon.connect('+15550000031')])
    await daemon.journal.requestCheckpoint()
    assert.ok(statSync(journalPath(journalDir)).size > 0)
    for (const call of calls) call.finish({cause: 16, status: 'completed'})
    await daemon.journal.requestCheckpoint()
    assert.equal(statSync(journalPath(journalDir)).size, 0)
    const fsyncs = daemon.journal.counters.fsyncs
    for (let n = 0; n < 3; n++) await daemon.journal.requestCheckpoint()
    assert.equal(daemon.journal.counters.fsyncs, fsyncs)
    assert.equal(statSync(journalPath(journalDir)).size, 0)
    // Appends after the truncation start at the beginning of the file, not after a hole.
    const next = await daemon.connect('+15550000032')
    const records = journalRecords()
    assert.equal(records.length, 1)
    assert.ok(records[0]?.kind === 'answer' && records[0].call.call_sid === next.sid)
    assert.deepEqual(decodeJournal(readFileSync(journalPath(journalDir))).damaged, [])
  })

  it('is empty after a graceful stop; a call still connected at stop stays for the next start', async () => {
    const first = new Daemon()
    const call = await first.connect('+15550000020')
    call.finish({cause: 16, status: 'completed'})
    await first.journal.stop()
    assert.equal(statSync(journalPath(journalDir)).size, 0)

    const second = new Daemon()
    const left = await second.connect('+15550000021')
    await second.journal.stop()
    assert.ok(statSync(journalPath(journalDir)).size > 0)
    const third = new Daemon()
    assert.deepEqual(third.recovery.recovered.map((record) => record.call_sid), [left.sid])
  })
})

describe('the CDR sink with its journal', () => {
  const config = (): Config['cdr'] => ({enabled: true, batch_size: 1000, flush_interval_ms: 1000, retention_days: 90, journal: {enabled: true, checkpoint_interval_ms: 100}})
  const sink = (calls: CallRegistry, prom = new Registry()) =>
    new CdrSink({config: config(), spoolDir, journalDir, calls, metrics: createMetricFamilies(prom), log: silent})

  it('journals answers, recovers them at the next start (counted in a metric), and ends with an empty journal after a stop', async () => {
    const calls = new CallRegistry()
    sink(calls).start()
    const call = new Call({tenant: 'acme', trunk: 'none', direction: 'inbound', from: '1', to: '2', sipCallId: 'x@test'}, calls, silent)
    call.answering('PCMU')
    call.answered('PCMU')
    // The daemon dies: the first sink is abandoned as it is.

    const prom = new Registry()
    const restarted = sink(new CallRegistry(), prom)
    restarted.start()
    assert.equal(rowsOf(call.sid).length, 1)
    assert.equal(rowsOf(call.sid)[0]?.status, 'failed')
    assert.match(await prom.metrics(), /^clutchcall_cdr_recovered_calls_total 1$/m)
    assert.equal(restarted.status().rowsWritten, 1)
    assert.deepEqual(restarted.status().journal, {path: journalPath(journalDir), bytes: 0, calls: 0, recoveredAtStart: 1})
    await restarted.stop()
    assert.equal(statSync(journalPath(journalDir)).size, 0)
  })

  it('writes no journal with cdr.journal.enabled false', () => {
    const off = new CdrSink({config: {...config(), journal: {enabled: false, checkpoint_interval_ms: 5000}}, spoolDir, journalDir, calls: new CallRegistry(), metrics: createMetricFamilies(new Registry()), log: silent})
    off.start()
    assert.ok(!existsSync(journalDir))
    return off.stop()
  })
})
