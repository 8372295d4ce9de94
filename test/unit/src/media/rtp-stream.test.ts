import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {alawToLinear, linearToAlaw, linearToUlaw, ulawToLinear} from '../../../../src/media/g711.js'
import {estimateMos} from '../../../../src/media/quality.js'
import {RtpStream} from '../../../../src/media/rtp-stream.js'
import {serializeTelephoneEvent} from '../../../../src/media/telephone-event.js'
import {
  deliver,
  FakeWire,
  frame,
  newStream,
  PCMA_REMOTE,
  PCMU_REMOTE,
  REMOTE_ADDRESS,
  REMOTE_SOURCE_PORT,
  REMOTE_SSRC,
  rtpDatagram,
} from './rtp-stream-helpers.js'

const T0 = 1_700_000_000_000

describe('RtpStream reception and echo', () => {
  it('echoes each payload back re-stamped with its own SSRC, sequence and timestamp, to the latched port', () => {
    const wire = new FakeWire()
    const stream = newStream(wire)
    stream.setRemote(PCMU_REMOTE)
    stream.setMode({kind: 'echo'})
    deliver(stream, 1000, 1009)

    const sent = wire.sentPackets()
    assert.equal(sent.length, 10)
    for (const [index, packet] of sent.entries()) {
      assert.equal(packet.ssrc, stream.ssrc)
      assert.notEqual(packet.ssrc, REMOTE_SSRC)
      assert.equal(packet.payloadType, 0)
      assert.deepEqual(packet.payload, frame(1000 + index))
      assert.equal(packet.sequenceNumber, ((sent[0]?.sequenceNumber ?? 0) + index) & 0xffff)
      assert.equal(packet.timestamp, ((sent[0]?.timestamp ?? 0) + index * 160) >>> 0)
      assert.equal(packet.marker, index === 0, 'the marker starts the echoed source only')
    }
    // Symmetric RTP: replies go to where the packets came from, not to the SDP port.
    assert.ok(wire.rtp.every((datagram) => datagram.address === REMOTE_ADDRESS && datagram.port === REMOTE_SOURCE_PORT))
    assert.equal(stream.quality().packetsSent, 10)
    assert.equal(stream.quality().bytesSent, 1600)
  })

  it('drops packets from another IP, and from another port once the source port is latched', () => {
    const wire = new FakeWire()
    const stream = newStream(wire)
    stream.setRemote(PCMU_REMOTE)
    stream.setMode({kind: 'echo'})
    stream.onRtp(rtpDatagram(1, 160, frame(1)), '198.51.100.9', REMOTE_SOURCE_PORT, T0)
    assert.equal(wire.rtp.length, 0)
    deliver(stream, 2, 4)
    stream.onRtp(rtpDatagram(5, 800, frame(5)), REMOTE_ADDRESS, REMOTE_SOURCE_PORT + 2, T0 + 100)
    assert.equal(wire.rtp.length, 3)
    assert.equal(stream.counters().droppedForeignSource, 2)
    assert.equal(stream.quality().packetsReceived, 3)
  })

  it('after a transfer (newParty) never latches the former party\'s source again; a re-INVITE\'s new port (same party) may keep it', () => {
    const wire = new FakeWire()
    const stream = newStream(wire)
    stream.setRemote(PCMU_REMOTE)
    stream.setMode({kind: 'echo'})
    deliver(stream, 1, 3)
    const newPort = PCMU_REMOTE.rtpPort + 100
    stream.setRemote({...PCMU_REMOTE, rtpPort: newPort, newParty: true})
    // The former party still sends for a while: its packets must not win the latch.
    stream.onRtp(rtpDatagram(4, 640, frame(4)), REMOTE_ADDRESS, REMOTE_SOURCE_PORT, T0 + 80)
    assert.equal(stream.counters().droppedForeignSource, 1)
    // A new SSRC is taken on its second packet in sequence (RFC 3550 probation).
    stream.onRtp(rtpDatagram(9000, 90_000, frame(5), {ssrc: 0x1234}), REMOTE_ADDRESS, newPort, T0 + 100)
    stream.onRtp(rtpDatagram(9001, 90_160, frame(6), {ssrc: 0x1234}), REMOTE_ADDRESS, newPort, T0 + 120)
    assert.equal(wire.rtp.at(-1)?.port, newPort, 'the new party is latched and answered')
    const dropped = stream.counters().droppedForeignSource
    stream.onRtp(rtpDatagram(5, 800, frame(5)), REMOTE_ADDRESS, REMOTE_SOURCE_PORT, T0 + 140)
    assert.equal(stream.counters().droppedForeignSource, dropped + 1, 'the former party is foreign once the new one is latched')

    const same = newStream(new FakeWire())
    same.setRemote(PCMU_REMOTE)
    deliver(same, 1, 3)
    same.setRemote({...PCMU_REMOTE, rtpPort: newPort})
    same.onRtp(rtpDatagram(4, 640, frame(4)), REMOTE_ADDRESS, REMOTE_SOURCE_PORT, T0 + 80)
    assert.equal(same.counters().droppedForeignSource, 0, 'the same party moving its port may still send from its latched source')
  })

  it('counts garbage as dropped without throwing, and keeps echoing', () => {
    const wire = new FakeWire()
    const stream = newStream(wire)
    stream.setRemote(PCMU_REMOTE)
    stream.setMode({kind: 'echo'})
    deliver(stream, 10, 12)
    const garbage = [Buffer.alloc(0), Buffer.from([0x80]), Buffer.alloc(11, 0x80), Buffer.from('not rtp at all, just text'), Buffer.alloc(40, 0x40)]
    for (const datagram of garbage) assert.doesNotThrow(() => stream.onRtp(datagram, REMOTE_ADDRESS, REMOTE_SOURCE_PORT, T0))
    // Well-formed RTP with a payload type that was not negotiated (comfort noise).
    stream.onRtp(rtpDatagram(13, 13 * 160, Buffer.from([0x40]), {payloadType: 13}), REMOTE_ADDRESS, REMOTE_SOURCE_PORT, T0)
    deliver(stream, 14, 16)
    const counters = stream.counters()
    assert.equal(counters.droppedMalformed, garbage.length)
    assert.equal(counters.droppedPayloadType, 1)
    assert.equal(counters.packetsDropped, garbage.length + 1)
    assert.equal(wire.rtp.length, 6)
  })

  it('switches to a new SSRC only after two sequential packets from it', () => {
    const wire = new FakeWire()
    const stream = newStream(wire)
    stream.setRemote(PCMU_REMOTE)
    stream.setMode({kind: 'echo'})
    deliver(stream, 0, 9)
    const stray = rtpDatagram(5000, 1, frame(0), {ssrc: 0x1111})
    stream.onRtp(stray, REMOTE_ADDRESS, REMOTE_SOURCE_PORT, T0 + 300)
    assert.equal(stream.counters().remoteSsrc, REMOTE_SSRC)
    stream.onRtp(rtpDatagram(7000, 1, frame(1), {ssrc: 0x2222}), REMOTE_ADDRESS, REMOTE_SOURCE_PORT, T0 + 320)
    stream.onRtp(rtpDatagram(7001, 161, frame(2), {ssrc: 0x2222}), REMOTE_ADDRESS, REMOTE_SOURCE_PORT, T0 + 340)
    assert.equal(stream.counters().remoteSsrc, 0x2222)
    stream.onRtp(rtpDatagram(7002, 321, frame(3), {ssrc: 0x2222}), REMOTE_ADDRESS, REMOTE_SOURCE_PORT, T0 + 360)
    // Counts carry over the change: 10 from the first source, then 7001 and 7002 once the new one passed probation.
    assert.equal(stream.quality().packetsReceived, 12)
    const sent = wire.sentPackets()
    assert.equal(sent.length, 12)
    assert.equal(sent.at(-2)?.marker, true, 'a new source starts a new segment of our timeline')
    assert.equal(sent.at(-1)?.marker, false)
    assert.equal(sent.at(-1)?.timestamp, ((sent.at(-2)?.timestamp ?? 0) + 160) >>> 0)
    assert.ok(sent.every((packet) => packet.ssrc === stream.ssrc))
  })
})

