// sip.user_agent against real daemons: the Server header of every response
// (the UA core's final and provisional ones, and the transport's answer to a
// broken request) and the
// User-Agent of the INVITE the gateway places (a bridge to a raw UDP callee)
// carry the configured value, and an empty value leaves both headers out.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {TestGateway} from '../../../helpers/gateway.js'
import {inviteFrom, responseTo, UdpSipPeer} from '../../../helpers/sip-udp.js'

const options = (peer: UdpSipPeer, target: string, callId: string): string =>
  [
    `OPTIONS sip:ping@${target} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${callId}`,
    'Max-Forwards: 70',
    `From: <sip:probe@127.0.0.1>;tag=p1`,
    `To: <sip:ping@${target}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n')

/** An OPTIONS whose CSeq names another method: the transport itself answers 400. */
const broken = (peer: UdpSipPeer, target: string, callId: string): string => options(peer, target, callId).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE')

const bridgingTo = (calleePort: number): string => `dialplans:
  default:
    start: out
    nodes:
      out: { type: bridge, uri: "sip:callee@127.0.0.1:${calleePort}", timeout_s: 5, next: { answered: bye, busy: bye, no-answer: bye, failed: bye } }
      bye: { type: hangup, cause: 16 }
`

for (const {title, userAgentLine, expected} of [
  {title: 'sip.user_agent set', userAgentLine: '  user_agent: "Acme-SBC/2.1 (edge)"\n', expected: 'Acme-SBC/2.1 (edge)'},
  {title: 'sip.user_agent empty', userAgentLine: '  user_agent: ""\n', expected: undefined},
  {title: 'sip.user_agent absent', userAgentLine: '', expected: 'ClutchCall'},
]) {
  describe(`SIP product headers with ${title}`, () => {
    const gw = new TestGateway()
    let peer: UdpSipPeer
    let callee: UdpSipPeer

    before(async () => {
      peer = await UdpSipPeer.open()
      callee = await UdpSipPeer.open()
      // testConfig ends inside the sip section: an indented first line of the extra YAML lands in it.
      await gw.start(`${userAgentLine}${bridgingTo(callee.port)}`)
    })
    after(async () => {
      peer.close()
      callee.close()
      await gw.stop()
    })

    const check = (values: string[], what: string) => {
      if (expected === undefined) assert.deepEqual(values, [], `${what} must be absent`)
      else assert.deepEqual(values, [expected], what)
    }

    it('the 200 to OPTIONS', async () => {
      peer.send(gw.sip, options(peer, gw.sip, 'ua-options'))
      const answer = await peer.next('the 200 to OPTIONS', (message) => message.status === 200 && message.text.includes('ua-options'))
      check(answer.header('Server'), 'Server')
    })

    it("the transport's 400 to a broken request", async () => {
      peer.send(gw.sip, broken(peer, gw.sip, 'ua-broken'))
      const answer = await peer.next('the 400', (message) => message.status === 400 && message.text.includes('ua-broken'))
      check(answer.header('Server'), 'Server')
    })

    it('the INVITE the gateway places, and the answers to the caller', async () => {
      peer.send(gw.sip, inviteFrom(peer, gw.sip, {callId: 'ua-call'}))
      const invite = await callee.next('the bridged INVITE', (message) => message.method === 'INVITE')
      check(invite.header('User-Agent'), 'User-Agent')
      // The gateway rings at once (no automatic 100 Trying then; that one is covered in transaction-server.test.ts).
      const ringing = await peer.next('the 18x to the caller', (message) => (message.status ?? 0) >= 180 && (message.status ?? 0) < 200 && message.text.includes('ua-call'))
      check(ringing.header('Server'), 'Server')
      callee.send(`127.0.0.1:${invite.text.match(/Via: SIP\/2\.0\/UDP [^:]+:(\d+)/)?.[1] ?? '0'}`, responseTo(invite, 486, 'Busy Here'))
      const final = await peer.next('the final answer to the caller', (message) => (message.status ?? 0) >= 300 && message.text.includes('ua-call'), 15_000)
      check(final.header('Server'), 'Server')
    })
  })
}
