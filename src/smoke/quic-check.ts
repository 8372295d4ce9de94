// The `quic` check of `clutchcall smoke`: with the QUIC listener on, one SDK
// call over QUIC (docs/quic.md) as a client of the SDK would place it. The
// handshake pins the certificate by the SHA-256 `daemon.status` shows;
// session.open with the operator's JWT; events.subscribe; call.create to the
// same target as the SIP smoke call (by default the gateway's own SIP
// listener, whose dialplan echoes); a 440 Hz PCMU tone in QUIC datagrams for
// the call's duration; the echo must come back; call.hangup; and the call's
// CHANNEL_HANGUP_COMPLETE (its CDR) must say completed, with the MOS and loss
// within the thresholds.
import type {QuicStatus} from '../admin/protocol.js'
import {localAddressFor} from '../net/addresses.js'
import type {Thresholds} from '../synth/types.js'

/** What the quic check saw of its call (`.result.quic` under --json). */
export interface QuicSmokeCall {
  /** The QUIC listener, host:port (UDP). */
  readonly listen: string
  /** The certificate SHA-256 the handshake pinned. */
  readonly sha256: string
  readonly handshakeMs: number | null
  readonly callSid: string | null
  /** The call.create `to`. */
  readonly to: string
  /** Tone datagrams sent, datagrams of audio received, and those of them carrying sound (the echo). */
  readonly sentPackets: number
  readonly receivedPackets: number
  readonly receivedTone: number
  /** From the call's CHANNEL_HANGUP_COMPLETE (its CDR), when it came. */
  readonly cdr: {
    readonly status: string
    readonly q850Cause: number
    readonly codec: string
    readonly durationSeconds: number
    readonly packetsReceived: number
    readonly packetsLost: number
    readonly jitterMs: number
    readonly estimatedMos: number
  } | null
}

export interface QuicCheckOptions {
  readonly quic: QuicStatus
  readonly token: string
  /** A sip: URI the gateway calls for the B-leg (echoing what it gets). */
  readonly to: string
  readonly durationS: number
  readonly thresholds: Thresholds
  readonly settleMs: number
}

export interface QuicCheckResult {
  readonly outcome: 'ok' | 'fail'
  readonly detail: string
  readonly call: QuicSmokeCall
}

const HANDSHAKE_TIMEOUT_MS = 10_000
/** How long call.create may take to be answered (the B-leg rings and answers in that time, or the call failed). */
const ANSWER_TIMEOUT_MS = 15_000
/** At least this share of the tone sent must come back as sound for the echo to count. */
const MIN_ECHO_SHARE = 0.5

/** `host:port` or `[v6]:port` → the host to dial (a wildcard becomes loopback) and the port. */
export const quicEndpoint = (listen: string): {host: string; port: number} => {
  const colon = listen.lastIndexOf(':')
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
  return {host: localAddressFor(host), port: Number(listen.slice(colon + 1))}
}

const rpcError = (payload: Record<string, unknown>): string => `${String(payload.code ?? 'error')}: ${String(payload.message ?? JSON.stringify(payload))}`

