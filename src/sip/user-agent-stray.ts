// A 2xx to one of our INVITEs that we do not want: a second fork after the
// first 2xx (forking beyond the first 2xx is not supported), a 2xx that
// raced our CANCEL, or a 2xx whose transaction is gone. RFC 3261 §13.2.2.4
// and §15: it is ACKed, then the dialog it created is ended with BYE. A
// retransmission of a 2xx we already answered gets the same ACK again.
import {Dialog, contactUriOf, dialogKeyOfResponse} from './dialog.js'
import {callIdOf, cseqOf, fromOf, type SipResponse} from './message.js'
import {tagOf} from './name-addr.js'
import type {SipTransportProtocol} from './transport/types.js'
import {SipCall} from './user-agent-call.js'
import {isSipsUri, type UserAgentCore} from './user-agent-core.js'

export const hangUpUnwanted2xx = (core: UserAgentCore, response: SipResponse, transport: SipTransportProtocol, connectionId?: number): void => {
  const key = dialogKeyOfResponse(response)
  if (key === undefined) return
  const existing = core.lookup(key)
  if (existing instanceof SipCall) {
    existing.resendAck(response)
    return
  }
  const localTag = tagOf(fromOf(response)) ?? ''
  const dialog = new Dialog({
    role: 'uac',
    callId: callIdOf(response),
    localTag,
    remoteTag: key.slice(key.lastIndexOf('\n') + 1),
    localAddress: response.headers.get('from') ?? '',
    remoteAddress: response.headers.get('to') ?? '',
    localSeq: cseqOf(response).seq,
    remoteSeq: undefined,
    remoteTarget: contactUriOf(response) ?? '',
    routeSet: response.headers.values('record-route').reverse(),
    localContact: core.contactFor(transport, isSipsUri(response.headers.get('to') ?? '')),
    transport,
    connectionId,
    state: 'confirmed',
  })
  if (dialog.remoteTarget === '') return
  const call = new SipCall(core, dialog, 'outbound', {local: Buffer.alloc(0), remote: response.body})
  call
    .sendAck(cseqOf(response).seq)
    .then(() => call.bye())
    .catch(() => call.shutdown())
}
