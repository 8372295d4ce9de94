// The shard's command handling, run in this thread with real sockets.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {createSocket} from 'node:dgram'
import type {ShardCommand, ShardEvent} from '../../../../daemon/media/protocol.js'
import {ShardHost} from '../../../../daemon/media/shard-host.js'
import {packOne, PipedRtpPacker, unpackPiped} from '../../../../daemon/media/piped-rtp.js'

/** A 20 ms PCMU RTP packet (µ-law 0xd5 payload) with this sequence number, its timestamp and a fixed SSRC. */
const pcmuPacket = (sequenceNumber: number): Buffer => {
  const packet = Buffer.alloc(12 + 160, 0xd5)
  packet[0] = 0x80
  packet[1] = 0
  packet.writeUInt16BE(sequenceNumber, 2)
  packet.writeUInt32BE(sequenceNumber * 160, 4)
  packet.writeUInt32BE(0x1234, 8)
  return packet
}

const harness = (pairCount: number) => {
  const events: ShardEvent[] = []
  const waiters = new Map<number, (event: ShardEvent) => void>()
  const firstPort = 47_000 + 2 * Math.floor(Math.random() * 4_000)
  const host = new ShardHost(
    {shard: 3, address: '127.0.0.1', firstPort, pairCount, qualityIntervalMs: 50, lagProbeIntervalMs: 10, rtcpIntervalMs: 5000},
    (event) => {
      events.push(event)
      if (event.type === 'reply') waiters.get(event.requestId)?.(event)
    },
  )
  let nextId = 1
  const request = (command: Record<string, unknown> & {type: string}): Promise<Extract<ShardEvent, {type: 'reply'}>> => {
    const requestId = nextId++
    return new Promise((resolve) => {
      waiters.set(requestId, resolve as (event: ShardEvent) => void)
      host.handle({...command, requestId} as unknown as ShardCommand)
    })
  }
  return {host, events, request, firstPort}
}