export const quicCheck = async (options: QuicCheckOptions): Promise<QuicCheckResult> => {
  const {QuicRpcClient} = await import('../quic/rpc-client.js')
  const sha256 = options.quic.certificate.sha256
  const {host, port} = quicEndpoint(options.quic.listen)
  let handshakeMs: number | null = null
  let callSid: string | null = null
  let cdr: QuicSmokeCall['cdr'] = null
  let client: InstanceType<typeof QuicRpcClient> | undefined
  const result = (outcome: 'ok' | 'fail', detail: string): QuicCheckResult => ({
    outcome,
    detail: `${options.quic.listen}: ${detail}`,
    call: {
      listen: options.quic.listen,
      sha256,
      handshakeMs,
      callSid,
      to: options.to,
      sentPackets: client?.sentTone ?? 0,
      receivedPackets: client?.receivedAudio ?? 0,
      receivedTone: client?.receivedTone ?? 0,
      cdr,
    },
  })
  try {
    try {
      const connected = await QuicRpcClient.connect(port, {host, sha256, connectTimeoutMs: HANDSHAKE_TIMEOUT_MS})
      client = connected.client
      handshakeMs = Math.round(connected.handshakeMs)
    } catch (error) {
      return result('fail', `QUIC handshake (ALPN ${options.quic.alpn}, certificate SHA-256 ${sha256}) failed: ${(error as Error).message}`)
    }
    const opened = await client.open(options.token)
    if (opened.kind !== 'response') return result('fail', `session.open refused the token: ${rpcError(opened.payload)}`)
    const subscribed = await client.subscribe()
    if (subscribed.reply.kind !== 'response') return result('fail', `events.subscribe refused: ${rpcError(subscribed.reply.payload)}`)
    client.startTone()
    const created = await client.request('call.create', {to: options.to, from: 'smoke'}, ANSWER_TIMEOUT_MS)
    if (created.kind !== 'response') return result('fail', `call.create to ${options.to} refused: ${rpcError(created.payload)}`)
    const sid = String(created.payload.call_sid)
    callSid = sid
    const ofCall = (type: string) => (event: Record<string, unknown>) => event.call_sid === sid && event.type === type
    const answered = await client.nextEvent((event) => ofCall('CHANNEL_ANSWER')(event) || ofCall('CHANNEL_HANGUP_COMPLETE')(event), ANSWER_TIMEOUT_MS)
    if (answered === undefined) return result('fail', `call ${sid} to ${options.to} not answered within ${ANSWER_TIMEOUT_MS / 1000} s`)
    if (answered.type === 'CHANNEL_ANSWER') {
      await new Promise((resolve) => setTimeout(resolve, options.durationS * 1000))
      client.stopTone()
      const hangup = await client.request('call.hangup', {call_sid: sid})
      // The call may have ended on its own meanwhile: its CDR says how.
      if (hangup.kind !== 'response' && hangup.payload.code !== 'CC_ERR_CALL_NOT_FOUND') return result('fail', `call.hangup ${sid}: ${rpcError(hangup.payload)}`)
    }
    client.stopTone()
    const end = await client.nextEvent(ofCall('CHANNEL_HANGUP_COMPLETE'), options.settleMs)
    if (end === undefined) return result('fail', `call ${sid} has not ended on the gateway within ${options.settleMs / 1000} s of call.hangup`)
    cdr = {
      status: String(end.status),
      q850Cause: Number(end.q850_cause),
      codec: String(end.codec),
      durationSeconds: Number(end.duration_seconds),
      packetsReceived: Number(end.packets_received),
      packetsLost: Number(end.packets_lost),
      jitterMs: Number(end.jitter_ms),
      estimatedMos: Number(end.estimated_mos),
    }
    const lossPercent = cdr.packetsReceived + cdr.packetsLost === 0 ? 0 : (100 * cdr.packetsLost) / (cdr.packetsReceived + cdr.packetsLost)
    const facts = `${sid} to ${options.to}, handshake ${handshakeMs} ms, ${cdr.status} (Q.850 ${cdr.q850Cause}), ${cdr.codec || 'no codec'}, ${client.sentTone} datagram(s) sent, ${client.receivedTone} echoed back; CDR: ${cdr.packetsReceived} received, ${cdr.packetsLost} lost (${lossPercent.toFixed(1)} %), jitter ${cdr.jitterMs} ms, MOS ${cdr.estimatedMos.toFixed(2)}`
    const problems: string[] = []
    if (cdr.status !== 'completed') problems.push(`the call ended ${cdr.status}`)
    if (client.receivedTone < Math.max(1, Math.floor(client.sentTone * MIN_ECHO_SHARE))) problems.push(`only ${client.receivedTone} of ${client.sentTone} tone datagram(s) came back (at least ${MIN_ECHO_SHARE * 100} % expected)`)
    const {minMos, maxLossPercent, maxJitterMs} = options.thresholds
    if (minMos !== undefined && !(cdr.estimatedMos >= minMos)) problems.push(`MOS ${cdr.estimatedMos.toFixed(2)} below ${minMos}`)
    if (maxLossPercent !== undefined && lossPercent > maxLossPercent) problems.push(`loss ${lossPercent.toFixed(1)} % above ${maxLossPercent} %`)
    if (maxJitterMs !== undefined && cdr.jitterMs > maxJitterMs) problems.push(`jitter ${cdr.jitterMs} ms above ${maxJitterMs} ms`)
    return problems.length === 0 ? result('ok', facts) : result('fail', `${facts}; ${problems.join('; ')}`)
  } catch (error) {
    return result('fail', (error as Error).message)
  } finally {
    await client?.close()
  }
}
