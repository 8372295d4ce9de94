// One SIP leg of a call, as the dialplan sees it (CallLeg): an inbound INVITE
// being answered, or an outbound call already answered, with its media stream.
// It follows the dialog to its end and reports how the leg ended.
import type {Logger} from 'pino'
import {classifyCall, q850ToSipStatus} from '../../src/sip/q850.js'
import type {RtpRemote} from '../../src/media/rtp-stream.js'
import {audioCodecName, opusMaxAverageBitrate, parseRemoteSdp, type LocalAudioSdp, type RemoteAudioSdp, type SdpCodec} from '../../src/sip/sdp.js'
import {answerAudioOffer, sameCodec} from '../../src/sip/sdp-offer-answer.js'
import type {SrtpKeys} from '../../src/sip/sdp-srtp.js'
import {parseNameAddr} from '../../src/sip/name-addr.js'
import {SipParams} from '../../src/sip/params.js'
import {formatUri, parseSipUri} from '../../src/sip/uri.js'
import type {IncomingInvite} from '../../src/sip/user-agent-incoming.js'
import type {SipCall} from '../../src/sip/user-agent-call.js'
import type {IncomingRefer} from '../../src/sip/user-agent-refer.js'
import type {CallEnd} from '../../src/sip/user-agent-types.js'
import type {CallLeg, LegEnding, LegTransferResult, TransferTargetSpec} from '../calls/leg.js'
import type {StreamMediaEndpoint} from './media-endpoint.js'

const NORMAL_CLEARING = 16
/** Q.850 102, what RFC 3398 maps 408 to: the end of a call whose 200 OK was never acknowledged. */
const RECOVERY_ON_TIMER_EXPIRY = 102
/** Before answer, cause 16 has no SIP status of its own: "temporarily unavailable" is the closest refusal. */
const DEFAULT_REJECT_STATUS = 480

/** The media stream's remote for a negotiated codec (one of ours: answers and accepted answers only pick those). */
export const remoteOf = (remote: RemoteAudioSdp, codec: Pick<SdpCodec, 'payloadType' | 'name' | 'clockRate' | 'fmtp'>, telephoneEventPt: number | undefined, srtp?: SrtpKeys): RtpRemote => {
  const maxBitrate = audioCodecName(codec) === 'opus' ? opusMaxAverageBitrate(codec.fmtp) : undefined
  return {
    ...(srtp === undefined ? {} : {srtp}),
    address: remote.address,
    rtpPort: remote.port,
    rtcpPort: remote.rtcpMux ? remote.port : remote.rtcpPort,
    payloadType: codec.payloadType,
    codec: audioCodecName(codec) ?? 'PCMU',
    ...(telephoneEventPt === undefined ? {} : {telephoneEventPayloadType: telephoneEventPt}),
    ...(maxBitrate === undefined ? {} : {maxBitrate}),
  }
}

/** A number at the host (and port, transport) of a dialog's remote target: where a carrier takes `sip:<number>@` itself. */
export const numberAtPeer = (remoteTarget: string, number: string): string => {
  const peer = parseSipUri(remoteTarget)
  const transport = peer.params.get('transport')
  return formatUri({...peer, user: number, password: undefined, params: new SipParams(typeof transport === 'string' ? {transport} : {}), headers: []})
}

/** Decides a REFER received on a leg (daemon/sip/transfer.ts carries it out). */
export type LegReferHandler = (refer: IncomingRefer, leg: SipLeg) => void

/** The first audio payload of a peer's SDP that is one of `ours` (our offer's codecs). */
export const firstOf = (remote: RemoteAudioSdp, ours: readonly SdpCodec[]): SdpCodec | undefined =>
  remote.payloads.find((payload) => payload.name.toLowerCase() !== 'telephone-event' && ours.some((codec) => sameCodec(payload, codec)))

