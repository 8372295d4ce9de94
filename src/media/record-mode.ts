// The record mode: received audio appended to a WAV file in the negotiated
// law (no transcoding, no quality loss). Gaps in the sender's timestamps
// (lost packets, silence suppression) are filled with silence so the file
// keeps the call's timing; packets that arrive after later audio was already
// written are left out, since a WAV file cannot be written into its past.
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
