// Crash-safe billing with real peers: SIPp places 300 calls at 30 calls/s,
// each up for 3 s, through the default echo dialplan; meanwhile the daemon is
// SIGKILLed and restarted on the same home and ports, Debian's
// clickhouse-server is killed and restarted, and the daemon is killed again as
// a host crash would (the journal ends in a record cut short). At the end
// every call SIPp saw answered has exactly one CDR in ClickHouse, and no call
// has two.
import assert from 'node:assert/strict'
import {appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {decodeJournal, encodeRecord, journalPath} from '../../../../../src/cdr/journal-format.js'
import {freePort, TestHome} from '../../../../helpers/cli.js'
import {TestClickHouse} from '../../../../helpers/clickhouse.js'
import {sleep, waitFor} from '../../../../helpers/gateway.js'
import {runSipp, uacShortCall, type SippRun} from '../../../../helpers/peers.js'

const clickhouse = new TestClickHouse()
const TABLE = 'default.telephony_cdrs'
const CALLS = 300
const RATE = 30
const HOLD_MS = 3000

before(() => clickhouse.start())
after(() => clickhouse.cleanup())

/**
 * Each call dials its own number (+17770<call number>), which its CDR's
 * to_number carries, and logs it once SIPp has the 200 OK: that is how a CDR
 * is matched to what the caller saw, across three daemon processes.
 */
const scenario = uacShortCall(HOLD_MS)
  .replaceAll('[service]', '+17770[call_number]')
  .replace('<recv response="200" rtd="true"/>', '<recv response="200" rtd="true"><action><log message="answered +17770[call_number]"/></action></recv>')

const config = (sipPort: number, metricsPort: number) => `sip:
  listen:
    - { transport: udp, address: 127.0.0.1, port: ${sipPort} }
    - { transport: tcp, address: 127.0.0.1, port: ${sipPort} }
metrics:
  listen: 127.0.0.1:${metricsPort}
tracing:
  enabled: false
cdr:
  clickhouse: { url: "${clickhouse.url}" }
  batch_size: 20
  flush_interval_ms: 200
  journal:
    checkpoint_interval_ms: 1000
`

const daemonPid = (home: TestHome): number => Number(readFileSync(home.path('daemon.pid'), 'utf8').trim())

const start = async (home: TestHome): Promise<void> => {
  const started = await home.json(['start'])
  assert.equal(started.code, 0, JSON.stringify(started.body))
}

const kill = async (home: TestHome): Promise<void> => {
  const pid = daemonPid(home)
  process.kill(pid, 'SIGKILL')
  await waitFor(`daemon ${pid} to die`, () => {
    try {
      process.kill(pid, 0)
      return undefined
    } catch {
      return true
    }
  })
}

/** What a power loss during a write leaves: the journal ends in a record cut short (no newline, half its bytes). */
const tearJournalTail = (home: TestHome): void => {
  const path = journalPath(home.path('journal'))
  const lines = readFileSync(path).toString('utf8').split('\n').filter((line) => line.length > 0)
  const last = lines.at(-1) ?? encodeRecord({kind: 'end', call_sids: [`CA${'f'.repeat(32)}`]}).toString('utf8')
  appendFileSync(path, last.slice(0, Math.floor(last.length / 2)))
}

interface LogLine {
  readonly msg: string
  readonly recovered?: number
  readonly alreadySpooled?: number
  readonly tornTail?: boolean
}

describe('crash-safe billing', () => {
  const home = new TestHome()
  const sippDir = mkdtempSync(join(tmpdir(), 'cc-billing-'))
  let sipp: SippRun | undefined
  after(async () => {
    // A failed assertion must not leave SIPp calling until its own timeout.
    sipp?.stop()
    await home.cleanup()
    rmSync(sippDir, {recursive: true, force: true})
  })

  it('gives every call SIPp saw answered exactly one CDR across a SIGKILL, a ClickHouse restart and a host crash', {timeout: 150_000}, async () => {
    const sipPort = await freePort()
    const metricsPort = await freePort()
    home.writeConfig(config(sipPort, metricsPort))
    await start(home)
    const migrated = await home.json(['cdr', 'migrate'])
    assert.equal(migrated.code, 0, JSON.stringify(migrated.body))
    await clickhouse.query(`TRUNCATE TABLE ${TABLE}`)

    /** Calls the running daemon ended normally, and calls up now (its metrics: each restart starts from 0). */
    const progress = async (): Promise<{completed: number; active: number}> => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text().catch(() => '')
      const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0)
      return {completed: sum(/^clutchcall_calls_total\{[^}]*result="completed"[^}]*\} (\d+)/gm), active: sum(/^clutchcall_calls_active\{[^}]*\} (\d+)/gm)}
    }
    /** Kills when this daemon has ended some calls normally and holds many more: both kinds must come through. */
    const whenBusy = (what: string) =>
      waitFor(what, async () => {
        const now = await progress().catch(() => ({completed: 0, active: 0}))
        return now.completed >= 15 && now.active >= 20 ? now : undefined
      }, 40_000)

    const answeredLog = join(sippDir, 'answered.log')
    const began = Date.now()
    sipp = await runSipp({
      scenarioXml: scenario,
      target: `127.0.0.1:${sipPort}`,
      calls: CALLS,
      timeoutS: 90,
      // A call left waiting by a dead daemon (after its 100 Trying) gives up after 10 s instead of holding the run.
      extraArgs: ['-r', String(RATE), '-recv_timeout', '10000', '-trace_logs', '-log_file', answeredLog],
    })

    // 1. The daemon is SIGKILLed with calls up, and restarted at once on the same home and ports
    //    (meanwhile SIPp's INVITEs are retransmitted and answered by the new daemon).
    await whenBusy('calls on the first daemon')
    await kill(home)
    await start(home)

    // 2. ClickHouse dies and comes back while CDRs keep coming.
    await clickhouse.stop()
    await sleep(1500)
    await clickhouse.start()

    // 3. The host "crashes": the daemon dies in the middle of a journal write.
    await whenBusy('calls on the second daemon')
    await kill(home)
    tearJournalTail(home)
    const tornJournal = readFileSync(journalPath(home.path('journal')))
    assert.ok(decodeJournal(tornJournal).damaged.some((range) => range.reason === 'torn'))
    // With the daemon down, `cdr status` says what the next start will do.
    const offline = await home.json(['cdr', 'status'])
    assert.equal(offline.code, 0, JSON.stringify(offline.body))
    const waiting = offline.body.result.journal.calls as number
    assert.ok(waiting >= 20, `calls journaled at the host crash: ${waiting}`)
    await start(home)
    const running = await home.json(['cdr', 'status'])
    const recoveredAtStart = running.body.result.journal.recoveredAtStart as number
    assert.ok(recoveredAtStart > 0 && recoveredAtStart <= waiting, `${recoveredAtStart} recovered of ${waiting} journaled (the rest had their rows in the spool)`)

    const {output} = await sipp.done
    const answered = new Set([...readFileSync(answeredLog, 'utf8').matchAll(/answered (\+17770\d+)/g)].map((match) => match[1]!))
    assert.ok(answered.size >= CALLS * 0.8, `SIPp saw only ${answered.size} calls answered:\n${output}`)

    const flushed = await home.json(['cdr', 'flush', '--timeout', '60'])
    assert.equal(flushed.code, 0, JSON.stringify(flushed.body))

    const rows = await clickhouse.rows<{to_number: string; n: string; answered: string; recovered: string}>(
      `SELECT to_number, count() AS n, countIf(isNotNull(answer_timestamp_ms)) AS answered, countIf(status = 'failed' AND q850_cause = 41) AS recovered FROM ${TABLE} GROUP BY to_number`,
    )
    const byNumber = new Map(rows.map((row) => [row.to_number, {rows: Number(row.n), answered: Number(row.answered), recovered: Number(row.recovered)}]))
    const missing = [...answered].filter((number) => byNumber.get(number) === undefined)
    const doubled = [...answered].filter((number) => (byNumber.get(number)?.rows ?? 0) > 1)
    assert.deepEqual(missing, [], `answered calls without a CDR (${answered.size} answered)`)
    const doubledRows = doubled.length === 0 ? [] : await clickhouse.rows(`SELECT call_sid, to_number, status, q850_cause, start_timestamp_ms, answer_timestamp_ms, end_timestamp_ms FROM ${TABLE} WHERE to_number IN (${doubled.map((number) => `'${number}'`).join(',')}) ORDER BY to_number`)
    assert.deepEqual(doubled, [], `answered calls with more than one CDR: ${JSON.stringify(doubledRows)}`)
    for (const number of answered) assert.equal(byNumber.get(number)?.answered, 1, `${number}'s CDR has its answer time`)
    for (const [number, counts] of byNumber) assert.ok(counts.answered <= 1, `${number} billed ${counts.answered} times`)
    const duplicates = await clickhouse.rows(`SELECT call_sid, count() AS n FROM ${TABLE} GROUP BY call_sid HAVING n > 1`)
    assert.deepEqual(duplicates, [], 'no call_sid is stored twice')

    // The calls up at each kill came back from the journal, as the recovered CDRs of DESIGN: failed, cause 41.
    const recoveredRows = [...byNumber.values()].reduce((total, counts) => total + counts.recovered, 0)
    const log = readFileSync(home.path('daemon.log'), 'utf8').split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine)
    const recoveries = log.filter((line) => typeof line.recovered === 'number')
    assert.equal(recoveries.length, 2, 'one recovery per unexpected death')
    assert.ok(recoveries.every((line) => (line.recovered ?? 0) >= 10), `calls were up at each kill: ${JSON.stringify(recoveries)}`)
    const completedRows = rows.filter((row) => Number(row.recovered) === 0 && Number(row.answered) === 1).length
    assert.ok(completedRows >= 30, `calls that ended normally on the first two daemons: ${completedRows}`)
    assert.equal(recoveredRows, recoveries.reduce((total, line) => total + (line.recovered ?? 0), 0), 'every recovered CDR reached ClickHouse once')
    assert.ok(log.some((line) => line.tornTail === true), 'the torn record was reported')
    assert.ok(readdirSync(home.path('journal')).some((name) => name.includes('.damaged-')), 'the damaged journal was kept aside')
    const [failedDurations] = await clickhouse.rows<{bad: string}>(
      `SELECT countIf(end_timestamp_ms < answer_timestamp_ms OR duration_seconds > 20) AS bad FROM ${TABLE} WHERE status = 'failed' AND q850_cause = 41`,
    )
    assert.equal(Number(failedDurations?.bad), 0, 'a recovered CDR ends at its last checkpoint, after its answer')

    // A graceful stop ends with an empty journal.
    const stopped = await home.json(['stop', '--timeout', '10'])
    assert.equal(stopped.code, 0, JSON.stringify(stopped.body))
    assert.ok(existsSync(journalPath(home.path('journal'))))
    assert.equal(statSync(journalPath(home.path('journal'))).size, 0)
    const statuses = await clickhouse.rows<{status: string; q850_cause: number; n: string}>(`SELECT status, q850_cause, count() AS n FROM ${TABLE} GROUP BY status, q850_cause ORDER BY status, q850_cause`)
    process.stdout.write(`# ${answered.size} calls answered by SIPp; CDRs by status and cause: ${statuses.map((row) => `${row.status}/${row.q850_cause}: ${row.n}`).join(', ')}; recovered at each restart: ${recoveries.map((line) => line.recovered).join(', ')}; ${Date.now() - began} ms\n`)
  })
})
