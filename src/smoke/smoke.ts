// `clutchcall smoke`: the CI smoke test of a running gateway. Six checks,
// each ok, FAIL or skip with one line saying why:
//
//   daemon   daemon.status over the admin socket
//   call     one synthetic call (default: the gateway's own UDP SIP listener,
//            where the default dialplan answers and echoes) meeting thresholds
//   metrics  the metrics endpoint is a valid exposition with the DESIGN §6
//            families, and clutchcall_calls_total counted the call
//   cdr      the call's CDR is in ClickHouse (after cdr.flush) or in the spool
//   hep      capture on: HEP frames were sent for the call without errors;
//            capture off: skipped
//   trace    tracing on: the collector acknowledged spans of the call's trace
//            (the INVITE carries a traceparent with a trace id chosen here,
//            which the gateway continues); tracing off (no collector
//            configured, or switched off): skipped, saying which
//   quic     QUIC listener on and a token given: one SDK call over QUIC with
//            audio in datagrams to the same target, echoed back, with its
//            CDR event (src/smoke/quic-check.ts); otherwise skipped, saying why
//
// The call is tied to the gateway's record of it by its SIP Call-ID: the
// CHANNEL_CREATE event carries it as sip_call_id, with the call_sid the
// metrics, CDR and HEP checks look for.
import {randomBytes} from 'node:crypto'
import {closeSync, openSync, readSync, statSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {AdminClient} from '../admin/client.js'
import type {DaemonStatus, HepStatus, TracingTraceResult} from '../admin/protocol.js'
import type {CallEvent, ChannelCreate, ChannelHangupComplete} from '../calls/events.js'
import {CALL_SID_PATTERN} from '../cdr/record.js'
import {listSegments, segmentName, segmentPath} from '../cdr/spool-files.js'
import type {Config} from '../config/schema.js'
import {TRACING_OFF_TEXT, type TracingOffReason} from '../config/tracing.js'
import {CCError, toCCError} from '../errors.js'
import {hostForPort, localAddressFor} from '../net/addresses.js'
import {describeCall, callFacts, failureText} from '../synth/report.js'
import {runSynth} from '../synth/runner.js'
import {parseTarget, type CallSettings} from '../synth/options.js'
import type {SyntheticCallResult, Thresholds} from '../synth/types.js'
import {missingFamilies, parseExposition, sumSamples, type Exposition} from './exposition.js'
import type {QuicSmokeCall} from './quic-check.js'

export type SmokeCheckName = 'daemon' | 'call' | 'metrics' | 'cdr' | 'hep' | 'trace' | 'quic'
export const SMOKE_CHECKS: readonly SmokeCheckName[] = ['daemon', 'call', 'metrics', 'cdr', 'hep', 'trace', 'quic']

/** Where the quic check's token comes from when --quic-token is not given. */
export const SMOKE_TOKEN_ENV = 'CLUTCHCALL_SMOKE_TOKEN'

export interface SmokeCheck {
  readonly name: SmokeCheckName
  readonly outcome: 'ok' | 'fail' | 'skip'
  readonly detail: string
  readonly durationMs: number
}

export interface SmokeReport {
  readonly passed: boolean
  readonly startedAt: string
  readonly elapsedS: number
  readonly target: string | null
  readonly checks: readonly SmokeCheck[]
  /** The synthetic call, when one was placed. */
  readonly call: SyntheticCallResult | null
  /** The gateway's call_sid for it, when the gateway saw it. */
  readonly callSid: string | null
  /** The W3C trace id the call's INVITE carried (in its traceparent), when a call was placed. */
  readonly traceId: string | null
  /** The quic check's call, when it placed one (or tried to). */
  readonly quic: QuicSmokeCall | null
}

export interface SmokeOptions {
  readonly socketPath: string
  /** The CLI's config: the ClickHouse credentials (the daemon never hands them out). */
  readonly cdrConfig: Config['cdr']
  /** --target; default the daemon's UDP SIP listener. */
  readonly target?: string | undefined
  /** Call settings other than the target and the count. */
  readonly call: CallSettings
  readonly thresholds: Thresholds
  /** How long to wait for the metrics, the CDR and HEP to catch up with the call, ms. */
  readonly settleMs: number
  /** The JWT for the quic check's session.open (--quic-token, CLUTCHCALL_SMOKE_TOKEN); without it the check is skipped. */
  readonly quicToken?: string | undefined
  /** Each check as it completes, for a line on the terminal. */
  readonly onCheck?: ((check: SmokeCheck) => void) | undefined
  readonly signal?: AbortSignal | undefined
}

/** The user part of the default target's Request-URI. */
export const SMOKE_USER = 'smoke'
const ADMIN_TIMEOUT_MS = 10_000
const SCRAPE_TIMEOUT_MS = 5000
/** At least this many SIP frames for a call: INVITE, 200, ACK and BYE (plus provisionals and the BYE's 200). */
const MIN_HEP_FRAMES = 4
const SPOOL_TAIL_BYTES = 8 * 1024 * 1024
/** How long the trace check waits (at least) for the collector to acknowledge the call's spans: the sink sends every ~1 s, an export retries for up to 5 s. */
const TRACE_WAIT_MS = 10_000

/** Random non-zero hex of `bytes` bytes: a W3C trace id (16) or span id (8). */
const randomId = (bytes: number): string => {
  for (;;) {
    const id = randomBytes(bytes).toString('hex')
    if (/[^0]/.test(id)) return id
  }
}

/** A W3C traceparent (version 00, sampled) starting a new trace. */
export const newTraceparent = (): {readonly traceId: string; readonly header: string} => {
  const traceId = randomId(16)
  return {traceId, header: `00-${traceId}-${randomId(8)}-01`}
}

const errorText = (error: unknown): string => {
  const failure = toCCError(error)
  return failure.code === 'CC_ERR_INTERNAL' ? failure.message.replace(/^Internal error: /, '') : `${failure.message} (${failure.code})`
}

const hostOf = (address: string): string => hostForPort(localAddressFor(address))

/** The default target: the daemon's UDP SIP listener (TCP if it has only that). */
export const defaultTarget = (status: DaemonStatus): string | undefined => {
  const sip = status.listeners.filter((listener) => listener.name === 'sip' && listener.port !== undefined)
  const udp = sip.find((listener) => listener.transport === 'udp')
  const chosen = udp ?? sip.find((listener) => listener.transport === 'tcp')
  if (chosen === undefined) return undefined
  return `sip:${SMOKE_USER}@${hostOf(chosen.address)}:${chosen.port}${chosen.transport === 'tcp' ? ';transport=tcp' : ''}`
}

const scrape = async (url: string): Promise<string> => {
  const response = await fetch(url, {signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS), headers: {accept: 'text/plain;version=0.0.4'}})
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`)
  return response.text()
}

const validityProblems = (exposition: Exposition): string[] => [...exposition.problems, ...missingFamilies(exposition)]

const shortList = (problems: readonly string[]): string => `${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; … ${problems.length - 3} more` : ''}`

/** Looks for the sid in the tails of the newest spool segments; returns the segment's name. */
export const findInSpool = (spoolDir: string, callSid: string): string | undefined => {
  const needle = Buffer.from(`"call_sid":"${callSid}"`)
  for (const segment of listSegments(spoolDir).reverse().slice(0, 3)) {
    const path = segmentPath(spoolDir, segment)
    let fd: number | undefined
    try {
      const size = statSync(path).size
      const length = Math.min(size, SPOOL_TAIL_BYTES)
      const buffer = Buffer.allocUnsafe(length)
      fd = openSync(path, 'r')
      const read = readSync(fd, buffer, 0, length, size - length)
      if (buffer.subarray(0, read).includes(needle)) return segmentName(segment)
    } catch {
      // Rotated away or trimmed while we looked: the next one.
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  }
  return undefined
}

const poll = async <T>(deadline: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 100): Promise<T | undefined> => {
  for (;;) {
    const value = await probe()
    if (value !== undefined || Date.now() >= deadline) return value
    await sleep(everyMs)
  }
}

export const runSmoke = async (options: SmokeOptions): Promise<SmokeReport> => {
  const startedAt = new Date()
  const begun = performance.now()
  const checks: SmokeCheck[] = []
  const record = (name: SmokeCheckName, outcome: SmokeCheck['outcome'], detail: string, since: number): void => {
    const check = {name, outcome, detail, durationMs: Math.round(performance.now() - since)}
    checks.push(check)
    options.onCheck?.(check)
  }
  const events: CallEvent[] = []
  let client: AdminClient | undefined
  let status: DaemonStatus | undefined
  let target: string | undefined = options.target
  let call: SyntheticCallResult | null = null
  let callSid: string | null = null
  let traceId: string | null = null
  let quic: QuicSmokeCall | null = null
  try {
    // daemon
    let since = performance.now()
    try {
      client = await AdminClient.connect(options.socketPath, {client: 'clutchcall smoke', timeoutMs: ADMIN_TIMEOUT_MS})
      status = await client.call('daemon.status')
      await client.subscribeCalls({}, (event) => events.push(event))
      const uptime = status.uptimeSeconds < 120 ? `${Math.round(status.uptimeSeconds)} s` : `${Math.round(status.uptimeSeconds / 60)} min`
      if (status.draining) record('daemon', 'fail', `pid ${status.pid} is draining (stopping): it takes no new calls`, since)
      else record('daemon', 'ok', `pid ${status.pid}, ${status.version}, up ${uptime}, ${status.calls.active} active call(s), ${options.socketPath}`, since)
    } catch (error) {
      client?.close()
      client = undefined
      status = undefined
      const failure = toCCError(error)
      record('daemon', 'fail', failure.code === 'CC_ERR_DAEMON_NOT_RUNNING' ? `no daemon answers on ${options.socketPath}: start it with \`clutchcall start\`` : errorText(error), since)
    }

    // Baselines before the call: metrics, HEP.
    const metricsUrl = status?.listeners.find((listener) => listener.name === 'metrics')?.url
    let metricsBefore: Exposition | undefined
    let metricsBeforeError: string | undefined
    if (metricsUrl !== undefined) {
      try {
        metricsBefore = parseExposition(await scrape(metricsUrl))
      } catch (error) {
        metricsBeforeError = errorText(error)
      }
    }
    let hepBefore: HepStatus | undefined
    if (client !== undefined) hepBefore = await client.call('hep.status').catch(() => undefined)

    // call
    since = performance.now()
    target ??= status === undefined ? undefined : defaultTarget(status)
    if (target === undefined) {
      record('call', status === undefined ? 'skip' : 'fail', status === undefined ? "needs the daemon's SIP address, or --target" : 'the daemon has no SIP listener; pass --target', since)
    } else {
      try {
        // The call's trace id is ours: the gateway continues the INVITE's traceparent (one given with --header is replaced).
        const traceparent = newTraceparent()
        traceId = traceparent.traceId
        const headers = [...options.call.headers.filter(([name]) => name.toLowerCase() !== 'traceparent'), ['traceparent', traceparent.header] as const]
        const report = await runSynth({
          settings: {...options.call, headers, target: parseTarget(target), count: 1, concurrency: 1, rate: 1},
          thresholds: options.thresholds,
          signal: options.signal,
        })
        call = report.calls[0] ?? null
        if (call === null) record('call', 'fail', 'interrupted before the call started', since)
        else if (call.passed) record('call', 'ok', `${target}: ${describeCall(call)}`, since)
        else record('call', 'fail', `${target}: ${describeCall(call)}; ${call.failures.map((failure) => failure.message).join('; ')}`, since)
      } catch (error) {
        record('call', 'fail', `${target}: ${errorText(error)}`, since)
      }
    }

    // Which call the gateway made of it.
    const settleDeadline = Date.now() + options.settleMs
    let hangup: ChannelHangupComplete | undefined
    let notReached: string | undefined
    if (client !== undefined && call !== null) {
      const sipCallId = call.callId
      const create = await poll(Math.min(settleDeadline, Date.now() + 2000), () => events.find((event): event is ChannelCreate => event.type === 'CHANNEL_CREATE' && event.sip_call_id === sipCallId))
      if (create === undefined) {
        notReached = `the gateway saw no call with the synthetic call's Call-ID ${sipCallId} (is --target this gateway?)`
      } else {
        callSid = create.call_sid
        hangup = await poll(settleDeadline, () => events.find((event): event is ChannelHangupComplete => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === create.call_sid))
        if (hangup === undefined) notReached = `call ${create.call_sid} has not ended on the gateway within ${options.settleMs / 1000} s`
      }
    }
    const dependsOnCall = (name: SmokeCheckName, at: number): boolean => {
      if (status === undefined || client === undefined) {
        record(name, 'skip', 'needs the daemon', at)
        return false
      }
      if (call === null) {
        record(name, 'skip', 'no synthetic call to look for', at)
        return false
      }
      if (notReached !== undefined) {
        record(name, 'fail', notReached, at)
        return false
      }
      return true
    }

    // metrics
    since = performance.now()
    if (status !== undefined && metricsUrl === undefined) {
      record('metrics', 'skip', 'no metrics endpoint (metrics.enabled: false)', since)
    } else if (metricsBeforeError !== undefined) {
      record('metrics', 'fail', `${metricsUrl}: ${metricsBeforeError}`, since)
    } else if (metricsBefore !== undefined && validityProblems(metricsBefore).length > 0) {
      record('metrics', 'fail', `${metricsUrl}: invalid exposition: ${shortList(validityProblems(metricsBefore))}`, since)
    } else if (dependsOnCall('metrics', since) && hangup !== undefined && metricsUrl !== undefined && metricsBefore !== undefined) {
      const series = {tenant: hangup.tenant_id, trunk: hangup.trunk_id, direction: hangup.direction, result: hangup.status}
      const before = sumSamples(metricsBefore, 'clutchcall_calls_total', series)
      let after: Exposition | undefined
      let scrapeError: string | undefined
      await poll(settleDeadline, async () => {
        try {
          after = parseExposition(await scrape(metricsUrl))
          scrapeError = undefined
        } catch (error) {
          scrapeError = errorText(error)
          return undefined
        }
        return sumSamples(after, 'clutchcall_calls_total', series) > before ? true : undefined
      }, 200)
      const labels = Object.entries(series).map(([label, value]) => `${label}="${value}"`).join(',')
      if (scrapeError !== undefined || after === undefined) {
        record('metrics', 'fail', `${metricsUrl}: ${scrapeError ?? 'no answer'}`, since)
      } else if (validityProblems(after).length > 0) {
        record('metrics', 'fail', `${metricsUrl}: invalid exposition: ${shortList(validityProblems(after))}`, since)
      } else {
        const now = sumSamples(after, 'clutchcall_calls_total', series)
        const valid = `valid (${after.families.size} families, ${after.sampleCount} samples)`
        if (now > before) record('metrics', 'ok', `${metricsUrl}: ${valid}; clutchcall_calls_total{${labels}} ${before} → ${now}`, since)
        else record('metrics', 'fail', `${metricsUrl}: ${valid}, but clutchcall_calls_total{${labels}} stayed at ${now} after the call`, since)
      }
    }

    // cdr
    since = performance.now()
    if (dependsOnCall('cdr', since) && client !== undefined && callSid !== null) {
      const sid = callSid
      try {
        const cdr = await client.call('cdr.status')
        if (!cdr.enabled || cdr.store === 'off') {
          record('cdr', 'skip', 'CDRs are off (cdr.enabled: false)', since)
        } else if (cdr.store === 'embedded') {
          const segment = await poll(settleDeadline, () => findInSpool(cdr.spoolDir, sid), 200)
          if (segment !== undefined) record('cdr', 'ok', `${sid} in the spool (${cdr.spoolDir}/${segment})`, since)
          else record('cdr', 'fail', `${sid} is not in the spool ${cdr.spoolDir} after ${options.settleMs / 1000} s`, since)
        } else {
          record('cdr', ...(await clickhouseCheck(client, options.cdrConfig, cdr.target, sid)), since)
        }
      } catch (error) {
        record('cdr', 'fail', errorText(error), since)
      }
    }

    // hep
    since = performance.now()
    if (status === undefined || client === undefined) {
      record('hep', 'skip', 'needs the daemon', since)
    } else if (hepBefore === undefined || hepBefore.state !== 'on') {
      record('hep', 'skip', 'capture off', since)
    } else if (call === null) {
      record('hep', 'skip', 'no synthetic call to capture', since)
    } else {
      const base = hepBefore
      const adminClient = client
      let latest: HepStatus | undefined
      await poll(settleDeadline, async () => {
        latest = await adminClient.call('hep.status').catch(() => undefined)
        return latest !== undefined && latest.sipFramesSent - base.sipFramesSent >= MIN_HEP_FRAMES ? true : undefined
      }, 200)
      if (latest === undefined) {
        record('hep', 'fail', 'hep.status did not answer', since)
      } else {
        const frames = latest.sipFramesSent - base.sipFramesSent
        const errors = latest.sendErrors - base.sendErrors
        const where = `to ${latest.endpoint}`
        if (latest.state !== 'on') record('hep', 'fail', `capture went off during the smoke test (${latest.lastOffReason ?? 'unknown'})`, since)
        else if (errors > 0) record('hep', 'fail', `${errors} frame(s) could not be sent ${where}: ${latest.lastError?.message ?? 'send error'}`, since)
        else if (frames < MIN_HEP_FRAMES) record('hep', 'fail', `only ${frames} SIP frame(s) sent ${where} for the call (expected at least ${MIN_HEP_FRAMES})`, since)
        else record('hep', 'ok', `${frames} SIP frame(s) sent ${where} during the call, no send errors`, since)
      }
    }

    // trace
    since = performance.now()
    if (status === undefined || client === undefined) {
      record('trace', 'skip', 'needs the daemon', since)
    } else if (!status.telemetry.tracing.enabled) {
      record('trace', 'skip', tracingOffDetail(status.telemetry.tracing.reason), since)
    } else if (dependsOnCall('trace', since) && traceId !== null) {
      record('trace', ...(await traceCheck(client, traceId, Math.max(TRACE_WAIT_MS, options.settleMs))), since)
    }

    // quic (last: its call must not be counted by the checks of the SIP call)
    since = performance.now()
    if (status === undefined || client === undefined) {
      record('quic', 'skip', 'needs the daemon', since)
    } else if (status.quic == null) {
      record('quic', 'skip', 'QUIC listener off (quic.enabled: false)', since)
    } else if (options.quicToken === undefined || options.quicToken === '') {
      record('quic', 'skip', `QUIC listener on at ${status.quic.listen}, but no token to open a session with: pass a JWT the gateway's auth.jwt accepts with --quic-token or ${SMOKE_TOKEN_ENV}`, since)
    } else if (target === undefined) {
      record('quic', 'fail', 'no SIP target for the QUIC call: the daemon has no SIP listener; pass --target', since)
    } else {
      const {quicCheck} = await import('./quic-check.js')
      const checked = await quicCheck({quic: status.quic, token: options.quicToken, to: target, durationS: options.call.durationS, thresholds: options.thresholds, settleMs: Math.max(options.settleMs, 5000)})
      quic = checked.call
      record('quic', checked.outcome, checked.detail, since)
    }
  } finally {
    client?.close()
  }
  const ordered = SMOKE_CHECKS.flatMap((name) => checks.filter((check) => check.name === name))
  return {
    passed: ordered.every((check) => check.outcome !== 'fail'),
    startedAt: startedAt.toISOString(),
    elapsedS: Math.round(performance.now() - begun) / 1000,
    target: target ?? null,
    checks: ordered,
    call,
    callSid,
    traceId,
    quic,
  }
}

/** Why the trace check is skipped, from the daemon's reason (absent from daemons that predate it). */
export const tracingOffDetail = (reason: TracingOffReason | null | undefined): string => {
  if (reason == null) return 'tracing off (tracing.enabled: false or OTEL_SDK_DISABLED=true)'
  const hint = reason === 'no-collector' ? '; set tracing.endpoint, OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to export traces and check them' : ''
  return `tracing off (${TRACING_OFF_TEXT[reason]}${hint})`
}

/** Asks the daemon until the collector has acknowledged spans of the trace, an export of it failed, or the wait is over. */
const traceCheck = async (client: AdminClient, traceId: string, waitMs: number): Promise<['ok' | 'fail', string]> => {
  let latest: TracingTraceResult | undefined
  let failure: string | undefined
  await poll(Date.now() + waitMs, async () => {
    try {
      latest = await client.call('tracing.trace', {trace_id: traceId})
    } catch (error) {
      failure = errorText(error)
      return true
    }
    return latest.exportedSpans >= 1 || latest.failedSpans >= 1 || !latest.enabled ? true : undefined
  }, 200)
  if (failure !== undefined || latest === undefined) return ['fail', `tracing.trace: ${failure ?? 'no answer'}`]
  const collector = `the collector at ${latest.endpoint ?? '?'}`
  if (!latest.enabled) return ['fail', 'daemon.status said tracing is on, tracing.trace says off']
  if (latest.failedSpans > 0) {
    const acknowledged = latest.exportedSpans > 0 ? `, ${latest.exportedSpans} acknowledged` : ''
    return ['fail', `${collector} did not acknowledge trace ${traceId}: the export of ${latest.failedSpans} of its span(s) failed${acknowledged} (tracing ${latest.state})`]
  }
  if (latest.exportedSpans === 0) return ['fail', `${collector} did not acknowledge trace ${traceId} within ${waitMs / 1000} s (tracing ${latest.state})`]
  return ['ok', `${latest.exportedSpans} span(s) of trace ${traceId} acknowledged by ${collector}`]
}

/** With ClickHouse: flush the spool (so the row is sent now), then count the rows with the sid. */
const clickhouseCheck = async (client: AdminClient, cdrConfig: Config['cdr'], daemonTarget: string | null, sid: string): Promise<['ok' | 'fail', string]> => {
  const target = cdrConfig.clickhouse
  if (target === undefined) return ['fail', `the daemon writes CDRs to ClickHouse (${daemonTarget ?? '?'}) but this CLI's config has no cdr.clickhouse to read them with: pass the daemon's --config`]
  // The sid goes into the SQL as a literal: it is CA and 32 hex digits (checked), and ClickHouse 18.16 has no query parameters.
  if (!CALL_SID_PATTERN.test(sid)) return ['fail', `unexpected call sid ${JSON.stringify(sid)}`]
  try {
    await client.call('cdr.flush', {timeout_ms: 30_000})
  } catch (error) {
    return ['fail', `cdr.flush: ${errorText(error)}`]
  }
  const {openClickHouse} = await import('../cdr/clickhouse.js')
  const connection = openClickHouse(target, {requestTimeoutMs: 10_000, keepAlive: false})
  try {
    const result = await connection.client.query({query: `SELECT count() AS n FROM ${connection.table} WHERE call_sid = '${sid}'`, format: 'JSONEachRow'})
    const rows = await result.json<{n: string | number}>()
    const count = Number(rows[0]?.n ?? 0)
    return count >= 1 ? ['ok', `${sid} in ClickHouse ${target.url} ${connection.table}${count > 1 ? ` (${count} rows!)` : ''}`] : ['fail', `${sid} is not in ClickHouse ${target.url} ${connection.table} after cdr.flush`]
  } catch (error) {
    return ['fail', `ClickHouse ${target.url}: ${(error as Error).message}`]
  } finally {
    await connection.client.close().catch(() => undefined)
  }
}

export const smokeFailure = (report: SmokeReport): CCError => {
  const failed = report.checks.filter((check) => check.outcome === 'fail')
  return new CCError('CC_ERR_SMOKE_FAILED', {failed: failed.length, total: report.checks.length, checks: failed.map((check) => check.name).join(', ')}, {data: report})
}

/** The smoke checks as a JUnit suite: one test case per check. */
export const smokeJunitSuite = (report: SmokeReport): import('../synth/junit.js').JunitSuite => ({
  name: 'clutchcall smoke',
  timestamp: report.startedAt,
  timeS: report.elapsedS,
  properties: [
    ['target', report.target ?? ''],
    ['call_sid', report.callSid ?? ''],
    ['trace_id', report.traceId ?? ''],
    ['quic_call_sid', report.quic?.callSid ?? ''],
  ],
  cases: report.checks.map((check) => ({
    name: check.name,
    classname: 'clutchcall.smoke',
    timeS: check.durationMs / 1000,
    failure: check.outcome === 'fail' ? {type: check.name, message: check.detail, text: check.name === 'call' && report.call !== null ? failureText(report.call) || check.detail : check.detail} : undefined,
    skipped: check.outcome === 'skip' ? check.detail : undefined,
    systemOut: check.name === 'call' && report.call !== null ? `${check.detail}\n${callFacts(report.call)}` : check.detail,
  })),
})
