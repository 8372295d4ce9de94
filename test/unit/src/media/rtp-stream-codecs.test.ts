// RtpStream with G.722 and Opus remotes: payload checks, echo on the codec's
// clock, relay transcoding to and from G.711, play, record and the µ-law tap.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createPcmDecoder, createPcmEncoder} from '../../../../src/media/codecs.js'
import {decodeUlaw, encodeUlaw} from '../../../../src/media/g711.js'
import {G722Decoder, G722Encoder} from '../../../../src/media/g722.js'
import {opusPacketSamples} from '../../../../src/media/opus.js'
import {parseTelephoneEvent, serializeTelephoneEvent} from '../../../../src/media/telephone-event.js'
import type {RtpRemote} from '../../../../src/media/rtp-stream.js'
import {readWavFile} from '../../../../src/media/wav.js'
import {FakeWire, ManualTicker, newStream, PCMU_REMOTE, REMOTE_SOURCE_PORT, rtpDatagram} from './rtp-stream-helpers.js'
import {goertzel, sine} from '../../../helpers/tone.js'

const T0 = 1_700_000_000_000
const G722_REMOTE: RtpRemote = {address: '192.0.2.9', rtpPort: 44000, payloadType: 9, codec: 'G722', telephoneEventPayloadType: 101}
const OPUS_REMOTE: RtpRemote = {address: '192.0.2.10', rtpPort: 46000, payloadType: 111, codec: 'opus', telephoneEventPayloadType: 110}

let directory = ''
before(() => {
  directory = mkdtempSync(join(tmpdir(), 'clutchcall-rtp-codecs-'))
})
after(() => {
  rmSync(directory, {recursive: true, force: true})
})


const power = goertzel

/** 20 ms G.722 packets of a tone, as a peer would send them. */
const g722Tone = (frequencyHz: number, count: number): Uint8Array[] => {
  const encoder = new G722Encoder()
  return Array.from({length: count}, (_, frame) => encoder.encode(sine(frequencyHz, 16000, 320, 8000, frame * 320)))
}