describe('RtpStream relay', () => {
  const bridge = (): {a: RtpStream; b: RtpStream; wireA: FakeWire; wireB: FakeWire} => {
    const wireA = new FakeWire()
    const wireB = new FakeWire()
    const a = newStream(wireA)
    const b = newStream(wireB)
    a.setRemote(PCMU_REMOTE)
    b.setRemote(PCMA_REMOTE)
    a.relayTo(b)
    return {a, b, wireA, wireB}
  }
  const allCodes = Buffer.from(Array.from({length: 256}, (_, code) => code))

  it('transcodes µ-law to A-law and back, as the G.711 scalar codecs would', () => {
    const {a, b, wireA, wireB} = bridge()
    assert.equal(a.mode, 'relay')
    assert.equal(b.mode, 'relay')
    a.onRtp(rtpDatagram(1, 0, allCodes), PCMU_REMOTE.address, 5000, T0)
    const toB = wireB.sentPackets()
    assert.equal(toB.length, 1)
    assert.equal(toB[0]?.payloadType, 8)
    assert.equal(toB[0]?.ssrc, b.ssrc)
    assert.deepEqual([...(toB[0]?.payload ?? [])], [...allCodes].map((code) => linearToAlaw(ulawToLinear(code))))
    assert.equal(wireB.rtp[0]?.address, PCMA_REMOTE.address)

    b.onRtp(rtpDatagram(1, 0, allCodes, {payloadType: 8}), PCMA_REMOTE.address, 6000, T0)
    const toA = wireA.sentPackets()
    assert.equal(toA.length, 1)
    assert.equal(toA[0]?.payloadType, 0)
    assert.equal(toA[0]?.ssrc, a.ssrc)
    assert.deepEqual([...(toA[0]?.payload ?? [])], [...allCodes].map((code) => linearToUlaw(alawToLinear(code))))
  })

  it('forwards telephone-events under the peer leg’s payload type, untouched', () => {
    const {a, wireB} = bridge()
    const event = serializeTelephoneEvent({event: 5, end: false, volume: 10, duration: 400})
    a.onRtp(rtpDatagram(1, 8000, event, {payloadType: 101, marker: true}), PCMU_REMOTE.address, 5000, T0)
    a.onRtp(rtpDatagram(2, 8000, event, {payloadType: 101}), PCMU_REMOTE.address, 5000, T0 + 50)
    const sent = wireB.sentPackets()
    assert.equal(sent.length, 2)
    assert.ok(sent.every((packet) => packet.payloadType === 96 && packet.payload.equals(event)))
    assert.equal(sent[0]?.timestamp, sent[1]?.timestamp, 'packets of one event share a timestamp')
  })

  it('passes payloads through unchanged between legs of the same law, and unbridges both legs together', () => {
    const wireA = new FakeWire()
    const wireB = new FakeWire()
    const a = newStream(wireA)
    const b = newStream(wireB)
    a.setRemote(PCMU_REMOTE)
    b.setRemote({...PCMU_REMOTE, address: '192.0.2.99'})
    a.relayTo(b)
    a.onRtp(rtpDatagram(1, 0, allCodes), PCMU_REMOTE.address, 5000, T0)
    assert.deepEqual(wireB.sentPackets()[0]?.payload, allCodes)
    b.setMode({kind: 'echo'})
    assert.equal(a.mode, 'silence')
    a.onRtp(rtpDatagram(2, 160, allCodes), PCMU_REMOTE.address, 5000, T0 + 20)
    assert.equal(wireB.rtp.length, 1)
  })
})

