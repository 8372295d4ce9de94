// What dialplan nodes need from a call leg and its media, whatever carries it
// (SIP today, WebRTC later). The SIP engine adapts its dialogs and the media
// engine's streams to these interfaces; nodes never see SIP or sockets.
import type {Logger} from 'pino'
import type {CallStatus} from '../../src/cdr/record.js'
import type {MediaQuality} from './call.js'

export type PlaySource = {readonly tone: {readonly frequencyHz: number; readonly durationMs: number}} | {readonly file: string}

export interface MediaEndpoint {
  /** Sends nothing; received media is still measured. */
  silence(): void
  /** Sends every received frame back to the caller. */
  echo(): void
  /** Plays a tone or a WAV file; resolves when it has been sent. */
  play(source: PlaySource): Promise<void>
  /** Appends the caller's audio to a WAV file until the mode changes or the stream closes. */
  record(file: string): void
  /** Forwards this leg's media to the other leg and back (both must be in one media shard). */
  relayWith(other: MediaEndpoint): void
  /** Delivers each received 20 ms G.711 µ-law frame (AI agents take µ-law), and sends frames given to the returned function. */
  tap(onFrame: (ulaw: Buffer) => void): (ulaw: Buffer) => void
  /** DTMF digits received (RFC 4733). */
  onDtmf(handler: (digit: string) => void): void
  quality(): MediaQuality | undefined
}

export interface LegEnding {
  readonly cause: number
  readonly status: CallStatus
  /** The final error status an unanswered inbound leg's INVITE got (486, 487 after a CANCEL…); absent once answered. */
  readonly sipStatus?: number
}

/** Where a transfer goes: a sip:, sips: or tel: URI, or a number at the leg's peer (SIP: sip:<number>@ its host). */
export type TransferTargetSpec = {readonly uri: string} | {readonly number: string}

/** What became of a transfer a leg's peer was asked to carry out. */
export interface LegTransferResult {
  /** The new call was answered (SIP: a 2xx sipfrag). */
  readonly ok: boolean
  /** The SIP status that decided it: the REFER's refusal, the new call's final status, 408 when no final word came in time. */
  readonly status: number
  readonly reason: string
  /** The target as sent. */
  readonly target: string
}

export interface CallLeg {
  readonly media: MediaEndpoint
  /** Answers (SIP: 200 OK with our SDP); resolves once the answer is confirmed (ACK), or once the leg has ended instead (no ACK, CANCEL). */
  answer(): Promise<void>
  /**
   * Opens media before the answer (SIP: 183 Session Progress with our SDP),
   * so the caller hears what the leg plays or relays while the call stays
   * unanswered. True once opened (again: true); false when answered, over,
   * or the 183 cannot go. Legs without early media leave it out.
   */
  earlyMedia?(): Promise<boolean>
  hangup(cause: number): Promise<void>
  /**
   * Asks the leg's peer to call `target` in the gateway's place (SIP: REFER,
   * RFC 3515) and waits for the outcome, at most `timeoutMs` after the peer
   * took the request. The leg stays up either way. Legs that cannot transfer leave it out.
   */
  transfer?(target: TransferTargetSpec, options: {readonly timeoutMs: number}): Promise<LegTransferResult>
  /** Resolves when the leg has ended, whichever side ended it. */
  readonly ended: Promise<LegEnding>
}

export type DialOutcome = 'answered' | 'busy' | 'no-answer' | 'failed' | 'canceled'

export interface DialRequest {
  readonly trunk: string | undefined
  readonly uri: string | undefined
  readonly to: string
  readonly from: string
  readonly timeoutS: number
  /** The A-leg, whose media shard the B-leg must share for relaying. */
  readonly aLeg: CallLeg
  readonly callSid: string
  /** The call's logger (it carries call_sid and trace_id): the B-leg's lines join the call's trace. */
  readonly log?: Logger
  /** The B-leg's callee sent early media (an 18x with SDP): its media, ready to relay before the answer. Called at most once. */
  readonly onEarlyMedia?: (media: MediaEndpoint) => void
}

export interface DialResult {
  readonly outcome: DialOutcome
  readonly leg?: CallLeg
  readonly cause: number
}

/** Places outbound legs for bridge nodes. */
export interface Dialer {
  dial(request: DialRequest): Promise<DialResult>
}
