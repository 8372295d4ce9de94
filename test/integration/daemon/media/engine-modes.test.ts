// Media modes through the engine, over real sockets: relay between two
// streams of one shard, a played tone the peer hears, a recording on disk,
// and tapped/injected audio.
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import pino from 'pino'
import {MediaEngine} from '../../../../daemon/media/engine.js'
import type {TapFrame} from '../../../../daemon/media/media-stream.js'
import {alawToLinear, decodeUlaw, linearToAlaw, linearToUlaw, ulawToLinear} from '../../../../src/media/g711.js'
import {readWavFile} from '../../../../src/media/wav.js'
import {goertzel, randomPortRange, RtpPeer} from './rtp-peer.js'

let directory = ''
let engine: MediaEngine

before(async () => {
  directory = mkdtempSync(join(tmpdir(), 'clutchcall-media-modes-'))
  engine = await MediaEngine.start({address: '127.0.0.1', ...randomPortRange(40), shards: 2, recordingsDir: directory, log: pino({level: 'silent'})})
})

after(async () => {
  await engine.stop()
  rmSync(directory, {recursive: true, force: true})
})

const ALL_CODES = Buffer.from(Array.from({length: 160}, (_, index) => (index * 37) & 0xff))

describe('MediaEngine modes', () => {
  it('relays between two streams of one shard, transcoding µ-law ↔ A-law', async () => {
    const [peerA, peerB] = await Promise.all([RtpPeer.open(), RtpPeer.open()])
    const a = await engine.createStream({callSid: 'CA-relay-a'})
    const b = await engine.createStream({callSid: 'CA-relay-b', shardHint: a.shard})
    try {
      await a.setRemote({address: '127.0.0.1', rtpPort: peerA.port, payloadType: 0, codec: 'PCMU'})
      await b.setRemote({address: '127.0.0.1', rtpPort: peerB.port, payloadType: 8, codec: 'PCMA'})
      await a.relayTo(b)
      await peerA.stream(a.localPort, 1, 5, {payload: () => ALL_CODES})
      const atB = await peerB.waitFor(5)
      assert.ok(atB.every((packet) => packet.payloadType === 8))
      assert.deepEqual([...(atB[0]?.payload ?? [])], [...ALL_CODES].map((code) => linearToAlaw(ulawToLinear(code))))
      for (let seq = 1; seq <= 5; seq++) peerB.sendRtp(b.localPort, seq, ALL_CODES, {payloadType: 8, ssrc: 0x0b0b0b0b})
      const atA = await peerA.waitFor(5)
      assert.ok(atA.every((packet) => packet.payloadType === 0 && packet.ssrc !== 0x0b0b0b0b))
      assert.deepEqual([...(atA[0]?.payload ?? [])], [...ALL_CODES].map((code) => linearToUlaw(alawToLinear(code))))
      assert.equal(peerA.received.length, 5, 'A hears B only, not its own audio')
    } finally {
      await Promise.all([a.close(), b.close()])
      await Promise.all([peerA.close(), peerB.close()])
    }
  })

  it('plays a 1 kHz tone that the peer hears, resolving when it has played out', async () => {
    const peer = await RtpPeer.open()
    const stream = await engine.createStream({callSid: 'CA-play'})
    try {
      await stream.setRemote({address: '127.0.0.1', rtpPort: peer.port, payloadType: 0, codec: 'PCMU'})
      const started = Date.now()
      const outcome = await stream.setMode({kind: 'play', source: {type: 'tone', frequencyHz: 1000, durationMs: 400}})
      assert.equal(outcome, 'completed')
      assert.ok(Date.now() - started >= 350, `played 400 ms in ${Date.now() - started} ms`)
      const packets = await peer.waitFor(20)
      assert.equal(packets.length, 20)
      const audio = decodeUlaw(Buffer.concat(packets.map((packet) => packet.payload)))
      const at1k = goertzel(audio, 1000)
      for (const other of [500, 700, 1500, 2000]) assert.ok(at1k > 100 * goertzel(audio, other), `1 kHz vs ${other} Hz`)
      // A paced stream: 20 frames spread over about 400 ms, not one burst.
      assert.ok(packets.every((packet, index) => index === 0 || packet.timestamp - (packets[index - 1]?.timestamp ?? 0) === 160))
    } finally {
      await stream.close()
      await peer.close()
    }
  })

  it('interrupts a play when the mode changes', async () => {
    const peer = await RtpPeer.open()
    const stream = await engine.createStream({callSid: 'CA-play-cut'})
    try {
      await stream.setRemote({address: '127.0.0.1', rtpPort: peer.port, payloadType: 8, codec: 'PCMA'})
      const playing = stream.setMode({kind: 'play', source: {type: 'tone', frequencyHz: 440}})
      await peer.waitFor(3)
      await stream.setMode({kind: 'silence'})
      assert.equal(await playing, 'interrupted')
      await assert.rejects(stream.setMode({kind: 'play', source: {type: 'file', path: join(directory, 'missing.wav')}}), /ENOENT/)
    } finally {
      await stream.close()
      await peer.close()
    }
  })

  it('records the received audio to a WAV file in the recordings directory', async () => {
    const peer = await RtpPeer.open()
    const stream = await engine.createStream({callSid: 'CA-record'})
    try {
      await stream.setRemote({address: '127.0.0.1', rtpPort: peer.port, payloadType: 0, codec: 'PCMU'})
      const {path} = await stream.setMode({kind: 'record'})
      assert.equal(path, join(directory, `CA-record-${stream.id}.wav`))
      await peer.stream(stream.localPort, 1, 25, {payload: (seq) => Buffer.alloc(160, seq)})
      await new Promise((resolve) => setTimeout(resolve, 100))
      await stream.setMode({kind: 'silence'})
      const wav = readWavFile(path)
      assert.equal(wav.format, 'ulaw')
      assert.equal(wav.samples.length, 25 * 160)
      assert.deepEqual(wav.data.subarray(24 * 160), Buffer.alloc(160, 25))
      await assert.rejects(stream.setMode({kind: 'record', file: '../escape.wav'}), /outside the recordings directory/)
    } finally {
      await stream.close()
      await peer.close()
    }
  })

  it('taps received audio to the main thread and sends injected frames', async () => {
    const peer = await RtpPeer.open()
    const stream = await engine.createStream({callSid: 'CA-tap'})
    const tapped: TapFrame[] = []
    try {
      await stream.setRemote({address: '127.0.0.1', rtpPort: peer.port, payloadType: 0, codec: 'PCMU'})
      stream.onTap((frame) => tapped.push(frame))
      await stream.setMode({kind: 'tap'})
      await peer.stream(stream.localPort, 10, 14, {payload: (seq) => Buffer.alloc(160, seq)})
      const deadline = Date.now() + 2000
      while (tapped.length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      assert.deepEqual(tapped.map((frame) => frame.sequenceNumber), [10, 11, 12, 13, 14])
      assert.deepEqual(Buffer.from(tapped[2]?.payload ?? []), Buffer.alloc(160, 12))
      for (let index = 0; index < 3; index++) {
        stream.inject(Buffer.alloc(160, 0x60 + index))
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const injected = await peer.waitFor(3)
      assert.deepEqual(injected.map((packet) => packet.payload[0]), [0x60, 0x61, 0x62])
    } finally {
      await stream.close()
      await peer.close()
    }
  })
})