describe('RtpStream with a G.722 remote', () => {
  it('echoes G.722 untouched, on the 8 kHz clock at one tick per octet', () => {
    const wire = new FakeWire()
    const stream = newStream(wire)
    stream.setRemote(G722_REMOTE)
    stream.setMode({kind: 'echo'})
    g722Tone(1000, 5).forEach((payload, index) => stream.onRtp(rtpDatagram(index, index * 160, payload, {payloadType: 9}), G722_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20))
    const sent = wire.sentPackets()
    assert.equal(sent.length, 5)
    assert.deepEqual(sent.map((packet) => (packet.timestamp - (sent[0]?.timestamp ?? 0)) >>> 0), [0, 160, 320, 480, 640])
    assert.ok(sent.every((packet) => packet.payloadType === 9 && packet.payload.length === 160))
  })

  it('drops and counts an empty or overlong payload, which the reception statistics see as lost', () => {
    const stream = newStream(new FakeWire())
    stream.setRemote(G722_REMOTE)
    for (let seq = 1; seq <= 10; seq++) {
      const payload = seq === 4 ? Buffer.alloc(0) : seq === 7 ? Buffer.alloc(2000) : Buffer.alloc(160, 0xfa)
      stream.onRtp(rtpDatagram(seq, seq * 160, payload, {payloadType: 9}), G722_REMOTE.address, REMOTE_SOURCE_PORT, T0 + seq * 20)
    }
    assert.equal(stream.counters().droppedUndecodable, 2)
    assert.equal(stream.counters().packetsDropped, 2)
    const quality = stream.quality()
    assert.equal(quality.packetsReceived, 8)
    assert.equal(quality.packetsLost, 2)
    assert.equal(quality.codec, 'G722')
  })

  it('is bridged to a PCMU leg both ways: G.722 becomes µ-law on the 8 kHz clock, and back', () => {
    const wireWide = new FakeWire()
    const wireNarrow = new FakeWire()
    const wide = newStream(wireWide)
    const narrow = newStream(wireNarrow)
    wide.setRemote(G722_REMOTE)
    narrow.setRemote(PCMU_REMOTE)
    wide.relayTo(narrow)
    g722Tone(1000, 25).forEach((payload, index) => wide.onRtp(rtpDatagram(index, index * 160, payload, {payloadType: 9}), G722_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20))
    const toNarrow = wireNarrow.sentPackets()
    assert.equal(toNarrow.length, 25)
    assert.ok(toNarrow.every((packet) => packet.payloadType === 0 && packet.payload.length === 160))
    const heard = decodeUlaw(Buffer.concat(toNarrow.slice(5).map((packet) => packet.payload)))
    assert.ok(power(heard, 1000, 8000) > 100 * power(heard, 2500, 8000), 'the tone reaches the µ-law leg')

    for (let index = 0; index < 25; index++) {
      narrow.onRtp(rtpDatagram(index, index * 160, encodeUlaw(sine(700, 8000, 160, 8000, index * 160))), PCMU_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20)
    }
    const toWide = wireWide.sentPackets()
    assert.equal(toWide.length, 25)
    assert.ok(toWide.every((packet) => packet.payloadType === 9 && packet.payload.length === 160))
    const decoded = new G722Decoder().decode(Buffer.concat(toWide.slice(5).map((packet) => packet.payload)))
    assert.ok(power(decoded, 700, 16000) > 100 * power(decoded, 2500, 16000), 'the tone reaches the G.722 leg')

    narrow.setMode({kind: 'silence'})
    assert.equal(wide.mode, 'silence', 'ending the relay ends it on both legs (and frees their transcoders)')
  })

  it('plays a tone encoded to G.722 (generated at 16 kHz), 160 octets per 20 ms', async () => {
    const wire = new FakeWire()
    const ticker = new ManualTicker()
    const stream = newStream(wire, {ticker})
    stream.setRemote(G722_REMOTE)
    const done = stream.setMode({kind: 'play', source: {type: 'tone', frequencyHz: 5000, durationMs: 400}})
    for (let frame = 0; frame < 21; frame++) ticker.tick(T0 + frame * 20)
    assert.equal(await done, 'completed')
    const sent = wire.sentPackets()
    assert.equal(sent.length, 20)
    assert.deepEqual(sent.slice(0, 3).map((packet) => (packet.timestamp - (sent[0]?.timestamp ?? 0)) >>> 0), [0, 160, 320])
    const audio = new G722Decoder().decode(Buffer.concat(sent.map((packet) => packet.payload))).subarray(1600)
    assert.ok(power(audio, 5000, 16000) > 100 * power(audio, 2000, 16000), 'a 5 kHz tone: wideband all the way')
  })

  it('records G.722 as a 16 kHz PCM16 WAV, filling a lost packet with 20 ms of silence', () => {
    const path = join(directory, 'wide.wav')
    const stream = newStream(new FakeWire())
    stream.setRemote(G722_REMOTE)
    stream.setMode({kind: 'record', path})
    g722Tone(1000, 10).forEach((payload, index) => {
      if (index !== 5) stream.onRtp(rtpDatagram(index, index * 160, payload, {payloadType: 9}), G722_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20)
    })
    stream.close()
    const wav = readWavFile(path)
    assert.equal(wav.sampleRate, 16000)
    assert.equal(wav.format, 'pcm16')
    assert.equal(wav.samples.length, 10 * 320)
    assert.ok(wav.samples.subarray(5 * 320, 6 * 320).every((sample) => sample === 0), 'the lost packet is silence')
    assert.ok(power(wav.samples.subarray(320, 5 * 320), 1000, 16000) > 100 * power(wav.samples.subarray(320, 5 * 320), 3000, 16000))
  })

  it('taps 20 ms µ-law frames and takes µ-law frames back as G.722', () => {
    const wire = new FakeWire()
    const stream = newStream(wire)
    stream.setRemote(G722_REMOTE)
    const tapped: Buffer[] = []
    stream.setMode({kind: 'tap', listener: (payload) => tapped.push(Buffer.from(payload))})
    g722Tone(1000, 10).forEach((payload, index) => stream.onRtp(rtpDatagram(index, index * 160, payload, {payloadType: 9}), G722_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20))
    assert.equal(tapped.length, 10)
    assert.ok(tapped.every((frame) => frame.length === 160))
    const heard = decodeUlaw(Buffer.concat(tapped.slice(2)))
    assert.ok(power(heard, 1000, 8000) > 100 * power(heard, 3000, 8000))
    assert.equal(stream.inject(encodeUlaw(sine(1000, 8000, 160)), T0 + 300), true)
    const sent = wire.sentPackets()
    assert.equal(sent.length, 1)
    assert.equal(sent[0]?.payload.length, 160, '160 µ-law samples are 320 at 16 kHz, 160 G.722 octets')
  })

  it('rates quality with the wideband E-model', () => {
    const stream = newStream(new FakeWire())
    stream.setRemote(G722_REMOTE)
    g722Tone(1000, 50).forEach((payload, index) => stream.onRtp(rtpDatagram(index, index * 160, payload, {payloadType: 9}), G722_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20))
    const mos = stream.quality().estimatedMos
    assert.ok(mos > 4.2 && mos < 4.4, `MOS ${mos}`)
  })
})

