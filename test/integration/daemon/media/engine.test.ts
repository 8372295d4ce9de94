// The media engine with real worker threads and real UDP sockets on
// 127.0.0.1, driven by a plain dgram peer: echo, garbage, quality and lag
// events, closing, stopping.
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {createSocket} from 'node:dgram'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import pino from 'pino'
import {MediaEngine, type ShardLag} from '../../../../daemon/media/engine.js'
import type {MediaStream} from '../../../../daemon/media/media-stream.js'
import {randomPortRange, RtpPeer} from './rtp-peer.js'

let directory = ''
let engine: MediaEngine
const range = randomPortRange(40)
const lags: ShardLag[] = []
const qualityEvents: Array<{stream: MediaStream; at: number; packetsLost: number; packetsReceived: number; dropped: number}> = []

before(async () => {
  directory = mkdtempSync(join(tmpdir(), 'clutchcall-media-engine-'))
  engine = await MediaEngine.start({address: '127.0.0.1', ...range, shards: 2, recordingsDir: directory, log: pino({level: 'silent'})})
  engine.on('lag', (lag) => lags.push(lag))
  engine.on('quality', (stream, quality, counters) =>
    qualityEvents.push({stream, at: Date.now(), packetsLost: quality.packetsLost, packetsReceived: quality.packetsReceived, dropped: counters.packetsDropped}),
  )
})

after(async () => {
  await engine.stop()
  rmSync(directory, {recursive: true, force: true})
})

const echoStream = async (peer: RtpPeer, callSid: string): Promise<MediaStream> => {
  const stream = await engine.createStream({callSid})
  await stream.setRemote({address: '127.0.0.1', rtpPort: peer.port, payloadType: 0, codec: 'PCMU'})
  await stream.setMode({kind: 'echo'})
  return stream
}