describe('RtpStream quality', () => {
  it('reports ~10% loss when every 10th packet is missing, with a lower MOS than a clean stream', () => {
    const clean = newStream(new FakeWire())
    clean.setRemote(PCMU_REMOTE)
    deliver(clean, 1, 200)
    const cleanQuality = clean.quality()
    assert.equal(cleanQuality.packetsLost, 0)
    assert.equal(cleanQuality.lossRatio, 0)

    const lossy = newStream(new FakeWire())
    lossy.setRemote(PCMU_REMOTE)
    deliver(lossy, 1, 200, (seq) => seq % 10 === 0)
    const quality = lossy.quality()
    assert.equal(quality.codec, 'PCMU')
    assert.equal(quality.packetsReceived, 180)
    assert.equal(quality.packetsLost, 19, 'packet 200 is missing too, but nothing after it says so')
    assert.ok(Math.abs(quality.lossRatio - 0.1) < 0.01, `interval loss ${quality.lossRatio}`)
    assert.equal(quality.rttMs, null)
    assert.ok(quality.estimatedMos < cleanQuality.estimatedMos - 0.5, `${quality.estimatedMos} vs ${cleanQuality.estimatedMos}`)
    const expected = estimateMos({codec: 'PCMU', packetLossPercent: (100 * 19) / 199, oneWayDelayMs: 2 * quality.jitterMs + 20}).mos
    assert.ok(Math.abs(quality.estimatedMos - expected) < 1e-9)

    // The next interval holds one loss (packet 200, noticed now) in 51: lossRatio is per interval, packetsLost cumulative.
    deliver(lossy, 201, 250)
    const next = lossy.quality()
    assert.equal(next.lossRatio, 1 / 51)
    assert.equal(next.packetsLost, 20)
  })
})
