// Refused call attempts in every stream (docs/call-accounting.md), with real
// SIPp callers: from the trunk's address (127.0.0.1) a refusal is a failed call
// (counter by reason, CHANNEL_CREATE + CHANNEL_HANGUP_COMPLETE on calls.subscribe,
// a CDR row in the embedded store, a trace whose sip.setup carries the status);
// from an unknown source (127.0.0.2) it is only counted, so a scanner's burst
// leaves no CDR, event or span. `cdr stats` ASR is over attempts. Unknown
// sources get a stateless 403 here (security.unknown_sources: reject) so SIPp
// can see the refusal; the default drop is tested in daemon/security.
import assert from 'node:assert/strict'
import {createSocket} from 'node:dgram'
import {after, before, describe, it} from 'node:test'
import type {ChannelHangupComplete} from '../../../../src/calls/events.js'
import {sleep, TestGateway, waitFor} from '../../../helpers/gateway.js'
import {OtlpReceiver, type ReceivedSpan} from '../../../helpers/otlp-receiver.js'
import {G729_ONLY_SDP, runSipp, uacAwaitingBye, uacExpectingRefusal, uacOfferingExpectingRefusal, uacShortCall, uacWithDigest, uacWithWrongDigest} from '../../../helpers/peers.js'

const receiver = new OtlpReceiver()
const gw = new TestGateway()

const config = (endpoint: string) => `tracing:
  endpoint: ${endpoint}
tenants:
  - { id: acme, dialplan: short-echo }
trunks:
  - { id: carrier-a, tenant: acme, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555*"] } }
  - { id: carrier-auth, tenant: acme, inbound: { cidrs: [127.0.0.3/32], numbers: ["+1666*"], auth: { username: alice, password: wonderland } } }
security:
  unknown_sources: reject
dialplans:
  short-echo:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, max_duration_s: 1, next: bye }
      bye: { type: hangup, cause: 16 }
`

const refusedCounter = (tenant: string, trunk: string, reason: string): RegExp =>
  new RegExp(`^clutchcall_call_attempts_refused_total\\{tenant="${tenant}",trunk="${trunk}",reason="${reason}"\\} (\\d+)`, 'm')

const spanNamed = (spans: readonly ReceivedSpan[], name: string): ReceivedSpan => {
  const found = spans.filter((span) => span.name === name)
  assert.equal(found.length, 1, `one ${name} span in ${JSON.stringify(spans.map((span) => span.name))}`)
  return found[0] as ReceivedSpan
}

interface CdrRow {
  call_sid: string
  status: string
  q850_cause: number
  codec: string
  packets_sent: number
  packets_received: number
  answer_timestamp_ms: number | null
  trunk_id: string
  tenant_id: string
}

before(async () => {
  await receiver.start()
  await gw.start(config(receiver.endpoint))
})

after(async () => {
  await gw.stop()
  await receiver.stop()
})

