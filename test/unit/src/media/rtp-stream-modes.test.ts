import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {decodeAlaw, decodeUlaw} from '../../../../src/media/g711.js'
import {readWavFile, WavWriter} from '../../../../src/media/wav.js'
import {deliver, FakeWire, frame, ManualTicker, newStream, PCMA_REMOTE, PCMU_REMOTE} from './rtp-stream-helpers.js'

let directory = ''
before(() => {
  directory = mkdtempSync(join(tmpdir(), 'clutchcall-rtp-stream-'))
})
after(() => {
  rmSync(directory, {recursive: true, force: true})
})

const T0 = 1_700_000_000_000

/** Sign changes between successive samples. */
const zeroCrossings = (samples: Int16Array): number => {
  let crossings = 0
  for (let index = 1; index < samples.length; index++) {
    if (((samples[index - 1] ?? 0) < 0) !== ((samples[index] ?? 0) < 0)) crossings++
  }
  return crossings
}

describe('RtpStream record mode', () => {
  it('writes a WAV in the negotiated law that reads back with one sample per octet, gaps filled with silence', () => {
    const path = join(directory, 'record.wav')
    const stream = newStream(new FakeWire())
    stream.setRemote(PCMU_REMOTE)
    stream.setMode({kind: 'record', path})
    // 50 packets of 160 samples, of which 2 lost: the file still spans all 50.
    deliver(stream, 1, 50, (seq) => seq === 20 || seq === 21)
    // Leaving the mode closes the file.
    stream.setMode({kind: 'silence'})
    deliver(stream, 51, 60)

    const wav = readWavFile(path)
    assert.equal(wav.format, 'ulaw')
    assert.equal(wav.samples.length, 50 * 160)
    assert.deepEqual(wav.data.subarray(0, 160), frame(1))
    assert.deepEqual(wav.data.subarray(19 * 160, 21 * 160), Buffer.alloc(320, 0xff), 'µ-law silence where packets were lost')
    assert.deepEqual(wav.data.subarray(49 * 160), frame(50))
  })

  it('records A-law for a PCMA remote, and closes the file with the stream', () => {
    const path = join(directory, 'record-alaw.wav')
    const stream = newStream(new FakeWire())
    stream.setRemote(PCMA_REMOTE)
    stream.setMode({kind: 'record', path})
    for (let seq = 1; seq <= 5; seq++) stream.onRtp(Buffer.concat([Buffer.from([0x80, 8, 0, seq, 0, 0, (seq * 160) >> 8, (seq * 160) & 0xff, 1, 2, 3, 4]), frame(seq)]), PCMA_REMOTE.address, 7000, T0 + seq * 20)
    stream.close()
    const wav = readWavFile(path)
    assert.equal(wav.format, 'alaw')
    assert.equal(wav.samples.length, 5 * 160)
  })

  it('refuses a path it cannot create and keeps its mode', () => {
    const stream = newStream(new FakeWire())
    stream.setRemote(PCMU_REMOTE)
    stream.setMode({kind: 'echo'})
    assert.throws(() => stream.setMode({kind: 'record', path: join(directory, 'missing-dir', 'x.wav')}), /ENOENT/)
    assert.equal(stream.mode, 'echo')
  })
})

