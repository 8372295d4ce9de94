// The media side of one synthetic call: an RTP/RTCP port pair, the shared
// RtpStream (the very code the gateway's shards run) in tap mode, the test
// signal, and what the far end says about our stream in its RTCP.
//
// The test signal is the echo probe of src/media/tone.ts: a 100 ms burst of
// 1004 Hz at −10 dBm0 at the start of every second, silence in between. It is
// precomputed once per codec (the bursts are the same waveform from phase 0),
// so a frame costs a copy-free send. When the far end echoes, the onset of
// each burst heard back, minus when that burst left, is the round trip of the
// audio itself (`audioDelayMs`); this also works against echoes that send no
// RTCP, such as SIPp's -rtp_echo.
import type {Socket} from 'node:dgram'
import {setImmediate as nextLoopTurn} from 'node:timers/promises'
import {sharedFrameTicker, wallClockMs, FRAME_MS} from '../media/frame-ticker.js'
import {ALAW_DECODE_TABLE, ULAW_DECODE_TABLE} from '../media/g711.js'
import {estimateMos} from '../media/quality.js'
import {parseRtcp, type ReportBlock} from '../media/rtcp.js'
import {RtpStream, JITTER_BUFFER_FACTOR, type RtpRemote} from '../media/rtp-stream.js'
import {EchoProbeGenerator} from '../media/tone.js'
import {bindUdpSocket} from '../media/udp-socket.js'
import type {InboundQuality, OutboundQuality, SynthCodec} from './types.js'

/** RTP ports tried for the synthetic caller (even: RTP, next odd: RTCP). Outside the gateway's default 20000-30000. */
export const SYNTH_RTP_PORT_MIN = 40_000
export const SYNTH_RTP_PORT_MAX = 59_998
const BIND_ATTEMPTS = 64
/** Mean RTCP interval of the synthetic caller: short, so the RTT is known early in a short call. */
export const SYNTH_RTCP_INTERVAL_MS = 1000

const PROBE_PERIOD_FRAMES = 50
const PROBE_BURST_FRAMES = 5
const PROBE_PERIOD_MS = PROBE_PERIOD_FRAMES * FRAME_MS
/** Mean absolute sample above which a received frame counts as tone (the burst is ~4,600, silence 0). */
const LOUD_LEVEL = 1000
/** Samples looked at per frame for the level: every 4th is plenty for a 1 kHz tone. */
const LEVEL_STRIDE = 4

const probeFrames = new Map<SynthCodec, readonly Buffer[]>()

/** One period of the echo probe, encoded, computed once per codec. */
export const probePeriod = (codec: SynthCodec): readonly Buffer[] => {
  let frames = probeFrames.get(codec)
  if (frames === undefined) {
    const generator = new EchoProbeGenerator({burstFrames: PROBE_BURST_FRAMES, periodFrames: PROBE_PERIOD_FRAMES})
    frames = Array.from({length: PROBE_PERIOD_FRAMES}, () => (codec === 'PCMU' ? generator.nextUlawFrame() : generator.nextAlawFrame()))
    probeFrames.set(codec, frames)
  }
  return frames
}

/** Mean absolute level of a G.711 frame (sampled), on the 16-bit scale. */
export const frameLevel = (payload: Uint8Array, codec: SynthCodec): number => {
  const table = codec === 'PCMU' ? ULAW_DECODE_TABLE : ALAW_DECODE_TABLE
  let sum = 0
  let count = 0
  for (let index = 0; index < payload.length; index += LEVEL_STRIDE) {
    sum += Math.abs(table[payload[index] as number] as number)
    count++
  }
  return count === 0 ? 0 : sum / count
}

const closeSocket = (socket: Socket): Promise<void> =>
  new Promise((resolve) => {
    try {
      socket.close(() => resolve())
    } catch {
      resolve()
    }
  })

/** Binds an even/odd pair at a random place in the range; throws after BIND_ATTEMPTS tries. */
const bindPair = async (address: string, random: () => number): Promise<{port: number; rtp: Socket; rtcp: Socket}> => {
  const pairs = (SYNTH_RTP_PORT_MAX - SYNTH_RTP_PORT_MIN) / 2 + 1
  let lastError: unknown
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    const port = SYNTH_RTP_PORT_MIN + 2 * Math.floor(random() * pairs)
    let rtp: Socket | undefined
    try {
      rtp = await bindUdpSocket(address, port, {ignoreSendErrors: true})
      const rtcp = await bindUdpSocket(address, port + 1, {ignoreSendErrors: true})
      return {port, rtp, rtcp}
    } catch (error) {
      lastError = error
      if (rtp !== undefined) await closeSocket(rtp)
    }
  }
  throw new Error(`no free RTP port pair on ${address} in ${SYNTH_RTP_PORT_MIN}-${SYNTH_RTP_PORT_MAX + 1} after ${BIND_ATTEMPTS} tries: ${(lastError as Error)?.message ?? 'unknown'}`)
}

