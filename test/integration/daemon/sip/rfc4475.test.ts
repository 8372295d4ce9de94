// RFC 4475 torture messages over UDP to a real daemon, as the RFC prints them
// except for the top Via's sent-by, which names the test's socket so the
// response can reach it (RFC 3261 §18.2.2 answers to the Via's port):
// sdp01 (§3.3.15) gets 406, insuf (§3.3.1) and multi01 (§3.3.8) get 400 with
// a Warning naming the problem, and a request without a Via is still dropped.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {sleep, TestGateway} from '../../../helpers/gateway.js'
import {inviteFrom, UdpSipPeer} from '../../../helpers/sip-udp.js'

const SDP01 = `INVITE sip:user@example.com SIP/2.0
To: sip:j_user@example.com
Contact: <sip:caller@host15.example.net>
From: sip:caller@example.net;tag=234
Max-Forwards: 5
Call-ID: sdp01.ndaksdj9342dasdd
Accept: text/nobodyKnowsThis
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw
Content-Length: 150
Content-Type: application/sdp

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.5
s=-
c=IN IP4 192.0.2.5
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
`

const INSUF = `INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: 152

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.95
s=-
c=IN IP4 192.0.2.95
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
`

/** The RFC's body ends in an empty line: its l: 154 counts it. */
const MULTI01 = `INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: 154
Contact: <sip:caller@host36.example.net>
Max-Forwards: 5

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.25
s=-
c=IN IP4 192.0.2.25
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC

`

/** CRLF line ends, and the top Via's sent-by replaced by the peer's address. */
const wire = (message: string, peer: UdpSipPeer): Buffer => {
  const crlf = message.replace(/\n/g, '\r\n')
  const routed = crlf.replace(/^(Via: SIP\/2\.0\/UDP )[^;\r]+/m, `$1127.0.0.1:${peer.port}`)
  const blank = routed.indexOf('\r\n\r\n')
  const head = routed.slice(0, blank)
  const body = routed.slice(blank + 4)
  const declared = Number(/^(?:Content-Length|l): (\d+)$/m.exec(head)?.[1])
  assert.equal(Buffer.byteLength(body), declared, 'the body is exactly as long as the RFC message declares')
  return Buffer.from(routed, 'latin1')
}

describe('RFC 4475 application-layer torture messages against a real daemon (UDP)', () => {
  const gw = new TestGateway()
  const peers: UdpSipPeer[] = []
  const peer = async (): Promise<UdpSipPeer> => {
    const opened = await UdpSipPeer.open()
    peers.push(opened)
    return opened
  }

  before(() => gw.start())
  after(async () => {
    for (const opened of peers) opened.close()
    await gw.stop()
  })

  it('sdp01 (§3.3.15): an INVITE whose Accept admits no SDP gets 406 Not Acceptable, never a 200', async () => {
    const caller = await peer()
    caller.send(gw.sip, wire(SDP01, caller))
    const final = await caller.next('the final answer to sdp01', (message) => (message.status ?? 0) >= 200)
    assert.equal(final.status, 406, final.text)
    assert.deepEqual(final.header('Accept'), ['application/sdp'])
    assert.deepEqual(final.header('Call-ID'), ['sdp01.ndaksdj9342dasdd'])
    await sleep(300)
    assert.deepEqual(caller.received.filter((message) => (message.status ?? 0) >= 200 && (message.status ?? 0) < 300), [], 'no 2xx')
  })

  it('an INVITE whose Accept admits application/* is not refused for it', async () => {
    const caller = await peer()
    caller.send(gw.sip, inviteFrom(caller, gw.sip, {callId: 'accept-any-application', extraHeaders: ['Accept: text/plain, application/*']}))
    const final = await caller.next('the final answer', (message) => (message.status ?? 0) >= 200, 10_000)
    assert.equal(final.status, 200, final.text)
  })

  it('insuf (§3.3.1): no Call-ID, From, To or Max-Forwards gets 400 naming what is missing, with what it had copied back', async () => {
    const caller = await peer()
    caller.send(gw.sip, wire(INSUF, caller))
    const answer = await caller.next('the answer to insuf', (message) => message.status !== undefined)
    assert.equal(answer.status, 400, answer.text)
    assert.match(answer.header('Warning')[0] ?? '', /^399 \S+ "missing (From|To|Call-ID)"$/)
    assert.deepEqual(answer.header('CSeq'), ['193942 INVITE'])
    assert.match(answer.header('Via')[0] ?? '', /branch=z9hG4bKkdj\.insuf/)
    assert.deepEqual(answer.header('Call-ID'), [], 'nothing is invented')
  })

  it('multi01 (§3.3.8): several values in single-value headers get 400 naming the header, each header copied once', async () => {
    const caller = await peer()
    caller.send(gw.sip, wire(MULTI01, caller))
    const answer = await caller.next('the answer to multi01', (message) => message.status !== undefined)
    assert.equal(answer.status, 400, answer.text)
    assert.match(answer.header('Warning')[0] ?? '', /^399 \S+ "more than one (From|To|Call-ID|CSeq|Max-Forwards)"$/)
    assert.deepEqual(answer.header('Call-ID'), ['multi01.98asdh@192.0.2.1'])
    assert.deepEqual(answer.header('CSeq'), ['5 INVITE'])
    assert.equal(answer.header('To').length, 1)
  })

  it('a request that cannot be routed back (no Via) is still dropped, and the daemon keeps answering', async () => {
    const caller = await peer()
    caller.send(gw.sip, wire(INSUF, caller).toString('latin1').replace(/Via: [^\r]+\r\n/, ''))
    await sleep(500)
    assert.deepEqual(caller.received, [])
    caller.send(gw.sip, wire(MULTI01, caller))
    assert.equal((await caller.next('an answer after the drop', (message) => message.status !== undefined)).status, 400)
  })
})