describe('RtpStream play mode', () => {
  it('plays a 1 kHz tone for its duration in 20 ms frames, then resolves and falls silent', async () => {
    const wire = new FakeWire()
    const ticker = new ManualTicker()
    const ended: string[] = []
    const stream = newStream(wire, {ticker, onModeEnded: (kind) => ended.push(kind)})
    stream.setRemote(PCMA_REMOTE)
    const done = stream.setMode({kind: 'play', source: {type: 'tone', frequencyHz: 1000, durationMs: 100}})
    for (let frameIndex = 0; frameIndex < 8; frameIndex++) ticker.tick(T0 + frameIndex * 20)
    assert.equal(await done, 'completed')
    assert.equal(stream.mode, 'silence')
    assert.deepEqual(ended, ['play'])
    assert.equal(ticker.size, 0)

    const sent = wire.sentPackets()
    assert.equal(sent.length, 5)
    assert.ok(sent.every((packet) => packet.payloadType === 8 && packet.payload.length === 160))
    assert.deepEqual(sent.map((packet) => (packet.timestamp - (sent[0]?.timestamp ?? 0)) >>> 0), [0, 160, 320, 480, 640])
    assert.deepEqual(sent.map((packet) => packet.marker), [true, false, false, false, false])
    const audio = decodeAlaw(Buffer.concat(sent.map((packet) => packet.payload)))
    // 1 kHz for 100 ms: 100 cycles, two sign changes each.
    assert.ok(Math.abs(zeroCrossings(audio) - 200) <= 2, `${zeroCrossings(audio)} zero crossings`)
  })

  it('plays a WAV file, padding the last frame with silence, and loops when asked', async () => {
    const path = join(directory, 'prompt.wav')
    const samples = Int16Array.from({length: 400}, (_, index) => (index % 2 === 0 ? 8000 : -8000))
    const writer = WavWriter.create(path, 'pcm16')
    writer.appendPcm(samples)
    writer.close()

    const wire = new FakeWire()
    const ticker = new ManualTicker()
    const stream = newStream(wire, {ticker})
    stream.setRemote(PCMU_REMOTE)
    const once = stream.setMode({kind: 'play', source: {type: 'file', path}})
    for (let frameIndex = 0; frameIndex < 5; frameIndex++) ticker.tick(T0 + frameIndex * 20)
    assert.equal(await once, 'completed')
    const sent = wire.sentPackets()
    assert.equal(sent.length, 3)
    const audio = decodeUlaw(Buffer.concat(sent.map((packet) => packet.payload)))
    assert.ok(audio.subarray(0, 400).every((sample, index) => Math.abs(sample - (samples[index] ?? 0)) < 300))
    assert.deepEqual(sent[2]?.payload.subarray(80), Buffer.alloc(80, 0xff))

    const looping = stream.setMode({kind: 'play', source: {type: 'file', path}, loop: true})
    for (let frameIndex = 0; frameIndex < 7; frameIndex++) ticker.tick(T0 + 200 + frameIndex * 20)
    assert.equal(wire.rtp.length, 3 + 7)
    assert.deepEqual(wire.sentPackets()[3 + 3]?.payload, sent[0]?.payload, 'the fourth frame starts the file again')
    stream.setMode({kind: 'echo'})
    assert.equal(await looping, 'interrupted')
    assert.equal(ticker.size, 0)
  })

  it('refuses a missing file or a play before the remote is known', () => {
    const stream = newStream(new FakeWire(), {ticker: new ManualTicker()})
    assert.throws(() => stream.setMode({kind: 'play', source: {type: 'tone', frequencyHz: 440}}), /remote/)
    stream.setRemote(PCMU_REMOTE)
    assert.throws(() => stream.setMode({kind: 'play', source: {type: 'file', path: join(directory, 'nope.wav')}}), /ENOENT/)
    assert.equal(stream.mode, 'silence')
  })
})

describe('RtpStream tap mode', () => {
  it('hands received payloads to the listener and sends injected frames contiguously', () => {
    const wire = new FakeWire()
    const stream = newStream(wire)
    stream.setRemote(PCMU_REMOTE)
    assert.equal(stream.inject(frame(1)), false, 'inject needs tap mode')
    const heard: Array<{payload: Buffer; sequenceNumber: number}> = []
    stream.setMode({kind: 'tap', listener: (payload, info) => heard.push({payload: Buffer.from(payload), sequenceNumber: info.sequenceNumber})})
    deliver(stream, 30, 32)
    assert.deepEqual(heard.map((entry) => entry.sequenceNumber), [30, 31, 32])
    assert.deepEqual(heard[1]?.payload, frame(31))
    assert.equal(wire.rtp.length, 0, 'tap does not echo')

    for (let index = 0; index < 3; index++) assert.equal(stream.inject(frame(0x70 + index), T0 + index * 20), true)
    // After a pause longer than a few frames the timeline jumps by the time elapsed.
    assert.equal(stream.inject(frame(0x7f), T0 + 40 + 1000), true)
    const sent = wire.sentPackets()
    assert.deepEqual(sent.map((packet) => packet.payload[0]), [0x70, 0x71, 0x72, 0x7f])
    const base = sent[0]?.timestamp ?? 0
    assert.deepEqual(sent.map((packet) => (packet.timestamp - base) >>> 0), [0, 160, 320, 320 + 8000])
    assert.deepEqual(sent.map((packet) => packet.marker), [true, false, false, true])
  })
})