describe('RtpStream with an Opus remote', () => {
  const opusTone = (count: number): Uint8Array[] => {
    const encoder = createPcmEncoder('opus', 16000)
    const packets = Array.from({length: count}, (_, frame) => encoder.encode(sine(1000, 16000, 320, 8000, frame * 320)))
    encoder.release()
    return packets
  }

  it('echoes on the 48 kHz clock, each packet for the duration its TOC says', () => {
    const wire = new FakeWire()
    const stream = newStream(wire)
    stream.setRemote(OPUS_REMOTE)
    stream.setMode({kind: 'echo'})
    opusTone(4).forEach((payload, index) => stream.onRtp(rtpDatagram(index, index * 960, payload, {payloadType: 111}), OPUS_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20))
    const sent = wire.sentPackets()
    assert.deepEqual(sent.map((packet) => (packet.timestamp - (sent[0]?.timestamp ?? 0)) >>> 0), [0, 960, 1920, 2880])
  })

  it('drops and counts packets that break RFC 6716 (garbage, wrong sizes), never throwing', () => {
    const stream = newStream(new FakeWire())
    stream.setRemote(OPUS_REMOTE)
    stream.setMode({kind: 'record', path: join(directory, 'opus.wav')})
    const garbage = [Buffer.alloc(0), Buffer.from([0x4b, 0x00]), Buffer.from([0x49, 1, 2, 3]), Buffer.from([0x5f, 2, 1, 2]), Buffer.alloc(5000, 0x48)]
    const good = opusTone(10)
    good.forEach((payload, index) => stream.onRtp(rtpDatagram(index, index * 960, payload, {payloadType: 111}), OPUS_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20))
    garbage.forEach((payload, index) => stream.onRtp(rtpDatagram(10 + index, (10 + index) * 960, payload, {payloadType: 111}), OPUS_REMOTE.address, REMOTE_SOURCE_PORT, T0 + (10 + index) * 20))
    assert.equal(stream.counters().droppedUndecodable, garbage.length)
    assert.equal(stream.quality().packetsReceived, 10)
    stream.close()
    assert.equal(readWavFile(join(directory, 'opus.wav')).samples.length, 10 * 320, '16 kHz: 320 samples per 20 ms packet')
  })

  it('is bridged to a PCMU leg: 20 ms Opus packets on the 48 kHz clock towards the Opus leg', () => {
    const wireOpus = new FakeWire()
    const opus = newStream(wireOpus)
    const narrow = newStream(new FakeWire())
    opus.setRemote(OPUS_REMOTE)
    narrow.setRemote(PCMU_REMOTE)
    narrow.relayTo(opus)
    for (let index = 0; index < 20; index++) {
      narrow.onRtp(rtpDatagram(index, index * 160, encodeUlaw(sine(1000, 8000, 160, 8000, index * 160))), PCMU_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20)
    }
    const sent = wireOpus.sentPackets()
    assert.equal(sent.length, 20)
    assert.ok(sent.every((packet) => packet.payloadType === 111 && opusPacketSamples(packet.payload) === 960))
    assert.ok(sent.slice(1).every((packet, index) => ((packet.timestamp - (sent[index]?.timestamp ?? 0)) >>> 0) === 960))
    const decoder = createPcmDecoder('opus', 8000)
    const heard = decodeUlaw(encodeUlaw(Int16Array.from(sent.slice(5).flatMap((packet) => [...(decoder.decode(packet.payload) ?? [])]))))
    decoder.release()
    assert.ok(power(heard, 1000, 8000) > 100 * power(heard, 3000, 8000))
    opus.close()
    narrow.close()
  })
  it('relays DTMF between Opus and PCMU legs both ways: durations rescaled to the other clock, on the audio\'s timeline', () => {
    const wireOpus = new FakeWire()
    const wireNarrow = new FakeWire()
    const opus = newStream(wireOpus)
    const narrow = newStream(wireNarrow)
    opus.setRemote(OPUS_REMOTE)
    narrow.setRemote(PCMU_REMOTE)
    narrow.relayTo(opus)
    opus.relayTo(narrow)
    // PCMU audio, then digit 5 (event 5) starting at the 10th frame's timestamp: 3 updates and an end, 160 ticks (20 ms) apart.
    for (let index = 0; index < 10; index++) {
      narrow.onRtp(rtpDatagram(index, index * 160, encodeUlaw(sine(1000, 8000, 160, 8000, index * 160))), PCMU_REMOTE.address, REMOTE_SOURCE_PORT, T0 + index * 20)
    }
    const durations8k = [160, 320, 480, 640]
    durations8k.forEach((duration, step) => {
      const payload = serializeTelephoneEvent({event: 5, end: step === 3, volume: 10, duration})
      narrow.onRtp(rtpDatagram(10 + step, 1600, payload, {payloadType: 101, marker: step === 0}), PCMU_REMOTE.address, REMOTE_SOURCE_PORT, T0 + (10 + step) * 20)
    })
    const toOpus = wireOpus.sentPackets()
    const audio = toOpus.filter((packet) => packet.payloadType === 111)
    const events = toOpus.filter((packet) => packet.payloadType === 110)
    assert.equal(events.length, 4, 'every event packet crossed, under the Opus leg\'s telephone-event type')
    assert.deepEqual(events.map((packet) => {
      const event = parseTelephoneEvent(packet.payload)
      return event.ok ? [event.event, event.duration, event.end, event.volume] : []
    }), durations8k.map((duration, step) => [5, duration * 6, step === 3, 10]))
    assert.ok(events.every((packet) => packet.timestamp === events[0]?.timestamp), 'one event, one timestamp')
    // The event starts where the 48 kHz audio timeline puts the 10th frame: 10 × 960 ticks after the first frame.
    assert.equal((((events[0]?.timestamp ?? 0) - (audio[0]?.timestamp ?? 0)) >>> 0), 10 * 960)

    // Back: an Opus-side event of 0.5 s at 48 kHz becomes 4000 ticks at 8 kHz.
    const opusEvent = serializeTelephoneEvent({event: 11, end: true, volume: 7, duration: 24_000})
    opus.onRtp(rtpDatagram(0, 777_000, opusEvent, {payloadType: 110, ssrc: 0x55}), OPUS_REMOTE.address, REMOTE_SOURCE_PORT, T0 + 400)
    const back = wireNarrow.sentPackets().filter((packet) => packet.payloadType === 101)
    assert.equal(back.length, 1)
    const event = parseTelephoneEvent(back[0]?.payload ?? new Uint8Array())
    assert.deepEqual(event.ok ? [event.event, event.duration, event.end] : [], [11, 4000, true])

    // 8 kHz to 48 kHz past what one packet can say: capped at 0xFFFF; a truncated event is not sent.
    narrow.onRtp(rtpDatagram(14, 1600, serializeTelephoneEvent({event: 5, end: false, volume: 10, duration: 20_000}), {payloadType: 101}), PCMU_REMOTE.address, REMOTE_SOURCE_PORT, T0 + 300)
    narrow.onRtp(rtpDatagram(15, 1600, new Uint8Array([5, 0]), {payloadType: 101}), PCMU_REMOTE.address, REMOTE_SOURCE_PORT, T0 + 320)
    const capped = wireOpus.sentPackets().filter((packet) => packet.payloadType === 110)
    assert.equal(capped.length, 5)
    const last = parseTelephoneEvent(capped[4]?.payload ?? new Uint8Array())
    assert.equal(last.ok ? last.duration : -1, 0xffff)
    opus.close()
    narrow.close()
  })
})
