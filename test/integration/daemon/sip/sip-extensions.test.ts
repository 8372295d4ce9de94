// The gateway with session timers (short intervals: sip.session_timers
// with the minimum lowered for the test) and reliable provisionals, SIPp as
// the caller: 422 with Min-SE, the BYE with Q.850 102 and its CDR when the
// caller takes the refresher role and never refreshes, the gateway's own
// refresh reaching the caller, a caller requiring 100rel, and bad input in
// each new header (Session-Expires, Min-SE, RAck) from a raw UDP peer.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {TestGateway} from '../../../helpers/gateway.js'
import {runSipp} from '../../../helpers/peers.js'
import {UdpSipPeer, type ReceivedSip} from '../../../helpers/sip-udp.js'
import {uacAwaitingRefresh, uacNeverRefreshing, uacRequiring100relRinging, uacTooSmallThenRetry, uacUpdateHold} from '../../src/sip/scenarios.js'

const MIN_SE = 2
const gw = new TestGateway()

before(() =>
  // Continues the `sip:` section testConfig opens.
  gw.start(`  session_timers: { enabled: true, expires_s: 30, min_se_s: ${MIN_SE} }
  reliable_provisionals: supported
`),
)
after(() => gw.stop())

describe('session timers at the gateway (RFC 4028)', () => {
  it('answers an interval below sip.session_timers.min_se_s with 422 and Min-SE; the retry is the one call', async () => {
    const caller = await runSipp({scenarioXml: uacTooSmallThenRetry(1, MIN_SE), target: gw.sip, service: '+15550004220'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550004220')
    assert.equal(end.status, 'completed')
    assert.equal(gw.events.filter((event) => event.type === 'CHANNEL_CREATE' && event.to_number === '+15550004220').length, 1, 'the 422 is no call')
  })

  it('ends the call with BYE (Q.850 102) when the caller, the refresher, never refreshes; the CDR says completed, cause 102', async () => {
    const interval = 3
    const caller = await runSipp({scenarioXml: uacNeverRefreshing(interval), target: gw.sip, service: '+15550004221'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550004221')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 102)
    assert.ok(end.answer_timestamp_ms !== null)
    const heldMs = end.end_timestamp_ms - end.answer_timestamp_ms
    assert.ok(heldMs >= 1800 && heldMs < 3000, `ended ${heldMs} ms after the answer (BYE due at 2 s)`)
  })

  for (const [allowUpdate, number] of [[true, '+15550004222'], [false, '+15550004223']] as const) {
    it(`refreshes the call itself with ${allowUpdate ? 'an UPDATE' : 'a re-INVITE with the same SDP (the caller allows no UPDATE)'} when the caller leaves it the refresher role`, async () => {
      const caller = await runSipp({scenarioXml: uacAwaitingRefresh(4, allowUpdate), target: gw.sip, service: number})
      const {code, output} = await caller.done
      assert.equal(code, 0, output)
      const end = await gw.hangupOf(number)
      assert.equal(end.status, 'completed')
      assert.equal(end.q850_cause, 16)
    })
  }
})

describe('UPDATE at the gateway (RFC 3311)', () => {
  it('answers an UPDATE offer mid-call through the leg (hold: recvonly) and an UPDATE without SDP with 200', async () => {
    const caller = await runSipp({scenarioXml: uacUpdateHold, target: gw.sip, service: '+15550004225'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550004225')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
  })
})

describe('reliable provisionals at the gateway (RFC 3262)', () => {
  it('rings a caller requiring 100rel with a reliable 180, takes its PRACK, and connects', async () => {
    const caller = await runSipp({scenarioXml: uacRequiring100relRinging, target: gw.sip, service: '+15550004230'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550004230')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
  })
})

describe('bad input in the new headers', () => {
  const OFFER = 'v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
  let peer: UdpSipPeer
  before(async () => {
    peer = await UdpSipPeer.open()
  })
  after(() => peer.close())

  const request = (method: string, callId: string, cseq: number, extra: string[], options: {toTag?: string; body?: string} = {}): string => {
    const body = options.body ?? ''
    return [
      `${method} sip:+15550004240@${gw.sip} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${callId}${method}${cseq};rport`,
      'Max-Forwards: 70',
      'From: <sip:raw@127.0.0.1>;tag=raw1',
      `To: <sip:+15550004240@127.0.0.1>${options.toTag === undefined ? '' : `;tag=${options.toTag}`}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:raw@127.0.0.1:${peer.port}>`,
      ...extra,
      ...(body === '' ? [] : ['Content-Type: application/sdp']),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n')
  }
  const finalFor = (callId: string, method: string, cseq: number): Promise<ReceivedSip> =>
    peer.next(`the final response to ${method} ${cseq} of ${callId}`, (message) => (message.status ?? 0) >= 200 && message.header('Call-ID')[0] === callId && message.header('CSeq')[0] === `${cseq} ${method}`)
  const ack = (callId: string, toTag: string): void => peer.send(gw.sip, request('ACK', callId, 1, [], {toTag}).replace(/branch=z9hG4bK\S+ACK1/, `branch=z9hG4bK${callId}INVITE1`))

  it('answers a malformed, repeated or out-of-range Session-Expires or Min-SE with 400, and the call is not created', async () => {
    const cases: Array<[string, string[]]> = [
      ['se-word', ['Session-Expires: soon']],
      ['se-negative', ['Session-Expires: -90']],
      ['se-huge', ['Session-Expires: 99999999999']],
      ['se-refresher', ['Session-Expires: 1800;refresher=both']],
      ['se-twice', ['Session-Expires: 1800', 'x: 900']],
      ['minse-word', ['Session-Expires: 1800', 'Min-SE: ninety']],
    ]
    for (const [callId, headers] of cases) {
      peer.send(gw.sip, request('INVITE', `bad-${callId}`, 1, headers, {body: OFFER}))
      const answer = await finalFor(`bad-${callId}`, 'INVITE', 1)
      assert.equal(answer.status, 400, `${callId}: ${answer.text.split('\r\n')[0]}`)
      ack(`bad-${callId}`, /tag=([^;>\s]+)/.exec(answer.header('To')[0] ?? '')?.[1] ?? '')
    }
    assert.equal(gw.events.some((event) => event.type === 'CHANNEL_CREATE' && event.to_number === '+15550004240'), false)
  })

  it('answers a PRACK with a malformed RAck 400 and one naming no provisional 481; the right one still connects the call', async () => {
    const callId = 'rack-fuzz'
    peer.send(gw.sip, request('INVITE', callId, 1, ['Require: 100rel'], {body: OFFER}))
    const ringing = await peer.next('the reliable 180', (message) => message.status === 180 && message.header('Call-ID')[0] === callId)
    const rseq = Number(ringing.header('RSeq')[0])
    const toTag = /tag=([^;>\s]+)/.exec(ringing.header('To')[0] ?? '')?.[1] ?? ''
    assert.ok(rseq > 0 && toTag !== '')
    const racks: Array<[string, number]> = [['', 400], [`${rseq}`, 400], [`x ${rseq} INVITE`, 400], [`${rseq} 1 INVITE extra`, 400], [`${rseq + 1} 1 INVITE`, 481], [`${rseq} 2 INVITE`, 481], [`${rseq} 1 BYE`, 481]]
    let cseq = 2
    for (const [rack, status] of racks) {
      peer.send(gw.sip, request('PRACK', callId, cseq, rack === '' ? [] : [`RAck: ${rack}`], {toTag}))
      assert.equal((await finalFor(callId, 'PRACK', cseq)).status, status, `RAck: ${rack || '(none)'}`)
      cseq++
    }
    peer.send(gw.sip, request('PRACK', callId, cseq, [`RAck: ${rseq} 1 INVITE`], {toTag}))
    assert.equal((await finalFor(callId, 'PRACK', cseq)).status, 200)
    const ok = await finalFor(callId, 'INVITE', 1)
    assert.equal(ok.status, 200)
    ack(callId, toTag)
    peer.send(gw.sip, request('BYE', callId, cseq + 1, [], {toTag}))
    assert.equal((await finalFor(callId, 'BYE', cseq + 1)).status, 200)
    assert.equal((await gw.hangupOf('+15550004240')).status, 'completed')
  })
})
