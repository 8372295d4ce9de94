// `clutchcall smoke` (the built CLI) and its quic check against a real daemon
// with the QUIC listener on: with a valid JWT it places an SDK call over QUIC
// to the gateway's own SIP listener (whose dialplan echoes), sends a tone in
// datagrams and gets it back, and reads the call's CDR event; an expired token
// fails the check with the gateway's reason; no token skips it; and a daemon
// with QUIC off skips it.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import type {ChannelHangupComplete} from '../../../../src/calls/events.js'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {TestIssuer} from '../../../helpers/jwt.js'
import {startQuicGateway} from '../../../helpers/sdk-gateway.js'
import {findAll, parseXml} from '../../../helpers/xml.js'

interface Check {
  name: string
  outcome: 'ok' | 'fail' | 'skip'
  detail: string
}

const quicOf = (checks: readonly Check[]): Check | undefined => checks.find((check) => check.name === 'quic')

describe('smoke: the quic check against a gateway with the QUIC listener on', () => {
  const gw = new TestGateway()
  let issuer: TestIssuer
  let sha256 = ''
  let port = 0
  before(async () => {
    issuer = await TestIssuer.create()
    ;({port, sha256} = await startQuicGateway(gw, {tenants: ['acme'], trunks: [], issuer}))
  })
  after(() => gw.stop())

  it('passes with a valid token (CLUTCHCALL_SMOKE_TOKEN): a QUIC call to the echo, the tone back, its CDR event; a JUnit case', async () => {
    const junit = gw.home.path('reports', 'smoke-quic.xml')
    const run = await gw.home.json(['smoke', '--duration', '2', '--junit', junit], {CLUTCHCALL_SMOKE_TOKEN: await issuer.token('acme')})
    assert.equal(run.code, 0, JSON.stringify(run.body, null, 2))
    const {result} = run.body
    const quic = quicOf(result.checks)
    assert.equal(quic?.outcome, 'ok', quic?.detail)
    assert.deepEqual(result.checks.map((check: Check) => check.name), ['daemon', 'call', 'metrics', 'cdr', 'hep', 'trace', 'quic'])
    assert.match(quic?.detail ?? '', new RegExp(`^127\\.0\\.0\\.1:${port}: CA[0-9a-f]{32} to sip:smoke@127\\.0\\.0\\.1:\\d+, handshake \\d+ ms, completed \\(Q\\.850 16\\), PCMU, \\d+ datagram\\(s\\) sent, \\d+ echoed back; CDR: \\d+ received, \\d+ lost`))
    const call = result.quic
    assert.equal(call.listen, `127.0.0.1:${port}`)
    assert.equal(call.sha256, sha256)
    assert.match(call.callSid, /^CA[0-9a-f]{32}$/)
    assert.notEqual(call.callSid, result.callSid, 'the QUIC call is not the SIP smoke call')
    assert.ok(call.sentPackets >= 50, `sent ${call.sentPackets}`)
    assert.ok(call.receivedTone >= call.sentPackets / 2, `echoed ${call.receivedTone} of ${call.sentPackets}`)
    assert.equal(call.cdr.status, 'completed')
    assert.equal(call.cdr.codec, 'PCMU')
    assert.ok(call.cdr.packetsReceived >= 50, `CDR packets_received ${call.cdr.packetsReceived}`)
    assert.ok(call.cdr.estimatedMos >= 4, `CDR MOS ${call.cdr.estimatedMos}`)
    // The gateway's own record agrees: the QUIC call's CDR event, SDK tenant, outbound to the echo.
    const end = await waitFor('the QUIC call\'s end', () => gw.events.find((event): event is ChannelHangupComplete => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === call.callSid))
    assert.equal(end.tenant_id, 'acme')
    assert.equal(end.direction, 'outbound')
    assert.equal(end.estimated_mos, call.cdr.estimatedMos)

    const cases = findAll(parseXml(readFileSync(junit, 'utf8')), 'testcase')
    const quicCase = cases.find((test) => test.attributes.name === 'quic')
    assert.ok(quicCase, 'a JUnit case for quic')
    assert.equal(findAll(quicCase, 'failure').length + findAll(quicCase, 'skipped').length, 0)
  })

  it('fails with an expired token (--quic-token), saying the gateway refused it and why', async () => {
    const expired = await issuer.token('acme', {expiresIn: Math.floor(Date.now() / 1000) - 120})
    const run = await gw.home.json(['smoke', '--duration', '1', '--quic-token', expired])
    assert.equal(run.code, 1, JSON.stringify(run.body, null, 2))
    const error = run.body.error
    assert.ok(error, 'an error envelope')
    assert.equal(error.code, 'CC_ERR_SMOKE_FAILED')
    const checks: Check[] = error.data.checks
    const quic = quicOf(checks)
    assert.equal(quic?.outcome, 'fail')
    assert.match(quic?.detail ?? '', new RegExp(`^127\\.0\\.0\\.1:${port}: session\\.open refused the token: CC_ERR_RPC_UNAUTHENTICATED: .*token expired at`))
    assert.ok(checks.filter((check) => check.name !== 'quic').every((check) => check.outcome !== 'fail'), JSON.stringify(checks))
    assert.equal(error.data.quic.callSid, null)
  })

  it('skips without a token, saying how to give one (and prints it for a human)', async () => {
    const run = await gw.home.run(['smoke', '--duration', '1'], {CLUTCHCALL_SMOKE_TOKEN: ''})
    assert.equal(run.code, 0, run.stdout + run.stderr)
    const line = run.stdout.trim().split('\n').at(-1) ?? ''
    assert.match(line, new RegExp(`^skip {2}quic {5}QUIC listener on at 127\\.0\\.0\\.1:${port}, but no token to open a session with: pass a JWT .* --quic-token or CLUTCHCALL_SMOKE_TOKEN$`))
  })
})

describe('smoke: the quic check against a gateway with QUIC off', () => {
  const gw = new TestGateway()
  before(() => gw.start())
  after(() => gw.stop())

  it('skips, saying the listener is off, even with a token', async () => {
    const run = await gw.home.json(['smoke', '--duration', '1', '--quic-token', 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln'])
    assert.equal(run.code, 0, JSON.stringify(run.body, null, 2))
    assert.deepEqual(quicOf(run.body.result.checks), {...quicOf(run.body.result.checks), outcome: 'skip', detail: 'QUIC listener off (quic.enabled: false)'})
    assert.equal(run.body.result.quic, null)
  })
})
