// Opus ↔ G.711 µ-law for WebRTC clients that send Opus. The media engine and
// the SIP side speak G.711 at 8 kHz, so Opus is decoded straight to 8 kHz
// (libopus resamples internally) and encoded from 8 kHz, narrowband, at the
// lowest complexity: the SIP leg cannot carry more than narrowband anyway, and
// this keeps an encode at ~0.5 ms per 20 ms frame (libopus in WebAssembly via
// opusscript; measured in docs/sdk-rpc.md).
import {encodeUlaw, ULAW_DECODE_TABLE} from '../../src/media/g711.js'
import {opusScript} from '../../src/media/opus.js'

const RATE = 8000
/** 20 ms at 8 kHz: one G.711 packet. */
export const FRAME_SAMPLES = 160
/** Opus's RTP clock is always 48 kHz (RFC 7587). */
export const OPUS_CLOCK_RATIO = 6
const OPUS_SET_COMPLEXITY = 4010

export class OpusTranscoder {
  private readonly codec = new (opusScript())(RATE, 1, opusScript().Application.VOIP)
  private readonly pcm = Buffer.alloc(FRAME_SAMPLES * 2)

  constructor() {
    this.codec.encoderCTL(OPUS_SET_COMPLEXITY, 0)
  }

  /** One Opus packet → its 20 ms µ-law frames (a 60 ms packet gives three); an undecodable packet gives none. */
  decodeToUlaw(packet: Buffer): Buffer[] {
    // libopus takes an empty packet as a lost one and conceals it with made-up audio: nothing came, nothing goes on.
    if (packet.length === 0) return []
    let decoded: Buffer
    try {
      decoded = this.codec.decode(packet)
    } catch {
      return []
    }
    const samples = new Int16Array(decoded.buffer, decoded.byteOffset, Math.floor(decoded.length / 2))
    const frames: Buffer[] = []
    for (let offset = 0; offset + FRAME_SAMPLES <= samples.length; offset += FRAME_SAMPLES) frames.push(encodeUlaw(samples.subarray(offset, offset + FRAME_SAMPLES)))
    return frames
  }

  /** One 20 ms µ-law frame → one Opus packet. */
  encodeFromUlaw(ulaw: Uint8Array): Buffer {
    for (let index = 0; index < FRAME_SAMPLES; index++) this.pcm.writeInt16LE(ULAW_DECODE_TABLE[ulaw[index] ?? 0xff] ?? 0, index * 2)
    return Buffer.from(this.codec.encode(this.pcm, FRAME_SAMPLES))
  }

  delete(): void {
    this.codec.delete()
  }
}
