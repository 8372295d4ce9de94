// A pcap of RTP packets for SIPp's play_pcap_audio: SIPp sends each UDP
// payload as it is from its media port, paced by the capture timestamps, so a
// test decides every payload type, size and byte (garbage included).
import {writeFileSync} from 'node:fs'

export interface PcapRtpPacket {
  readonly payloadType: number
  readonly payload: Uint8Array
  /** Default: its index. */
  readonly sequenceNumber?: number
  readonly timestamp: number
  /** When it is sent, ms from the first packet. */
  readonly atMs: number
}

const SSRC = 0x5eed1234
const LINKTYPE_ETHERNET = 1

const ipChecksum = (header: Buffer): number => {
  let sum = 0
  for (let at = 0; at < header.length; at += 2) sum += header.readUInt16BE(at)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

/** Writes the packets as Ethernet/IPv4/UDP frames from 127.0.0.1:6000 to 127.0.0.1:6002 (SIPp rewrites the addresses). */
export const writeRtpPcap = (path: string, packets: readonly PcapRtpPacket[]): void => {
  const global = Buffer.alloc(24)
  global.writeUInt32LE(0xa1b2c3d4, 0)
  global.writeUInt16LE(2, 4)
  global.writeUInt16LE(4, 6)
  global.writeUInt32LE(65535, 16)
  global.writeUInt32LE(LINKTYPE_ETHERNET, 20)
  const records = packets.map((packet, index) => {
    const rtp = Buffer.alloc(12 + packet.payload.length)
    rtp[0] = 0x80
    rtp[1] = packet.payloadType & 0x7f
    rtp.writeUInt16BE((packet.sequenceNumber ?? index) & 0xffff, 2)
    rtp.writeUInt32BE(packet.timestamp >>> 0, 4)
    rtp.writeUInt32BE(SSRC, 8)
    rtp.set(packet.payload, 12)
    const udp = Buffer.alloc(8)
    udp.writeUInt16BE(6000, 0)
    udp.writeUInt16BE(6002, 2)
    udp.writeUInt16BE(8 + rtp.length, 4)
    const ip = Buffer.alloc(20)
    ip[0] = 0x45
    ip.writeUInt16BE(20 + 8 + rtp.length, 2)
    ip[8] = 64
    ip[9] = 17
    ip.set([127, 0, 0, 1], 12)
    ip.set([127, 0, 0, 1], 16)
    ip.writeUInt16BE(ipChecksum(ip), 10)
    const ethernet = Buffer.alloc(14)
    ethernet.writeUInt16BE(0x0800, 12)
    const frame = Buffer.concat([ethernet, ip, udp, rtp])
    const record = Buffer.alloc(16)
    record.writeUInt32LE(Math.floor(packet.atMs / 1000), 0)
    record.writeUInt32LE(Math.round((packet.atMs % 1000) * 1000), 4)
    record.writeUInt32LE(frame.length, 8)
    record.writeUInt32LE(frame.length, 12)
    return Buffer.concat([record, frame])
  })
  writeFileSync(path, Buffer.concat([global, ...records]))
}
