// Digest retries (RFC 3261 §22.2): a 401 or 407 is answered once by sending
// the request again with credentials, a new branch (our Via is left off so
// the transaction layer adds a fresh one) and the next CSeq number.
import type {DigestClient} from './digest.js'
import {selectDigestChallenge} from './digest.js'
import {formatCSeq} from './header-values.js'
import {SipHeaders, headerKey} from './headers.js'
import {createRequest, type SipRequest, type SipResponse} from './message.js'

const CHALLENGES: Readonly<Record<number, {challenge: string; credentials: string}>> = {
  401: {challenge: 'www-authenticate', credentials: 'Authorization'},
  407: {challenge: 'proxy-authenticate', credentials: 'Proxy-Authorization'},
}

export const isAuthChallenge = (status: number): boolean => status === 401 || status === 407

/**
 * The request to send in answer to a 401/407, or undefined when the
 * response carries no Digest challenge we support (MD5, SHA-256, ...).
 */
export const authorizedRetry = (request: SipRequest, response: SipResponse, digest: DigestClient, seq: number): SipRequest | undefined => {
  const names = CHALLENGES[response.status]
  if (names === undefined) return undefined
  const challenge = selectDigestChallenge(response.headers.getAll(names.challenge))
  if (challenge === undefined) return undefined
  const headers = new SipHeaders()
  for (const {name, value} of request.headers) {
    const key = headerKey(name)
    // The old Via (new branch), stale credentials of the same kind, and the old CSeq go.
    if (key === 'via' || key === names.credentials.toLowerCase()) continue
    headers.append(name, key === 'cseq' ? formatCSeq({seq, method: request.method}) : value)
  }
  let authorization: string
  try {
    authorization = digest.authorize(challenge, {method: request.method, uri: request.uri, body: request.body})
  } catch {
    // An algorithm or qop we cannot answer: the challenge stands as the final response.
    return undefined
  }
  headers.append(names.credentials, authorization)
  return createRequest(request.method, request.uri, headers, request.body)
}