/** The peer's telephone-event payload type at the codec's clock (RFC 4733 events count ticks of the audio clock). */
export const telephoneEventFor = (remote: RemoteAudioSdp, codec: Pick<SdpCodec, 'clockRate'>): number | undefined =>
  remote.payloads.find((payload) => payload.name.toLowerCase() === 'telephone-event' && payload.clockRate === codec.clockRate)?.payloadType

const isHeld = (remote: RemoteAudioSdp): boolean => remote.port === 0 || remote.address === '0.0.0.0' || remote.address === '::'

/** The leg each dialog is followed by, for an INVITE with Replaces that names the dialog (replaces.ts). */
const legsByDialog = new WeakMap<SipCall, SipLeg>()

export class SipLeg implements CallLeg {
  /** The leg that follows `call` now, if any (a dialog a transfer or a replacement left has none). */
  static following(call: SipCall): SipLeg | undefined {
    const leg = legsByDialog.get(call)
    return leg?.sipCall === call ? leg : undefined
  }

  /** The call the leg belongs to (set by whoever made the leg): an INVITE with Replaces must come for the same tenant. */
  callSid: string | undefined
  readonly ended: Promise<LegEnding>
  private resolveEnded: (ending: LegEnding) => void = () => {}
  private sipCall: SipCall | undefined
  private finished = false
  /** Runs just before the 200 OK is sent (the call's `answering`: the CDR journal records the answer). */
  private beforeAnswer: (() => void) | undefined
  /** The media is SRTP: a re-offer must keep it (and gets our key again), or is refused with 488. */
  private srtp = false
  /** The 183 with our SDP went: media flows before the answer. */
  private earlyMediaOpen = false
  /** Decides the REFERs the leg's peer sends; without it they get 603. */
  private referHandler: LegReferHandler | undefined
  /** A transfer the leg's peer asked for, under way: a transferor that hangs up meanwhile does not end the leg before it is decided. */
  private transferring: Promise<unknown> | undefined