describe('MediaEngine (real shards, real sockets)', () => {
  it('places streams on even ports of the range, spread over the shards', async () => {
    const first = await engine.createStream({callSid: 'CA-place-1'})
    const second = await engine.createStream({callSid: 'CA-place-2'})
    try {
      for (const stream of [first, second]) {
        assert.equal(stream.localPort % 2, 0)
        assert.ok(stream.localPort >= range.portMin && stream.localPort + 1 <= range.portMax)
        assert.equal(stream.localRtcpPort, stream.localPort + 1)
        assert.equal(stream.localAddress, '127.0.0.1')
      }
      assert.notEqual(first.shard, second.shard, 'the least-loaded shard takes the next stream')
      const pinned = await engine.createStream({callSid: 'CA-place-3', shardHint: first.shard})
      assert.equal(pinned.shard, first.shard)
      await pinned.close()
    } finally {
      await Promise.all([first.close(), second.close()])
    }
  })

  it('echoes payloads back re-stamped with the stream’s own SSRC, sequence and timestamp', async () => {
    const peer = await RtpPeer.open()
    const stream = await echoStream(peer, 'CA-echo')
    try {
      await peer.stream(stream.localPort, 100, 119, {payload: (seq) => Buffer.alloc(160, seq)})
      const echoed = await peer.waitFor(20)
      const base = echoed[0]
      assert.ok(base)
      assert.notEqual(base.ssrc, 0x51515151)
      for (const [index, packet] of echoed.entries()) {
        assert.equal(packet.ssrc, base.ssrc)
        assert.equal(packet.sequenceNumber, (base.sequenceNumber + index) & 0xffff)
        assert.equal(packet.timestamp, (base.timestamp + index * 160) >>> 0)
        assert.deepEqual(packet.payload, Buffer.alloc(160, 100 + index))
      }
    } finally {
      await stream.close()
      await peer.close()
    }
  })

  it('keeps echoing while garbage hits the port, counting it as dropped', async () => {
    const peer = await RtpPeer.open()
    const stream = await echoStream(peer, 'CA-garbage')
    const garbage = [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(3), Buffer.alloc(200, 0xff), Buffer.from([0x80, 0x00])]
    let sentGarbage = 0
    try {
      await peer.stream(stream.localPort, 1, 40, {
        between: (seq) => {
          if (seq % 4 !== 0) return
          peer.sendRaw(stream.localPort, garbage[seq % garbage.length] as Buffer)
          sentGarbage++
        },
      })
      await peer.waitFor(40)
      // Wait for a quality report that has seen everything.
      const deadline = Date.now() + 3000
      while (stream.counters().packetsDropped < sentGarbage && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(stream.counters().packetsDropped, sentGarbage)
      assert.equal(stream.quality().packetsReceived, 40)
      assert.equal(peer.received.length, 40, 'nothing but the echo came back')
    } finally {
      await stream.close()
      await peer.close()
    }
  })

  it('reports quality about every second, with the loss the peer withheld', async () => {
    const peer = await RtpPeer.open()
    const stream = await echoStream(peer, 'CA-quality')
    try {
      // 100 packets over 2 s, every tenth withheld (never the last): 10 lost.
      await peer.stream(stream.localPort, 1, 100, {skip: (seq) => seq % 10 === 5})
      await new Promise((resolve) => setTimeout(resolve, 1300))
      const mine = qualityEvents.filter((event) => event.stream === stream)
      assert.ok(mine.length >= 2, `${mine.length} quality events`)
      const gaps = mine.slice(1).map((event, index) => event.at - (mine[index]?.at ?? 0))
      assert.ok(gaps.every((gap) => gap > 600 && gap < 1600), `intervals ${gaps.join(", ")} ms`)
      const last = mine.at(-1)
      assert.equal(last?.packetsLost, 10)
      assert.equal(last?.packetsReceived, 90)
      const final = await stream.close()
      assert.equal(final.packetsLost, 10)
      assert.equal(final.packetsSent, 90)
      assert.equal(final.codec, 'PCMU')
      assert.ok(final.estimatedMos > 1 && final.estimatedMos < 4.2, `MOS ${final.estimatedMos} with 10% loss`)
    } finally {
      await stream.close()
      await peer.close()
    }
  })

  it('reports event-loop lag samples for every shard, once a second', () => {
    for (const shard of [0, 1]) {
      const mine = lags.filter((lag) => lag.shard === shard)
      assert.ok(mine.length >= 2, `shard ${shard}: ${mine.length} lag batches`)
      const batch = mine.at(-1)
      assert.ok(batch && batch.samplesUs.length >= 30 && batch.samplesUs.length <= 101, `${batch?.samplesUs.length} samples in one second`)
      assert.ok(batch.p50Us <= batch.p99Us && batch.p99Us <= batch.maxUs)
      assert.ok(batch.maxUs < 1_000_000, 'an idle shard is not a second late')
    }
  })

  it('close() returns the final quality and frees the port pair for anyone to bind', async () => {
    const peer = await RtpPeer.open()
    const stream = await echoStream(peer, 'CA-close')
    await peer.stream(stream.localPort, 1, 5)
    await peer.waitFor(5)
    const final = await stream.close()
    assert.equal(final.packetsReceived, 5)
    assert.equal(final.packetsSent, 5)
    assert.deepEqual(await stream.close(), final, 'closing twice gives the same answer')
    assert.equal(await stream.ended, final)
    await assert.rejects(stream.setMode({kind: 'echo'}), /has ended/)
    for (const port of [stream.localPort, stream.localRtcpPort]) {
      const socket = createSocket('udp4')
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind(port, '127.0.0.1', resolve)
      })
      await new Promise<void>((resolve) => socket.close(() => resolve()))
    }
    await peer.close()
  })

  it('refuses to relay across shards', async () => {
    const a = await engine.createStream({callSid: 'CA-cross-a'})
    const b = await engine.createStream({callSid: 'CA-cross-b', shardHint: (a.shard + 1) % engine.shardCount})
    try {
      await assert.rejects(a.relayTo(b), /one shard/)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})

/** OS threads of this process: each worker thread is one (Linux, as on CI). */
const threadCount = (): number => readdirSync('/proc/self/task').length

describe('MediaEngine.stop', () => {
  it('ends every stream and leaves no worker running', async () => {
    // Start libuv's thread pool first, so only the shards change the count.
    await readFile(new URL(import.meta.url))
    const threadsBefore = threadCount()
    const own = await MediaEngine.start({address: '127.0.0.1', ...randomPortRange(20), shards: 2, recordingsDir: directory, log: pino({level: 'silent'})})
    assert.equal(threadCount(), threadsBefore + 2)
    const stream = await own.createStream({callSid: 'CA-stop'})
    const ended: string[] = []
    own.on('stream-ended', (_stream, _final, reason) => ended.push(reason))
    await own.stop()
    assert.deepEqual(ended, ['closed'])
    assert.equal((await stream.ended).packetsSent, 0)
    assert.equal(own.streamCount, 0)
    assert.ok(own.status().every((shard) => !shard.running))
    // terminate() has resolved; give the OS a moment to reap the threads.
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(threadCount(), threadsBefore)
    await assert.rejects(own.createStream({callSid: 'CA-late'}), /stopping/)
  })
})