describe('refused call attempts', () => {
  it('from a known trunk, 404, 488 (no common codec) and 488 (no offer) are failed calls in the counter, calls_total, events, CDRs and traces; ASR is over attempts', async () => {
    const cases = [
      {to: '+19990000001', status: 404, q850: 1, reason: 'no_route', scenario: uacExpectingRefusal(404)},
      {to: '+15550000002', status: 488, q850: 127, reason: 'no_common_codec', scenario: uacOfferingExpectingRefusal(G729_ONLY_SDP, 488)},
      {to: '+15550000003', status: 488, q850: 127, reason: 'no_offer', scenario: uacOfferingExpectingRefusal('', 488)},
    ]
    const ends: ChannelHangupComplete[] = []
    for (const attempt of cases) {
      const caller = await runSipp({scenarioXml: attempt.scenario, target: gw.sip, service: attempt.to})
      const {code, output} = await caller.done
      assert.equal(code, 0, `${attempt.to} refused with ${attempt.status}: ${output}`)
      const end = await gw.hangupOf(attempt.to)
      ends.push(end)
      // The event carries every CDR field: failed, the status's Q.850 cause, no answer, no media, no codec.
      assert.equal(end.status, 'failed', attempt.to)
      assert.equal(end.q850_cause, attempt.q850, attempt.to)
      assert.equal(end.tenant_id, 'acme')
      assert.equal(end.trunk_id, 'carrier-a')
      assert.equal(end.direction, 'inbound')
      assert.equal(end.from_number, '+15550001111')
      assert.equal(end.answer_timestamp_ms, null)
      assert.equal(end.duration_seconds, 0)
      assert.equal(end.codec, '')
      for (const field of ['packets_sent', 'packets_received', 'packets_lost', 'bytes_sent', 'jitter_ms', 'estimated_mos'] as const) assert.equal(end[field], 0, `${attempt.to} ${field}`)
      assert.deepEqual(gw.typesOf(end.call_sid), ['CHANNEL_CREATE', 'CHANNEL_HANGUP_COMPLETE'])
      assert.equal(await gw.metric(refusedCounter('acme', 'carrier-a', attempt.reason)), 1, `counter for ${attempt.reason}`)

      const spans = await receiver.traceOf(end.call_sid)
      const root = spanNamed(spans, 'call')
      assert.equal(root.statusCode, 2, 'the call span is an error')
      assert.equal(root.attributes['call.status'], 'failed')
      assert.equal(root.attributes['call.q850_cause'], attempt.q850)
      const setup = spanNamed(spans, 'sip.setup')
      assert.equal(setup.parentSpanId, root.spanId)
      assert.equal(setup.attributes['sip.status_code'], attempt.status)
      assert.equal(setup.attributes['sip.outcome'], 'failed')
      assert.equal(setup.statusCode, 2, 'the failed step of the trace')
      assert.equal(spanNamed(spans, 'trunk.lookup').attributes['trunk.id'], 'carrier-a')
      assert.equal(spans.filter((span) => span.name === 'rtp.setup').length, 0, 'no media was set up')
    }
    assert.equal(await gw.metric(/^clutchcall_calls_total\{tenant="acme",trunk="carrier-a",direction="inbound",result="failed"\} (\d+)/m), 3)

    // One call that talks: ASR over the four attempts is 1/4.
    const talker = await runSipp({scenarioXml: uacShortCall(300), target: gw.sip, service: '+15550000004'})
    assert.equal((await talker.done).code, 0)
    const talked = await gw.hangupOf('+15550000004')
    assert.equal(talked.status, 'completed')
    assert.equal(talked.codec, 'PCMA')

    const rows = await waitFor('the four CDR rows', async () => {
      const query = await gw.home.json(['cdr', 'query', '--tenant', 'acme'])
      assert.equal(query.code, 0, JSON.stringify(query.body))
      const found = query.body.result.rows as CdrRow[]
      return found.length === 4 ? found : undefined
    })
    for (const end of ends) {
      const row = rows.find((candidate) => candidate.call_sid === end.call_sid)
      assert.ok(row, `a CDR row for ${end.to_number}`)
      assert.equal(row.status, 'failed')
      assert.equal(row.q850_cause, end.q850_cause)
      assert.equal(row.codec, '')
      assert.equal(row.packets_received, 0)
      assert.equal(row.answer_timestamp_ms, null)
    }
    const stats = await gw.home.json(['cdr', 'stats', '--group-by', 'trunk'])
    assert.equal(stats.code, 0, JSON.stringify(stats.body))
    const carrier = (stats.body.result.rows as Array<{key?: string; trunk_id?: string; calls: number; answered: number; asr: number}>).find((row) => (row.key ?? row.trunk_id) === 'carrier-a')
    assert.equal(carrier?.calls, 4)
    assert.equal(carrier?.answered, 1)
    assert.equal(carrier?.asr, 0.25)
  })

  it('from an unknown source, a scanner-like burst of INVITEs gets 403s, is counted by reason, and leaves no call event, CDR row or span', async () => {
    const rowsBefore = (await gw.home.json(['cdr', 'status'])).body.result.rowsWritten as number
    const before = await gw.metric(refusedCounter('none', 'none', 'unknown_source'))
    const scanner = await runSipp({scenarioXml: uacExpectingRefusal(403), target: gw.sip, service: '+15550000099', localIp: '127.0.0.2', calls: 25, extraArgs: ['-r', '25']})
    const {code, output} = await scanner.done
    assert.equal(code, 0, output)
    await waitFor('25 refusals counted', async () => ((await gw.metric(refusedCounter('none', 'none', 'unknown_source'))) - before === 25 ? true : undefined))
    // A second for anything that would have followed: events, spans (exported every second), CDR rows.
    await sleep(2000)
    assert.equal(gw.events.filter((event) => event.type === 'CHANNEL_CREATE' && event.to_number === '+15550000099').length, 0, 'no call event')
    assert.equal(receiver.spans.filter((span) => span.attributes['sip.called'] === '+15550000099').length, 0, 'no span')
    const status = await gw.home.json(['cdr', 'status'])
    assert.equal(status.body.result.rowsWritten, rowsBefore, 'no CDR row written')
    const query = await gw.home.json(['cdr', 'query', '--to', '+15550000099'])
    assert.equal(query.code, 0, JSON.stringify(query.body))
    assert.equal(query.body.result.rows.length, 0)
    assert.equal(await gw.metric(/^clutchcall_calls_total\{tenant="none"[^}]*\} (\d+)/m), 0, 'no calls_total series for nobody')
  })

  it('a digest challenge is no refusal; wrong credentials are counted as auth_failed, with no call or CDR', async () => {
    const failedBefore = await gw.metric(refusedCounter('acme', 'carrier-auth', 'auth_failed'))
    const good = await runSipp({scenarioXml: uacWithDigest(), target: gw.sip, service: '+16660000001', localIp: '127.0.0.3'})
    assert.equal((await good.done).code, 0)
    const talked = await gw.hangupOf('+16660000001')
    assert.equal(talked.status, 'completed')
    assert.equal(await gw.metric(refusedCounter('acme', 'carrier-auth', 'auth_failed')), failedBefore, 'the first 401 challenged, it refused nothing')
    const wrong = await runSipp({scenarioXml: uacWithWrongDigest(), target: gw.sip, service: '+16660000002', localIp: '127.0.0.3'})
    const {code, output} = await wrong.done
    assert.equal(code, 0, output)
    await waitFor('auth_failed counted', async () => ((await gw.metric(refusedCounter('acme', 'carrier-auth', 'auth_failed'))) === failedBefore + 1 ? true : undefined))
    await sleep(500)
    assert.equal(gw.events.some((event) => event.type === 'CHANNEL_CREATE' && event.to_number === '+16660000002'), false, 'no call for wrong credentials')
  })
})

