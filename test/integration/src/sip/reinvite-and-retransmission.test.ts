// re-INVITE hold and unhold from SIPp answered correctly (SIPp checks our
// answers' direction), and the UAS 2xx retransmission on UDP (§13.3.1.4)
// seen by a raw datagram peer that withholds its ACK.
import assert from 'node:assert/strict'
import {createSocket, type Socket} from 'node:dgram'
import {once} from 'node:events'
import {after, afterEach, before, describe, it} from 'node:test'
import {parseSipMessage} from '../../../../src/sip/parser.js'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import {freePort} from '../../../helpers/cli.js'
import {uacHold} from './scenarios.js'
import {Sipp} from './sipp.js'
import {SDP, startUa, type TestUa} from './ua-fixture.js'

describe('re-INVITE hold and unhold from SIPp', () => {
  let ours: TestUa
  let sipp: Sipp | undefined
  before(async () => {
    ours = await startUa()
  })
  after(async () => {
    await sipp?.stop()
    await ours.close()
  })

  it('answers sendonly with recvonly and sendrecv with sendrecv, through the application handler', async () => {
    const offers: string[] = []
    const calls: SipCall[] = []
    ours.ua.on('invite', (incoming) => {
      incoming.answer(SDP).then((call) => {
        calls.push(call)
        call.on('remote-sdp', (sdp) => offers.push(/a=(sendrecv|sendonly|recvonly|inactive)/.exec(sdp.toString())?.[1] ?? '?'))
      }, () => {})
    })
    sipp = await Sipp.start({scenario: {xml: uacHold}, port: await freePort(), remote: `127.0.0.1:${ours.port('udp')}`})
    const run = await sipp.exited
    assert.equal(run.code, 0, Sipp.summary(run))
    assert.deepEqual(offers, ['sendonly', 'sendrecv'])
    assert.equal((await (calls[0] as SipCall).ended).cause, 'bye')
  })
})

describe('UAS 2xx retransmission over UDP (§13.3.1.4)', () => {
  const T1 = 50
  const T2 = 200
  let ours: TestUa
  let peer: Socket
  before(async () => {
    ours = await startUa({timers: {t1: T1, t2: T2}})
    peer = createSocket('udp4')
    peer.bind(0, '127.0.0.1')
    await once(peer, 'listening')
  })
  afterEach(() => {
    peer.removeAllListeners('message')
  })
  after(async () => {
    peer.close()
    await ours.close()
  })

  const invite = (callId: string): Buffer => {
    const lines = [
      `INVITE sip:gw@127.0.0.1:${ours.port('udp')} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.address().port};branch=z9hG4bK${callId};rport`,
      'Max-Forwards: 70',
      'From: <sip:raw@127.0.0.1>;tag=raw1',
      'To: <sip:gw@127.0.0.1>',
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:raw@127.0.0.1:${peer.address().port}>`,
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(SDP)}`,
    ]
    return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${SDP}`)
  }

  const ack = (callId: string, toTag: string): Buffer =>
    Buffer.from([
      `ACK sip:clutchcall@127.0.0.1:${ours.port('udp')} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.address().port};branch=z9hG4bKack${callId}`,
      'Max-Forwards: 70',
      'From: <sip:raw@127.0.0.1>;tag=raw1',
      `To: <sip:gw@127.0.0.1>;tag=${toTag}`,
      `Call-ID: ${callId}`,
      'CSeq: 1 ACK',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'))

  /** Arrival times (ms) of what the UA sends the peer, by first line. */
  const record = (): Array<{line: string; at: number; toTag: string}> => {
    const seen: Array<{line: string; at: number; toTag: string}> = []
    peer.on('message', (bytes: Buffer) => {
      const message = parseSipMessage(bytes)
      const line = message.kind === 'response' ? String(message.status) : message.method
      seen.push({line, at: performance.now(), toTag: /;tag=([^;>\s]+)/.exec(message.headers.get('to') ?? '')?.[1] ?? ''})
    })
    return seen
  }

  it('retransmits the 200 at T1 doubling up to T2 until the ACK, then stops', async () => {
    ours.ua.once('invite', (incoming) => void incoming.answer(SDP).catch(() => {}))
    const seen = record()
    const sentAt = performance.now()
    peer.send(invite('retrans-1'), ours.port('udp'), '127.0.0.1')
    await new Promise((resolve) => setTimeout(resolve, T1 + 2 * T1 + 4 * T1 + T2 + T2 / 2))
    const oks = seen.filter(({line}) => line === '200')
    // Sent at 0, then after 50, 100, 200 (capped), 200: at ~0, 50, 150, 350, 550. Timers only
    // fire late, so each gap is at least ~its interval; the upper bounds leave room for a busy machine.
    assert.ok(oks.length >= 3 && oks.length <= 6, `200 OK sent ${oks.length} times`)
    const gaps = oks.slice(1).map(({at}, index) => at - (oks[index] as {at: number}).at)
    const expected = [T1, 2 * T1, T2, T2]
    gaps.forEach((gap, index) => {
      const interval = expected[index] as number
      assert.ok(gap >= interval * 0.8 && gap < interval + 100, `gap ${index + 1} was ${gap.toFixed(0)} ms, expected ${interval} (all: ${gaps.map((value) => value.toFixed(0)).join(', ')})`)
    })
    assert.ok((oks[0]?.at ?? 0) - sentAt < T1)
    peer.send(ack('retrans-1', oks[0]?.toTag ?? ''), ours.port('udp'), '127.0.0.1')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const settled = seen.filter(({line}) => line === '200').length
    assert.ok(settled <= oks.length + 1)
    await new Promise((resolve) => setTimeout(resolve, 2 * T2))
    assert.equal(seen.filter(({line}) => line === '200').length, settled, 'no 200 after the ACK')
  })

  it('gives up after 64·T1 without an ACK and ends the call with BYE', async () => {
    const failed = new Promise<string>((resolve) => ours.ua.once('invite', (incoming) => incoming.answer(SDP).then(() => resolve('answered'), (error: Error) => resolve(error.message))))
    const seen = record()
    peer.send(invite('retrans-2'), ours.port('udp'), '127.0.0.1')
    assert.match(await failed, /no ACK/)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(seen.filter(({line}) => line === 'BYE').length >= 1, true, 'a BYE followed')
    const oks = seen.filter(({line}) => line === '200')
    assert.ok(oks.length >= 10, `200 OK sent ${oks.length} times over 64·T1`)
  })
})