  private constructor(
    readonly media: StreamMediaEndpoint,
    private readonly log: Logger,
    private readonly incoming: IncomingInvite | undefined,
    private localSdp: LocalAudioSdp,
    private readonly answerSdp: string,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve))
  }

  /** The A-leg of an inbound call: not answered yet; `answer()` sends the 200 with `answerSdp`. */
  static inbound(incoming: IncomingInvite, media: StreamMediaEndpoint, log: Logger, local: LocalAudioSdp, answerSdp: string, beforeAnswer?: () => void): SipLeg {
    const leg = new SipLeg(media, log, incoming, local, answerSdp)
    leg.beforeAnswer = beforeAnswer
    leg.srtp = (local.crypto?.length ?? 0) > 0
    incoming.on('cancelled', (_request, q850Cause) => leg.end({cause: q850Cause ?? NORMAL_CLEARING, status: 'canceled', sipStatus: 487}))
    // The stack gave up on the attempt (a reliable provisional never PRACKed, a response that could not be sent).
    incoming.on('failed', (sipStatus, q850Cause) => {
      log.info({sip_status: sipStatus, q850_cause: q850Cause}, 'inbound call failed in the SIP stack')
      leg.end({cause: q850Cause, status: 'failed', sipStatus})
    })
    return leg
  }

  /** A B-leg whose 2xx has arrived; `srtp`: the answer turned SRTP on (re-INVITEs must keep it). */
  static outbound(call: SipCall, media: StreamMediaEndpoint, log: Logger, local: LocalAudioSdp, srtp = false): SipLeg {
    const leg = new SipLeg(media, log, undefined, local, '')
    leg.srtp = srtp
    leg.follow(call)
    return leg
  }

  get isAnswered(): boolean {
    return this.sipCall !== undefined
  }

  /** The dialog the leg talks over now (a transfer replaces it); undefined before the answer. */
  get call(): SipCall | undefined {
    return this.sipCall
  }

  /** Our current SDP of the leg: the RTP address and port a transfer's new call is offered. */
  get localAudio(): LocalAudioSdp {
    return this.localSdp
  }

  get encrypted(): boolean {
    return this.srtp
  }

  /** Takes REFERs from the leg's peer from now on (and on the dialog a transfer moves it to). */
  enableTransfers(handler: LegReferHandler): void {
    this.referHandler = handler
    if (this.sipCall !== undefined) this.sipCall.referHandler = (refer) => handler(refer, this)
  }

  /**
   * A transfer's new call takes the leg over: the leg follows `call` from now
   * on, with `local` as its SDP (the same RTP stream: the media of the call,
   * relayed or played, goes on). Returns the dialog it replaced, which ends
   * without ending the leg.
   */
  replaceCall(call: SipCall, local: LocalAudioSdp, srtp: boolean): SipCall | undefined {
    const replaced = this.sipCall
    this.localSdp = local
    this.srtp = srtp
    if (replaced !== undefined) replaced.referHandler = undefined
    this.follow(call)
    return replaced
  }

  /** Keeps the leg up through `work` (a transfer's new call) even if the transferor hangs up meanwhile (a blind transfer's early BYE). */
  whileTransferring(work: Promise<unknown>): void {
    const settled = work.catch(() => undefined)
    this.transferring = settled
    void settled.then(() => {
      if (this.transferring === settled) this.transferring = undefined
    })
  }

  async transfer(target: TransferTargetSpec, options: {readonly timeoutMs: number}): Promise<LegTransferResult> {
    const call = this.sipCall
    if (call === undefined || this.finished) return {ok: false, status: 481, reason: 'Call Does Not Exist', target: 'uri' in target ? target.uri : target.number}
    let uri: string
    try {
      uri = 'uri' in target ? target.uri : numberAtPeer(call.dialog.remoteTarget, target.number)
    } catch {
      return {ok: false, status: 400, reason: 'No SIP URI to put the number at', target: 'uri' in target ? target.uri : target.number}
    }
    const referredBy = `<${formatUri(parseNameAddr(call.dialog.localAddress, 'From').uri)}>`
    const outcome = await call.refer(uri, {timeoutMs: options.timeoutMs, referredBy})
    this.log.info({target: uri, ok: outcome.ok, status: outcome.status, reason: outcome.reason, ...(outcome.ok ? {} : {stage: outcome.stage})}, 'REFER sent: outcome')
    return {ok: outcome.ok, status: outcome.status, reason: outcome.reason, target: uri}
  }

  async answer(): Promise<void> {
    if (this.sipCall || this.finished || !this.incoming) return
    // Every UDP send leaves on a later tick (the transport awaits the address,
    // dgram looks it up again). Let the provisionals queued this turn (the 180)
    // reach the kernel before the answer is journaled: a daemon killed between
    // the journal line and the wire would otherwise leave a caller who heard
    // nothing, who retransmits its INVITE to the next daemon and gets a second,
    // real call beside the recovered one (a double bill).
    await new Promise<void>((resolve) => setImmediate(resolve))
    if (this.sipCall || this.finished) return
    this.beforeAnswer?.()
    let call: SipCall
    try {
      call = await this.incoming.answer(this.answerSdp)
    } catch (error) {
      // No ACK came within 64·T1 (the UA core has ended the dialog with a BYE), typically a caller that
      // gave up while we were slow to answer. The leg ends here, as a failed call: otherwise nothing would
      // ever end it, and the call, its media stream and its journal entry would stay up for good.
      if (this.finished) return
      this.log.info({err: error}, 'answer not confirmed: no ACK')
      this.end({cause: RECOVERY_ON_TIMER_EXPIRY, status: 'failed'})
      return
    }
    this.follow(call)
  }

  /** 183 Session Progress with our answer SDP (reliable when the caller asked for 100rel): the stream already has the caller's address. */
  async earlyMedia(): Promise<boolean> {
    if (this.earlyMediaOpen) return true
    if (this.sipCall || this.finished || !this.incoming) return false
    if (!this.incoming.ring({sdp: this.answerSdp})) return false
    this.earlyMediaOpen = true
    this.log.info({reliable: this.incoming.reliable !== undefined}, 'early media: 183 Session Progress sent')
    return true
  }

  async hangup(cause: number): Promise<void> {
    if (this.finished) return
    if (this.sipCall) {
      await this.sipCall.bye({q850Cause: cause}).catch((error: unknown) => this.log.warn({err: error}, 'BYE failed'))
      this.end({cause, status: 'completed'})
      return
    }
    const sipStatus = q850ToSipStatus(cause) ?? DEFAULT_REJECT_STATUS
    this.incoming?.reject(sipStatus, {q850Cause: cause})
    this.end({cause, status: classifyCall({answered: false, cause}).status, ...(this.incoming ? {sipStatus} : {})})
  }

  end(ending: LegEnding): void {
    if (this.finished) return
    this.finished = true
    this.resolveEnded(ending)
  }

  private follow(call: SipCall): void {
    this.sipCall = call
    legsByDialog.set(call, this)
    const referHandler = this.referHandler
    if (referHandler !== undefined) call.referHandler = (refer) => referHandler(refer, this)
    call.reinviteHandler = (offer) => this.answerReinvite(offer.sdp)
    // The answer to one of our offers (a session refresh re-INVITE): follow the peer's media if it moved.
    call.on('remote-sdp', (sdp, role) => {
      if (role === 'answer' && this.sipCall === call) void this.followAnswer(sdp)
    })
    void call.ended.then(async (end: CallEnd) => {
      if (this.transferring !== undefined) await this.transferring
      // A transfer moved the leg to another dialog: the end of this one is not the leg's.
      if (this.sipCall !== call) return
      // RFC 4028 §10: the refresh never came; our BYE carried Q.850 102, which the CDR keeps.
      if (end.cause === 'session-expired') this.log.info({q850_cause: end.q850Cause, session_interval_s: call.sessionTimer?.interval, refresher: call.sessionTimer?.refresher}, 'session timer expired: call ended with BYE')
      this.end({cause: end.q850Cause ?? NORMAL_CLEARING, status: 'completed'})
    })
  }

  private async followAnswer(sdp: Buffer): Promise<void> {
    try {
      const remote = parseRemoteSdp(sdp)
      const codec = remote.payloads.find((payload) => audioCodecName(payload) === this.media.codec) ?? firstOf(remote, this.localSdp.codecs)
      if (codec === undefined || isHeld(remote)) return
      const name = audioCodecName(codec)
      if (name !== undefined) this.media.codec = name
      await this.media.stream.setRemote(remoteOf(remote, codec, telephoneEventFor(remote, codec)))
    } catch (error) {
      this.log.warn({err: error}, 'the answer to our re-offer is unusable; media left as it was')
    }
  }

  /** Hold, unhold and session refresh: answer from our current SDP and follow a new remote address. */
  private async answerReinvite(sdp: Buffer | undefined): Promise<string> {
    if (sdp === undefined || sdp.length === 0) throw new Error('offerless re-INVITE')
    const answer = answerAudioOffer(sdp, {address: this.localSdp.address, port: this.localSdp.port, codecs: this.localSdp.codecs, previous: this.localSdp, encryption: this.srtp ? 'required' : 'none'})
    this.localSdp = answer.local
    const name = audioCodecName(answer.codec)
    if (name !== undefined) this.media.codec = name
    if (!isHeld(answer.remote)) await this.media.stream.setRemote(remoteOf(answer.remote, answer.codec, answer.telephoneEventPt, answer.srtp))
    this.log.info({direction: answer.remote.direction, held: isHeld(answer.remote) || answer.remote.onHold}, 're-INVITE answered')
    return answer.sdp
  }
}
