// Early media and the SIP extensions of a bridged call, end to end: a
// `play` node with `early: true` sends 183 with SDP and its tone before any
// answer (the call is then refused: the tone was all the caller got); in a
// bridge, the callee's reliable 183 is PRACKed by the gateway, its early
// media (the sip-tester recording) reaches the caller before the answer,
// and the callee's 2xx makes the gateway the refresher of the B-leg, which
// it refreshes with UPDATE. The caller's media port is a socket of the test,
// so what reaches the caller, and when, is counted here.
import assert from 'node:assert/strict'
import {createSocket, type Socket} from 'node:dgram'
import {once} from 'node:events'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway} from '../../../helpers/gateway.js'
import {PCAP, runSipp} from '../../../helpers/peers.js'

const gw = new TestGateway()
let calleePort = 0

const config = (callee: number) => `  session_timers: { enabled: true, expires_s: 30, min_se_s: 2 }
tenants:
  - { id: announcer, dialplan: announce }
  - { id: bridger, dialplan: bridge-plan }
trunks:
  - id: announce
    tenant: announcer
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1888*"] }
  - id: local-bridge
    tenant: bridger
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777*"] }
  - id: callee
    tenant: bridger
    outbound: { uri: "sip:127.0.0.1:${callee}" }
dialplans:
  announce:
    start: tone
    nodes:
      tone: { type: play, early: true, tone: { frequency_hz: 440, duration_ms: 1000 }, next: busy }
      busy: { type: hangup, cause: 17 }
  bridge-plan:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: callee, timeout_s: 10, next: bye }
      bye: { type: hangup, cause: 16 }
`

/** A caller whose SDP points at `mediaPort` (a socket of the test); it expects a 183 with SDP, then `final`. */
const caller = (mediaPort: number, final: 'busy' | 'answered', holdMs = 0): string => `<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="early media caller">
<send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:+15550001111@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio ${mediaPort} RTP/AVP 0 8
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183">
  <action><ereg regexp="m=audio [1-9][0-9]* RTP/AVP" search_in="body" check_it="true" assign_to="early"/></action>
</recv>
${final === 'busy'
  ? `<recv response="486"/>
<send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-4]
From: sipp <sip:+15550001111@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>`
  : `<recv response="200"/>
<send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:+15550001111@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
<pause milliseconds="${holdMs}"/>
<send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:+15550001111@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>`}
<Reference variables="early"/>
</scenario>
`

const reply = (status: string, extra: string[] = [], body?: string, via = '[last_Via:]', cseq = '[last_CSeq:]', tag = true): string => `<![CDATA[
SIP/2.0 ${status}
${via}
[last_From:]
[last_To:]${tag ? ';tag=[pid]SIPpTag01[call_number]' : ''}
[last_Call-ID:]
${cseq}
Contact: <sip:callee@[local_ip]:[local_port]>
${extra.map((line) => `${line}\n`).join('')}${body === undefined ? 'Content-Length: 0\n' : `Content-Type: application/sdp
Content-Length: [len]

${body}`}
]]>`

/**
 * The callee: a reliable 183 with SDP (PCMA) and the recording played as
 * early media, the PRACK answered, then after `ringMs` a 2xx without SDP
 * making the gateway the refresher (6 s), the UPDATE refresh at 3 s, the BYE.
 */
