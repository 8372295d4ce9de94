// SDP and request builders shared by the user agent unit tests.
import {UserAgent} from '../../../../src/sip/user-agent.js'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import type {IncomingInvite} from '../../../../src/sip/user-agent-incoming.js'
import {FakeSipTransport, wire} from './fake-sip-transport.js'

export const OFFER = 'v=0\r\no=alice 10 10 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n'
export const ANSWER = 'v=0\r\no=gw 20 20 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n'
export const TIMERS = {t1: 20, t2: 80, t4: 100, trying: 20}

export const request = (method: string, options: {branch?: string; cseq?: number; toTag?: string; extra?: string[]; body?: string; callId?: string; contentType?: string} = {}): string =>
  wire([
    `${method} sip:gw@127.0.0.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.20:5062;branch=${options.branch ?? `z9hG4bK${method}${options.cseq ?? 1}`};rport`,
    'Max-Forwards: 70',
    'From: "Alice" <sip:alice@192.0.2.20>;tag=alice1',
    `To: <sip:gw@127.0.0.1>${options.toTag === undefined ? '' : `;tag=${options.toTag}`}`,
    `Call-ID: ${options.callId ?? 'uas-test'}`,
    `CSeq: ${options.cseq ?? 1} ${method}`,
    'Contact: <sip:alice@192.0.2.20:5062>',
    ...(options.extra ?? []),
    ...(options.body === undefined ? [] : [`Content-Type: ${options.contentType ?? 'application/sdp'}`]),
  ], options.body ?? '')


/** A user agent on a fake transport with one call the peer placed and ACKed: the call, and its tag as our To tag. */
export const answeredIncomingCall = async (timers: typeof TIMERS = TIMERS): Promise<{fake: FakeSipTransport; ua: UserAgent; call: SipCall; tag: string}> => {
  const fake = new FakeSipTransport()
  const ua = new UserAgent({transport: fake, timers})
  const incoming = new Promise<IncomingInvite>((resolve) => ua.once('invite', resolve))
  fake.inject(request('INVITE', {body: OFFER}))
  const invite = await incoming
  const tag = invite.localTag
  const answered = invite.answer(ANSWER)
  fake.inject(request('ACK', {toTag: tag, branch: 'z9hG4bKack1'}))
  return {fake, ua, call: await answered, tag}
}
