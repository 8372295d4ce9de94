// The record mode: received G.711 audio appended to a WAV file in the
// negotiated law (no transcoding, no quality loss); G.722 and Opus decoded to
// 16 kHz PCM16 (DecodedRecordMode). Gaps in the sender's timestamps
// (lost packets, silence suppression) are filled with silence so the file
// keeps the call's timing; packets that arrive after later audio was already
// written are left out, since a WAV file cannot be written into its past.
import {CODEC_PROFILES, createPcmDecoder, payloadTicks, type PcmDecoder, type StreamCodec} from './codecs.js'
import {silenceCode} from './play-mode.js'
import type {RtpPacket} from './rtp.js'
import type {ActiveMode, G711Codec, ModeHost} from './stream-modes.js'
import {WavWriter} from './wav.js'

/** Longest gap filled with silence; a bigger jump is a new timeline (a source restart), not a pause. */
export const MAX_GAP_FILL_SAMPLES = 5 * 8000
const SILENCE_CHUNK = 160

export class RecordMode implements ActiveMode {
  readonly kind = 'record'
  private readonly writer: WavWriter
  private readonly silence: Buffer
  private sourceSsrc = -1
  private nextTimestamp = 0
  private stopped = false

  /** Creates (or truncates) the file; throws when it cannot. */
  constructor(
    private readonly host: ModeHost,
    readonly path: string,
    codec: G711Codec,
  ) {
    this.writer = WavWriter.create(path, codec === 'PCMU' ? 'ulaw' : 'alaw')
    this.silence = Buffer.alloc(SILENCE_CHUNK, silenceCode(codec))
  }

  /** Octets of audio written so far (one per sample). */
  get samplesWritten(): number {
    return this.writer.dataBytes
  }

  onMedia(packet: RtpPacket, telephoneEvent: boolean): void {
    if (telephoneEvent || this.stopped) return
    try {
      if (packet.ssrc === this.sourceSsrc) {
        // Signed 32-bit difference: the timestamp wraps around.
        const gap = (packet.timestamp - this.nextTimestamp) | 0
        if (gap < 0) return
        if (gap <= MAX_GAP_FILL_SAMPLES) this.writeSilence(gap)
      }
      this.sourceSsrc = packet.ssrc
      this.nextTimestamp = (packet.timestamp + packet.payload.length) >>> 0
      this.writer.appendEncoded(packet.payload)
    } catch (error) {
      this.host.reportError(error instanceof Error ? error : new Error(String(error)))
      this.stop()
      this.host.modeEnded(this)
    }
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    try {
      this.writer.close()
    } catch (error) {
      this.host.reportError(error instanceof Error ? error : new Error(String(error)))
    }
  }

  private writeSilence(samples: number): void {
    for (let left = samples; left > 0; left -= SILENCE_CHUNK) {
      this.writer.appendEncoded(left >= SILENCE_CHUNK ? this.silence : this.silence.subarray(0, left))
    }
  }
}

/** Recordings of G.722 and Opus calls: 16 kHz linear PCM, wideband as the call was. */
export const DECODED_RECORDING_RATE = 16000

/**
 * The record mode for G.722 and Opus: each payload decoded to 16 kHz PCM16
 * (a WAV file a stateful codec's payloads cannot be written into as they
 * are), gaps filled with silence on the same rules as G.711 recordings.
 */
export class DecodedRecordMode implements ActiveMode {
  readonly kind = 'record'
  private readonly writer: WavWriter
  private readonly decoder: PcmDecoder
  private readonly samplesPerTick: number
  private readonly silence = new Int16Array(SILENCE_CHUNK * 2)
  private sourceSsrc = -1
  private nextTimestamp = 0
  private stopped = false

  constructor(
    private readonly host: ModeHost,
    readonly path: string,
    private readonly codec: StreamCodec,
  ) {
    this.decoder = createPcmDecoder(codec, DECODED_RECORDING_RATE)
    this.samplesPerTick = DECODED_RECORDING_RATE / CODEC_PROFILES[codec].clockRate
    try {
      this.writer = WavWriter.create(path, 'pcm16', DECODED_RECORDING_RATE)
    } catch (error) {
      this.decoder.release()
      throw error
    }
  }

  /** Samples written so far. */
  get samplesWritten(): number {
    return this.writer.dataBytes / 2
  }

  onMedia(packet: RtpPacket, telephoneEvent: boolean): void {
    if (telephoneEvent || this.stopped) return
    try {
      if (packet.ssrc === this.sourceSsrc) {
        const gap = (packet.timestamp - this.nextTimestamp) | 0
        if (gap < 0) return
        if (gap <= MAX_GAP_FILL_SAMPLES * (CODEC_PROFILES[this.codec].clockRate / 8000)) this.writeSilence(Math.round(gap * this.samplesPerTick))
      }
      const samples = this.decoder.decode(packet.payload)
      if (samples === undefined) return
      this.sourceSsrc = packet.ssrc
      this.nextTimestamp = (packet.timestamp + payloadTicks(this.codec, packet.payload)) >>> 0
      this.writer.appendPcm(samples)
    } catch (error) {
      this.host.reportError(error instanceof Error ? error : new Error(String(error)))
      this.stop()
      this.host.modeEnded(this)
    }
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.decoder.release()
    try {
      this.writer.close()
    } catch (error) {
      this.host.reportError(error instanceof Error ? error : new Error(String(error)))
    }
  }

  private writeSilence(samples: number): void {
    for (let left = samples; left > 0; left -= this.silence.length) this.writer.appendPcm(left >= this.silence.length ? this.silence : this.silence.subarray(0, left))
  }
}