describe('ShardHost', () => {
  it('creates streams until its ports run out, then answers ports-exhausted', async () => {
    const {host, request, firstPort} = harness(2)
    host.start()
    try {
      const first = await request({type: 'create', streamId: 1, callSid: 'CA1'})
      const second = await request({type: 'create', streamId: 2, callSid: 'CA2'})
      assert.deepEqual([first.ok && first.result, second.ok && second.result], [{localPort: firstPort}, {localPort: firstPort + 2}])
      const third = await request({type: 'create', streamId: 3, callSid: 'CA3'})
      assert.equal(third.ok, false)
      assert.equal(!third.ok && third.code, 'ports-exhausted')
      const duplicate = await request({type: 'create', streamId: 1, callSid: 'CA1'})
      assert.equal(!duplicate.ok && duplicate.code, 'invalid')
    } finally {
      await host.shutdown()
    }
  })

  it('answers unknown streams and invalid remotes with an error code, never by throwing', async () => {
    const {host, request} = harness(2)
    host.start()
    try {
      const unknown = await request({type: 'set-mode', streamId: 99, mode: {kind: 'echo'}})
      assert.equal(!unknown.ok && unknown.code, 'unknown-stream')
      await request({type: 'create', streamId: 1, callSid: 'CA1'})
      const wrongFamily = await request({type: 'set-remote', streamId: 1, remote: {address: '::1', rtpPort: 4000, payloadType: 0, codec: 'PCMU'}})
      assert.equal(!wrongFamily.ok && wrongFamily.code, 'invalid')
      assert.match(!wrongFamily.ok ? wrongFamily.message : '', /same family/)
      const badPort = await request({type: 'set-remote', streamId: 1, remote: {address: '127.0.0.1', rtpPort: 0, payloadType: 0, codec: 'PCMU'}})
      assert.equal(!badPort.ok && badPort.code, 'invalid')
      const badCodec = await request({type: 'set-remote', streamId: 1, remote: {address: '127.0.0.1', rtpPort: 4000, payloadType: 18, codec: 'G729'}})
      assert.equal(!badCodec.ok && badCodec.code, 'invalid')
      const play = await request({type: 'set-mode', streamId: 1, mode: {kind: 'play', source: {type: 'tone', frequencyHz: 440}}})
      assert.equal(!play.ok && play.code, 'failed', 'play before the remote is known')
    } finally {
      await host.shutdown()
    }
  })

  it('forwards RTCP reports as Homer JSON only while rtcp-capture is on, with the stream\'s ports', async () => {
    const {host, events, request, firstPort} = harness(2)
    host.start()
    try {
      await request({type: 'create', streamId: 1, callSid: 'CA1'})
      await request({type: 'set-remote', streamId: 1, remote: {address: '127.0.0.1', rtpPort: 40_000, payloadType: 0, codec: 'PCMU'}})
      // Off (the default): closing sends an RTCP BYE report, and nothing is forwarded.
      await request({type: 'create', streamId: 2, callSid: 'CA2'})
      await request({type: 'set-remote', streamId: 2, remote: {address: '127.0.0.1', rtpPort: 40_002, payloadType: 0, codec: 'PCMU'}})
      await request({type: 'close', streamId: 2})
      host.handle({type: 'rtcp-capture', enabled: true})
      await request({type: 'close', streamId: 1})
      await new Promise((resolve) => setTimeout(resolve, 250))
      const batches = events.filter((event): event is Extract<ShardEvent, {type: 'rtcp'}> => event.type === 'rtcp')
      const reports = batches.flatMap((batch) => batch.reports)
      assert.equal(reports.length, 1, JSON.stringify(reports))
      const [report] = reports
      assert.equal(report?.callSid, 'CA1')
      assert.equal(report?.direction, 'out')
      assert.deepEqual(report?.local, {address: '127.0.0.1', port: firstPort + 1})
      assert.deepEqual(report?.remote, {address: '127.0.0.1', port: 40_001})
      const json = JSON.parse(report?.json ?? '{}') as {type: number; report_blocks: unknown[]}
      assert.equal(json.type, 201, 'an RR: the stream sent no RTP')
      assert.deepEqual(json.report_blocks, [])
    } finally {
      await host.shutdown()
    }
  })

  it('reports quality of every stream periodically and final quality on shutdown', async () => {
    const {host, events, request} = harness(4)
    host.start()
    await request({type: 'create', streamId: 7, callSid: 'CA7'})
    await request({type: 'create', streamId: 8, callSid: 'CA8'})
    await new Promise((resolve) => setTimeout(resolve, 130))
    const reports = events.filter((event) => event.type === 'quality')
    assert.ok(reports.length >= 2, `${reports.length} quality batches`)
    assert.deepEqual(reports.at(-1)?.type === 'quality' && reports.at(-1)?.reports.map((report) => report.streamId), [7, 8])
    assert.equal(events[0]?.type, 'ready')
    const finals = await host.shutdown()
    assert.deepEqual(finals.map((report) => report.streamId), [7, 8])
    assert.equal(host.streamCount, 0)
    const late = await request({type: 'create', streamId: 9, callSid: 'CA9'})
    assert.match(!late.ok ? late.message : '', /shutting down/)
  })

  it('carries the RTP of a piped stream as messages: no ports bound, echo comes back as piped-rtp, nothing before set-remote', async () => {
    const {host, events, request} = harness(1)
    host.start()
    const rtp = (sequenceNumber: number): Uint8Array => new Uint8Array(pcmuPacket(sequenceNumber))
    const piped = () => {
      const datagrams: Array<{streamId: number; datagram: Buffer}> = []
      for (const event of events) if (event.type === 'piped-rtp') unpackPiped(event.packed, (streamId, datagram) => datagrams.push({streamId, datagram}))
      return datagrams
    }
    try {
      const created = await request({type: 'create', streamId: 1, callSid: 'CA1', piped: true})
      assert.deepEqual(created.ok && created.result, {localPort: 0})
      // The shard's one port pair is still free: a piped stream took none.
      const socketed = await request({type: 'create', streamId: 2, callSid: 'CA2'})
      assert.equal(socketed.ok, true)
      await request({type: 'set-mode', streamId: 1, mode: {kind: 'echo'}})
      host.handle({type: 'piped-rtp', packed: packOne(1, rtp(1))})
      await new Promise((resolve) => setTimeout(resolve, 30))
      assert.equal(piped().length, 0, 'nothing is accepted before the remote is known')
      await request({type: 'set-remote', streamId: 1, remote: {address: '127.0.0.1', rtpPort: 9, payloadType: 0, codec: 'PCMU'}})
      // Several datagrams in one message, as the engine packs a turn's worth; one for a stream the shard does not have.
      const packer = new PipedRtpPacker()
      for (let sequence = 2; sequence <= 5; sequence++) packer.add(1, rtp(sequence))
      packer.add(77, rtp(6))
      host.handle({type: 'piped-rtp', packed: packer.take()})
      host.handle({type: 'piped-rtp', packed: packOne(1, rtp(7))})
      await new Promise((resolve) => setTimeout(resolve, 200))
      const echoed = piped()
      assert.ok(echoed.length >= 5, `echoed ${echoed.length} packets`)
      assert.ok(echoed.every((event) => event.streamId === 1))
      const first = echoed[0]!.datagram
      assert.equal(first.length, 12 + 160)
      assert.equal(first[1]! & 0x7f, 0)
      assert.ok(first.subarray(12).every((octet) => octet === 0xd5), 'the payload echoed unchanged')
      // Each datagram was copied out when sent: the stream reuses its send buffer, so views of it would all read alike.
      assert.equal(new Set(echoed.map((event) => event.datagram.readUInt16BE(2))).size, echoed.length, 'every echoed packet has its own sequence number')
      const closed = await request({type: 'close', streamId: 1})
      assert.equal(closed.ok && (closed.result as {quality: {packetsReceived: number}}).quality.packetsReceived, 5)
    } finally {
      await host.shutdown()
    }
  })

  it('sends a piped stream\'s RTP on at most its rate (a burst of 50): a far end flooding its relay peer is dropped in the shard, said once', async () => {
    const {host, events, request} = harness(2)
    host.start()
    const farEnd = createSocket('udp4')
    await new Promise<void>((resolve) => farEnd.bind(0, '127.0.0.1', resolve))
    try {
      await request({type: 'create', streamId: 1, callSid: 'CA1', piped: true})
      await request({type: 'set-remote', streamId: 1, remote: {address: '127.0.0.1', rtpPort: 9, payloadType: 0, codec: 'PCMU'}})
      const created = await request({type: 'create', streamId: 2, callSid: 'CA1'})
      const port = created.ok ? (created.result as {localPort: number}).localPort : 0
      await request({type: 'set-remote', streamId: 2, remote: {address: '127.0.0.1', rtpPort: farEnd.address().port, payloadType: 0, codec: 'PCMU'}})
      await request({type: 'relay', streamId: 2, peerId: 1})
      const start = performance.now()
      for (let sequence = 1; sequence <= 400; sequence++) {
        farEnd.send(pcmuPacket(sequence), port, '127.0.0.1')
      }
      await new Promise((resolve) => setTimeout(resolve, 150))
      const elapsed = performance.now() - start
      let relayed = 0
      for (const event of events) if (event.type === 'piped-rtp') unpackPiped(event.packed, () => relayed++)
      assert.ok(relayed >= 50 && relayed <= 50 + (250 * elapsed) / 1000 + 2, `relayed ${relayed} of 400 in ${elapsed.toFixed(0)} ms`)
      const said = events.filter((event) => event.type === 'stream-error')
      assert.equal(said.length, 1)
      assert.match(said[0]!.type === 'stream-error' ? said[0]!.message : '', /beyond 250 packets a second/)
    } finally {
      farEnd.close()
      await host.shutdown()
    }
  })
})
