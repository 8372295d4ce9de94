// The ACK an INVITE client transaction sends for a 3xx-6xx (RFC 3261
// §17.1.1.3): same Request-URI, Call-ID, From, CSeq number and top Via
// (branch included) as the INVITE, the To of the response (with its tag),
// the INVITE's Route headers, and no body.
import {DEFAULT_MAX_FORWARDS} from '../header-values.js'
import {SipHeaders} from '../headers.js'
import {createRequest, cseqOf, type SipRequest, type SipResponse} from '../message.js'

export const ackForFailure = (invite: SipRequest, response: SipResponse): SipRequest => {
  const headers = new SipHeaders()
  const topVia = invite.headers.get('via')
  if (topVia !== undefined) headers.append('Via', topVia)
  for (const route of invite.headers.getAll('route')) headers.append('Route', route)
  headers.append('Max-Forwards', String(DEFAULT_MAX_FORWARDS))
  headers.append('From', invite.headers.get('from') ?? '')
  headers.append('To', response.headers.get('to') ?? invite.headers.get('to') ?? '')
  headers.append('Call-ID', invite.headers.get('call-id') ?? '')
  headers.append('CSeq', `${cseqOf(invite).seq} ACK`)
  return createRequest('ACK', invite.uri, headers)
}
