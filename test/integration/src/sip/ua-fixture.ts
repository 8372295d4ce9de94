// A user agent on its own loopback transport for the SIPp integration tests.
import {SipTransport} from '../../../../src/sip/transport/sip-transport.js'
import type {SipTransportProtocol} from '../../../../src/sip/transport/types.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import type {SipTimerConfig} from '../../../../src/sip/transaction/timers.js'
import type {UserAgentOptions} from '../../../../src/sip/user-agent-types.js'

export const SDP = [
  'v=0',
  'o=clutchcall 4242 4242 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=sendrecv',
  '',
].join('\r\n')

export interface TestUa {
  readonly transport: SipTransport
  readonly ua: UserAgent
  /** Our port for `transport`. */
  port(transport: SipTransportProtocol): number
  close(): Promise<void>
}

export const startUa = async (options: {timers?: Partial<SipTimerConfig>} & Pick<UserAgentOptions, 'sessionTimers' | 'reliableProvisionals'> = {}): Promise<TestUa> => {
  const transport = await SipTransport.listen({listen: [{transport: 'udp', address: '127.0.0.1', port: 0}, {transport: 'tcp', address: '127.0.0.1', port: 0}]})
  const ua = new UserAgent({transport, ...options})
  return {
    transport,
    ua,
    port: (kind) => transport.listenerFor(kind)?.port ?? 0,
    async close() {
      ua.close()
      await transport.close()
    },
  }
}