describe('a draining gateway', () => {
  it('refuses new INVITEs from a known trunk with 503: counted as draining, and a failed call with cause 41 in its CDR', async () => {
    const draining = new TestGateway()
    try {
      // Calls echo until the drain's timeout hangs them up.
      await draining.start(config('http://127.0.0.1:9').replace('max_duration_s: 1', 'max_duration_s: 60'))
      // A call in progress keeps the daemon draining while the refused attempt arrives.
      const talker = await runSipp({scenarioXml: uacAwaitingBye(), target: draining.sip, service: '+15550000100'})
      await draining.created('+15550000100')
      const stopping = draining.home.json(['stop', '--timeout', '6'])
      await waitFor('the daemon draining', async () => {
        const status = await draining.home.json(['status'])
        return JSON.stringify(status.body).includes('"draining":true') ? true : undefined
      })
      const refused = await runSipp({scenarioXml: uacExpectingRefusal(503), target: draining.sip, service: '+15550000101'})
      const {code, output} = await refused.done
      assert.equal(code, 0, output)
      const end = await draining.hangupOf('+15550000101')
      assert.equal(end.status, 'failed')
      assert.equal(end.q850_cause, 41)
      assert.equal(end.trunk_id, 'carrier-a')
      assert.equal(await draining.metric(refusedCounter('acme', 'carrier-a', 'draining')), 1)
      await talker.done
      assert.equal((await stopping).code, 0)
      const rows = await draining.home.json(['cdr', 'query', '--to', '+15550000101'])
      assert.equal(rows.body.result.rows.length, 1, 'the refused attempt outlives the drain in the CDR store')
      assert.equal(rows.body.result.rows[0].status, 'failed')
    } finally {
      await draining.stop()
    }
  })
})

/** An even UDP port whose next port is free too, on 127.0.0.1: one RTP/RTCP pair. */
const freeRtpPair = async (): Promise<number> => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 44_000 + 2 * Math.floor(Math.random() * 2_000)
    const sockets = [createSocket('udp4'), createSocket('udp4')]
    const bound = await Promise.all(
      sockets.map((socket, offset) => new Promise<boolean>((resolve) => {
        socket.once('error', () => resolve(false))
        socket.bind(base + offset, '127.0.0.1', () => resolve(true))
      })),
    )
    for (const socket of sockets) socket.close()
    if (bound.every(Boolean)) return base
  }
  throw new Error('no free RTP port pair')
}

describe('a gateway out of RTP ports', () => {
  it('refuses the next INVITE with 503 and Reason cause 47: counted as no_media_ports, a failed call with cause 47 and a failed rtp.setup', async () => {
    const full = new TestGateway()
    const spans = new OtlpReceiver()
    let talker: Awaited<ReturnType<typeof runSipp>> | undefined
    try {
      await spans.start()
      const port = await freeRtpPair()
      // One media shard with one port pair: room for one call.
      await full.start(`rtp:\n  address: 127.0.0.1\n  port_min: ${port}\n  port_max: ${port + 1}\n  shards: 1\n${config(spans.endpoint).replace('max_duration_s: 1', 'max_duration_s: 60')}`)
      talker = await runSipp({scenarioXml: uacAwaitingBye(), target: full.sip, service: '+15550000200'})
      const talking = await full.created('+15550000200')
      const refused = await runSipp({scenarioXml: uacExpectingRefusal(503), target: full.sip, service: '+15550000201'})
      const {code, output} = await refused.done
      assert.equal(code, 0, output)
      const end = await full.hangupOf('+15550000201')
      assert.equal(end.status, 'failed')
      assert.equal(end.q850_cause, 47, 'the cause of the Reason header sent')
      assert.equal(end.codec, '')
      assert.equal(await full.metric(refusedCounter('acme', 'carrier-a', 'no_media_ports')), 1)
      const trace = await spans.traceOf(end.call_sid)
      assert.equal(spanNamed(trace, 'sip.setup').attributes['sip.status_code'], 503)
      assert.equal(spanNamed(trace, 'rtp.setup').statusCode, 2, 'the failed step: no media stream')
      // The talker hangs up on our BYE, so the stop has no call to wait for.
      assert.equal((await full.home.json(['calls', 'hangup', talking.call_sid, '--cause', '16'])).code, 0)
      assert.equal((await talker.done).code, 0)
    } finally {
      talker?.stop()
      await full.stop()
      await spans.stop()
    }
  })
})

