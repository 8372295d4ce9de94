// Transaction matching (RFC 3261 §17.1.3 for responses, §17.2.3 for
// requests). Keys are strings so one Map lookup finds the transaction.
import {callIdOf, cseqOf, fromOf, topViaOf, type SipRequest, type SipResponse} from '../message.js'
import {tagOf} from '../name-addr.js'
import {BRANCH_MAGIC_COOKIE, viaBranch} from '../via.js'

/** §17.1.3: the branch of the top Via and the CSeq method (a CANCEL shares its INVITE's branch). */
export const clientKeyOf = (branch: string, method: string): string => `${branch}\n${method}`

export const clientKeyOfResponse = (response: SipResponse): string | undefined => {
  const branch = viaBranch(topViaOf(response))
  return branch === undefined ? undefined : clientKeyOf(branch, cseqOf(response).method)
}

/**
 * §17.2.3: branch, sent-by and method, an ACK matching its INVITE. Without
 * the magic cookie (an RFC 2543 peer) the branch cannot be trusted, so the
 * key is built from Call-ID, From tag, CSeq number, the top Via and the
 * Request-URI instead (the To tag is left out: the INVITE has none, its ACK
 * carries ours).
 */
export const serverKeyOf = (request: SipRequest, method: string = request.method): string => {
  const via = topViaOf(request)
  const matchMethod = method === 'ACK' ? 'INVITE' : method
  const sentBy = `${via.host.toLowerCase()}:${via.port ?? ''}`
  const branch = viaBranch(via)
  if (branch !== undefined && branch.startsWith(BRANCH_MAGIC_COOKIE)) return `${branch}\n${sentBy}\n${matchMethod}`
  return `2543\n${callIdOf(request)}\n${tagOf(fromOf(request)) ?? ''}\n${cseqOf(request).seq}\n${sentBy}\n${branch ?? ''}\n${request.uri}\n${matchMethod}`
}
