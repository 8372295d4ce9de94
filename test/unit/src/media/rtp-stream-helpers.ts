// Shared fakes for the RtpStream unit tests: a wire that records what the
// stream sends, a hand-driven frame ticker, and synthetic RTP packets.
import type {FrameListener, FrameTicker} from '../../../../src/media/frame-ticker.js'
import {parseRtp, serializeRtp, type RtpPacket} from '../../../../src/media/rtp.js'
import {RtpStream, type RtpRemote, type RtpStreamOptions} from '../../../../src/media/rtp-stream.js'

export interface SentDatagram {
  readonly datagram: Buffer
  readonly port: number
  readonly address: string
}

/** Records copies of every datagram, releasing the stream's buffer at once as dgram would. */
export class FakeWire {
  readonly rtp: SentDatagram[] = []
  readonly rtcp: SentDatagram[] = []
  readonly sendRtp = (datagram: Buffer, port: number, address: string, sent: () => void): void => {
    this.rtp.push({datagram: Buffer.from(datagram), port, address})
    sent()
  }
  readonly sendRtcp = (datagram: Buffer, port: number, address: string, sent: () => void): void => {
    this.rtcp.push({datagram: Buffer.from(datagram), port, address})
    sent()
  }

  /** The sent RTP packets, parsed (each into its own object). */
  sentPackets(): RtpPacket[] {
    return this.rtp.map(({datagram}) => {
      const packet = parseRtp(datagram)
      if (!packet.ok) throw new Error(`the stream sent an unparseable RTP packet (${packet.reason})`)
      return packet
    })
  }
}

/** A ticker the test advances frame by frame. */
export class ManualTicker implements FrameTicker {
  private readonly listeners = new Set<FrameListener>()
  subscribe(listener: FrameListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
  tick(nowMs: number): void {
    for (const listener of this.listeners) listener(nowMs)
  }
  get size(): number {
    return this.listeners.size
  }
}

export const REMOTE_ADDRESS = '192.0.2.7'
/** The remote's source port differs from its SDP port, as behind NAT: the stream must latch it. */
export const REMOTE_SOURCE_PORT = 41002
export const PCMU_REMOTE: RtpRemote = {address: REMOTE_ADDRESS, rtpPort: 40000, rtcpPort: 40001, payloadType: 0, codec: 'PCMU', telephoneEventPayloadType: 101}
export const PCMA_REMOTE: RtpRemote = {address: '192.0.2.8', rtpPort: 42000, payloadType: 8, codec: 'PCMA', telephoneEventPayloadType: 96}
export const REMOTE_SSRC = 0x0a0b0c0d

export const rtpDatagram = (
  sequenceNumber: number,
  timestamp: number,
  payload: Uint8Array,
  options: {readonly ssrc?: number; readonly payloadType?: number; readonly marker?: boolean} = {},
): Buffer =>
  serializeRtp(
    {sequenceNumber: sequenceNumber & 0xffff, timestamp: timestamp >>> 0, ssrc: options.ssrc ?? REMOTE_SSRC, payloadType: options.payloadType ?? 0, marker: options.marker},
    payload,
  )

/** A 160-octet payload whose octets all equal `fill`, to tell packets apart. */
export const frame = (fill: number): Buffer => Buffer.alloc(160, fill & 0xff)

export const newStream = (wire: FakeWire, options: Partial<RtpStreamOptions> = {}): RtpStream =>
  new RtpStream({sendRtp: wire.sendRtp, sendRtcp: wire.sendRtcp, rtcpIntervalMs: 0, ...options})

/** Delivers packets numbered `from`..`to` (20 ms, 160 samples apart) from the remote, skipping `skip`. */
export const deliver = (stream: RtpStream, from: number, to: number, skip: (seq: number) => boolean = () => false, startMs = 1_700_000_000_000): void => {
  for (let seq = from; seq <= to; seq++) {
    if (skip(seq)) continue
    stream.onRtp(rtpDatagram(seq, seq * 160, frame(seq)), stream.remote?.address ?? REMOTE_ADDRESS, REMOTE_SOURCE_PORT, startMs + seq * 20)
  }
}