const callee = (ringMs: number): string => `<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="callee with reliable early media">
<recv request="INVITE" crlf="true">
  <action>
    <ereg regexp="100rel" search_in="hdr" header="Supported:" check_it="true" assign_to="supports"/>
    <ereg regexp="^ *30$" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="asks"/>
    <ereg regexp=".*" search_in="hdr" header="Via:" assign_to="inviteVia"/>
    <ereg regexp=".*" search_in="hdr" header="To:" assign_to="inviteTo"/>
  </action>
</recv>
<send>${reply('183 Session Progress', ['Require: 100rel', 'RSeq: 1'], `v=0
o=callee 7 7 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000
`)}</send>
<nop><action><exec play_pcap_audio="${PCAP}"/></action></nop>
<recv request="PRACK">
  <action><ereg regexp="^ *1 1 INVITE$" search_in="hdr" header="RAck:" check_it="true" assign_to="rack"/></action>
</recv>
<send>${reply('200 OK', [], undefined, '[last_Via:]', '[last_CSeq:]', false)}</send>
<pause milliseconds="${ringMs}"/>
<send retrans="500">${reply('200 OK', ['Session-Expires: 6;refresher=uac', 'Require: timer', 'Allow: INVITE, ACK, CANCEL, BYE, UPDATE, PRACK'], undefined, 'Via:[$inviteVia]', 'CSeq: 1 INVITE', false).replace('[last_To:]', 'To:[$inviteTo];tag=[pid]SIPpTag01[call_number]')}</send>
<recv request="ACK"/>
<recv request="UPDATE" timeout="8000">
  <action><ereg regexp="^ *6;refresher=uac$" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="refresh"/></action>
</recv>
<send>${reply('200 OK', ['Session-Expires: 6;refresher=uac', 'Require: timer'], undefined, '[last_Via:]', '[last_CSeq:]', false)}</send>
<recv request="BYE"/>
<send>${reply('200 OK', [], undefined, '[last_Via:]', '[last_CSeq:]', false)}</send>
<Reference variables="supports,asks,rack,refresh"/>
</scenario>
`

/** A socket standing for the caller's media: it records when each RTP packet arrived. */
const mediaSink = async (): Promise<{socket: Socket; port: number; arrivals: number[]}> => {
  const socket = createSocket('udp4')
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  const arrivals: number[] = []
  socket.on('message', (packet: Buffer) => {
    if (packet.length >= 12 && (packet[0] ?? 0) >> 6 === 2 && ((packet[1] ?? 0) & 0x7f) < 64) arrivals.push(Date.now())
  })
  return {socket, port: socket.address().port, arrivals}
}

before(async () => {
  calleePort = await freePort()
  await gw.start(config(calleePort))
})
after(() => gw.stop())

describe('early media', () => {
  it('a play node with early: true sends 183 with SDP and the tone before any answer; the call is then refused', async () => {
    const sink = await mediaSink()
    try {
      const run = await runSipp({scenarioXml: caller(sink.port, 'busy'), target: gw.sip, service: '+18880000001'})
      const {code, output} = await run.done
      assert.equal(code, 0, output)
      const end = await gw.hangupOf('+18880000001')
      assert.equal(end.status, 'busy')
      assert.equal(end.answer_timestamp_ms, null, 'never answered')
      // One second of tone at 20 ms a packet, all of it before the 486.
      assert.ok(sink.arrivals.length >= 40, `the caller got ${sink.arrivals.length} RTP packets of early media`)
      assert.ok(end.packets_sent >= 40, `the CDR counts ${end.packets_sent} packets sent`)
    } finally {
      sink.socket.close()
    }
  })

  it('in a bridge, the callee\'s reliable 183 is PRACKed and its early media reaches the caller before the answer; the gateway refreshes the B-leg with UPDATE', async () => {
    const sink = await mediaSink()
    try {
      const b = await runSipp({scenarioXml: callee(1500), port: calleePort, timeoutS: 20})
      const a = await runSipp({scenarioXml: caller(sink.port, 'answered', 4500), target: gw.sip, service: '+17770000101'})
      // A caller that failed leaves the callee waiting for a call that never comes.
      void a.done.then(({code}) => code !== 0 && b.stop())
      const [aDone, bDone] = await Promise.all([a.done, b.done])
      assert.equal(aDone.code, 0, aDone.output)
      assert.equal(bDone.code, 0, bDone.output)
      const end = await gw.hangupOf('+17770000101')
      assert.equal(end.status, 'completed')
      const answeredAt = end.answer_timestamp_ms ?? 0
      const early = sink.arrivals.filter((at) => at < answeredAt).length
      // The callee rang 1.5 s with its recording playing: ~75 packets relayed before the answer.
      assert.ok(early >= 40, `${early} RTP packets reached the caller before the answer (${sink.arrivals.length} in all)`)
    } finally {
      sink.socket.close()
    }
  })
})