const round = (value: number, digits: number): number => {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

const median = (values: readonly number[]): number | null => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** The one-way delay the MOS is computed with: the gateway's formula (docs/calls.md, "Media and call quality"). */
const mouthToEarMs = (rttMs: number | null, jitterMs: number): number => (rttMs ?? 0) / 2 + JITTER_BUFFER_FACTOR * jitterMs + FRAME_MS

export interface MediaFigures {
  readonly codec: SynthCodec
  readonly rttMs: number | null
  readonly audioDelayMs: number | null
  readonly inbound: InboundQuality
  readonly outbound: OutboundQuality
}

export class SynthMedia {
  readonly stream: RtpStream
  private codec: SynthCodec = 'PCMU'
  private firstSequence: number | undefined
  private farEndReport: ReportBlock | undefined
  private farEndBye = false
  /** Whether any RTCP came from the far end. */
  farEndSentRtcp = false
  private byeWaiter: (() => void) | undefined
  private unsubscribe: (() => void) | undefined
  private frameIndex = 0
  private burstsSent = 0
  /** Send times of the recent burst starts (a ring of a few periods). */
  private readonly burstStarts: number[] = []
  private readonly audioDelays: number[] = []
  private loud = false
  private closed = false

  private constructor(
    readonly address: string,
    readonly port: number,
    private readonly rtp: Socket,
    private readonly rtcp: Socket,
  ) {
    this.stream = new RtpStream({
      sendRtp: (datagram, port, to, sent) => {
        // Our first sequence number: the far end's extended highest sequence is counted from it.
        if (this.firstSequence === undefined && datagram.length >= 4) this.firstSequence = datagram.readUInt16BE(2)
        this.rtp.send(datagram, port, to, () => sent())
      },
      sendRtcp: (datagram, port, to, sent) => this.rtcp.send(datagram, port, to, () => sent()),
      rtcpIntervalMs: SYNTH_RTCP_INTERVAL_MS,
      cname: `clutchcall-synth@${address}`,
      onRtcpReport: (report) => {
        if (report.direction === 'in') this.onFarEndRtcp(report.datagram)
      },
    })
    rtp.on('message', (datagram, from) => this.stream.onRtp(datagram, from.address, from.port, wallClockMs()))
    rtcp.on('message', (datagram, from) => this.stream.onRtcp(datagram, from.address, from.port, wallClockMs()))
  }

  /** Binds a port pair on `address` (the address our SDP offers). */
  static async open(address: string, random: () => number = Math.random): Promise<SynthMedia> {
    const {port, rtp, rtcp} = await bindPair(address, random)
    return new SynthMedia(address, port, rtp, rtcp)
  }

  /** The far end's answer is known: start sending the probe and listening. */
  start(remote: RtpRemote & {readonly codec: SynthCodec}): void {
    this.codec = remote.codec
    this.stream.setRemote(remote)
    this.stream.setMode({kind: 'tap', listener: (payload, info) => this.onAudio(payload, info.telephoneEvent)})
    const frames = probePeriod(remote.codec)
    this.unsubscribe = sharedFrameTicker().subscribe((nowMs) => {
      const slot = this.frameIndex % PROBE_PERIOD_FRAMES
      if (slot === 0) {
        this.burstStarts.push(nowMs)
        if (this.burstStarts.length > 4) this.burstStarts.shift()
        this.burstsSent++
      }
      this.frameIndex++
      this.stream.inject(frames[slot] as Buffer, nowMs)
    })
  }

  /** Stops sending the test signal; reception goes on (late echo, the far end's final RTCP). */
  stopSending(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
  }

  /** Resolves once the far end's RTCP BYE arrived (it carries its final report about us), or after `timeoutMs`. */
  async farEndFinalReport(timeoutMs: number): Promise<void> {
    if (this.farEndBye || this.closed || this.stream.remote === undefined) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.byeWaiter = undefined
        resolve()
      }, timeoutMs)
      this.byeWaiter = () => {
        clearTimeout(timer)
        this.byeWaiter = undefined
        resolve()
      }
    })
  }

  /** Sends our RTCP BYE (with a final report) and closes the sockets; returns what was measured. */
  async close(): Promise<MediaFigures | undefined> {
    if (this.closed) return undefined
    this.stopSending()
    const started = this.stream.remote !== undefined
    const quality = this.stream.close('synthetic call ended')
    this.closed = true
    this.byeWaiter?.()
    // dgram sends on the next turn of the loop: let the RTCP BYE leave before its socket closes.
    await nextLoopTurn()
    await Promise.all([closeSocket(this.rtp), closeSocket(this.rtcp)])
    if (!started) return undefined
    const received = quality.packetsReceived
    const expected = received + quality.packetsLost
    const inboundLossPercent = expected > 0 ? (100 * quality.packetsLost) / expected : 0
    const inbound: InboundQuality = {
      packetsReceived: received,
      packetsExpected: expected,
      packetsLost: quality.packetsLost,
      lossPercent: round(inboundLossPercent, 3),
      jitterMs: round(quality.jitterMs, 3),
      // Nothing received: no audio at all, MOS 0 as the gateway reports it.
      mos: received === 0 ? 0 : round(quality.estimatedMos, 3),
    }
    return {
      codec: this.codec,
      rttMs: quality.rttMs === null ? null : round(quality.rttMs, 3),
      audioDelayMs: this.audioDelay(),
      inbound,
      outbound: this.outbound(quality.packetsSent, quality.rttMs),
    }
  }

  private outbound(packetsSent: number, rttMs: number | null): OutboundQuality {
    const block = this.farEndReport
    if (block === undefined || this.firstSequence === undefined) return {packetsSent, source: 'none', packetsLost: null, lossPercent: null, jitterMs: null, mos: null}
    // The far end counts from the first packet it got; ours was firstSequence (16 bits, and the extension counts wraps after it).
    const counted = ((block.extendedHighestSeq - this.firstSequence) >>> 0) + 1
    // A count beyond what we sent means the far end started counting elsewhere (a restart): what we sent bounds it.
    const expected = Math.max(1, Math.min(counted, packetsSent))
    const lost = Math.min(expected, Math.max(0, block.cumulativeLost))
    const lossPercent = (100 * lost) / expected
    const jitterMs = block.jitter / 8
    return {
      packetsSent,
      source: 'rtcp',
      packetsLost: lost,
      lossPercent: round(lossPercent, 3),
      jitterMs: round(jitterMs, 3),
      mos: round(estimateMos({codec: this.codec, packetLossPercent: lossPercent, oneWayDelayMs: mouthToEarMs(rttMs, jitterMs)}).mos, 3),
    }
  }

  /**
   * The median echo delay of the bursts, when the far end echoed them: at
   * least half of the bursts sent (from the second on) must have come back,
   * so a far end playing its own audio does not pass for an echo.
   */
  private audioDelay(): number | null {
    const delay = median(this.audioDelays)
    if (delay === null) return null
    const needed = Math.max(1, Math.floor((this.burstsSent - 1) / 2))
    return this.audioDelays.length >= needed ? round(delay, 3) : null
  }

  private onAudio(payload: Buffer, telephoneEvent: boolean): void {
    if (telephoneEvent) return
    const loud = frameLevel(payload, this.codec) >= LOUD_LEVEL
    if (loud && !this.loud) {
      const nowMs = wallClockMs()
      // The burst this onset echoes: the latest one sent before it, less than a period ago.
      for (let index = this.burstStarts.length - 1; index >= 0; index--) {
        const sentAt = this.burstStarts[index] as number
        if (sentAt <= nowMs) {
          if (nowMs - sentAt < PROBE_PERIOD_MS) this.audioDelays.push(nowMs - sentAt)
          break
        }
      }
    }
    this.loud = loud
  }

  private onFarEndRtcp(datagram: Buffer): void {
    this.farEndSentRtcp = true
    const parsed = parseRtcp(datagram)
    if (!parsed.ok) return
    for (const packet of parsed.packets) {
      if (packet.type === 'SR' || packet.type === 'RR') {
        const block = packet.reports.find((report) => report.ssrc === this.stream.ssrc)
        if (block !== undefined) this.farEndReport = block
      } else if (packet.type === 'BYE') {
        this.farEndBye = true
        this.byeWaiter?.()
      }
    }
  }
}
