// One OPTIONS keepalive probe (RFC 3261 §11) to a peer, outside any dialog,
// with its own deadline: the non-INVITE transaction would wait 32 s (Timer F)
// for an answer, far longer than a keepalive interval, so it is ended when
// the deadline passes and the probe counts as failed.
import {formatCSeq} from './header-values.js'
import {SipHeaders} from './headers.js'
import {generateCallId, generateTag} from './ids.js'
import {createRequest} from './message.js'
import {firstTargetOf} from './out-of-dialog-target.js'
import {preciseNow} from './transport/types.js'
import {parseSipUri} from './uri.js'
import {productHeader, type UserAgentCore} from './user-agent-core.js'
import {sendRequest} from './user-agent-request.js'
import type {ClientTransaction} from './transaction/types.js'

export interface ProbeResult {
  /** True when the answer proves the peer alive (see probeFailed). */
  readonly ok: boolean
  /** The final status, or null without one (timeout, transport error). */
  readonly status: number | null
  /** Request sent → final response, ms; null without a response. */
  readonly rttMs: number | null
  /** What went wrong, in words; null when ok. */
  readonly error: string | null
}

/**
 * Whether an answer to a keepalive OPTIONS counts as a failure: 408 and every 5xx (the peer, or a
 * proxy in front of it, says it cannot serve now). Any other final answer, 4xx and 6xx included
 * (405 Method Not Allowed, 404, 401, 403...), comes from a live SIP peer.
 */
export const probeFailed = (status: number): boolean => status === 408 || (status >= 500 && status < 600)

/** Sends one OPTIONS to `uri` (a SIP URI; its user part is dropped) and waits at most `timeoutMs` for the final answer. */
export const probeOptions = async (core: UserAgentCore, uri: string, options: {timeoutMs: number}): Promise<ProbeResult> => {
  const parsed = parseSipUri(uri)
  parsed.user = undefined
  parsed.password = undefined
  parsed.headers = []
  let target
  try {
    target = await firstTargetOf(core, parsed)
  } catch (error) {
    return {ok: false, status: null, rttMs: null, error: (error as Error).message}
  }
  const transport = target.transport
  const requestUri = `${parsed.scheme}:${parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host}${parsed.port === undefined ? '' : `:${parsed.port}`}${transport === 'udp' || parsed.scheme === 'sips' ? '' : `;transport=${transport}`}`
  const local = core.transport.listenerFor(transport)
  const fromHost = local === undefined ? 'invalid' : local.advertise.includes(':') ? `[${local.advertise}]` : local.advertise
  const headers = new SipHeaders([
    ['Max-Forwards', '70'],
    ['From', `<sip:keepalive@${fromHost}>;tag=${generateTag()}`],
    ['To', `<${requestUri}>`],
    ['Call-ID', generateCallId()],
    ['CSeq', formatCSeq({seq: 1, method: 'OPTIONS'})],
    ['Accept', 'application/sdp'],
    ...productHeader(core),
  ])
  const started = preciseNow()
  let transaction: ClientTransaction | undefined
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => {
      transaction?.terminate()
      resolve({ok: false, status: null, rttMs: null, error: `no answer within ${options.timeoutMs} ms`})
    }, options.timeoutMs)
  })
  const answered = sendRequest(core, createRequest('OPTIONS', requestUri, headers), target, {started: (started) => (transaction = started)}).then((outcome): ProbeResult => {
    if (outcome.kind === 'failure') {
      const {failure} = outcome
      return {ok: false, status: null, rttMs: null, error: failure.kind === 'timeout' ? 'no answer (timeout)' : failure.error.message}
    }
    const {status, reason} = outcome.response
    const rttMs = Math.round((preciseNow() - started) * 10) / 10
    return probeFailed(status) ? {ok: false, status, rttMs, error: `${status} ${reason}`} : {ok: true, status, rttMs, error: null}
  })
  try {
    return await Promise.race([answered, deadline])
  } finally {
    clearTimeout(timer)
  }
}
