// The HEP sender thread against real UDP sockets: batched frames arrive one
// per datagram, intact and in order; a closed port is counted as errors
// (ICMP port unreachable on the connected socket), never thrown; closing
// sends what was batched.
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'
import {HepSender} from '../../../../../daemon/telemetry/hep/sender.js'
import {splitHepFrame, type HepFrameInit} from '../../../../../src/hep/encoder.js'
import {waitFor} from '../../../../helpers/gateway.js'
import {freeUdpPort, HepCollector} from '../../../../helpers/hep.js'

const frame = (index: number, payload = `OPTIONS sip:${index}@x SIP/2.0\r\nCall-ID: c${index}\r\n\r\n`): HepFrameInit => ({
  transport: 'udp',
  source: {address: '127.0.0.1', port: 5060},
  destination: {address: '127.0.0.2', port: 5070},
  timestampMs: 1_764_000_000_000 + index,
  protocolType: 1,
  captureId: 7,
  correlationId: `c${index}`,
  payload,
})

describe('HEP sender thread', () => {
  const collector = new HepCollector()
  after(() => collector.close())

  it('sends every batched frame as its own datagram, byte for byte, in order, and counts them', async () => {
    await collector.start()
    const died: Error[] = []
    const sender = await HepSender.start({address: '127.0.0.1', port: collector.port}, (error) => died.push(error))
    // 25 frames every 20 ms: batches of many frames, at a pace the collector's socket buffer (in this
    // same process, whose event loop a loaded machine delays) takes without the kernel dropping any.
    for (let index = 0; index < 1500; index++) {
      sender.write(frame(index, index === 700 ? 'x'.repeat(60_000) : undefined), index % 10 === 0 ? 'rtcp' : 'sip')
      if (index % 25 === 24) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await waitFor('1500 frames', () => (collector.frames.length + collector.undecodable.length >= 1500 ? true : undefined))
    assert.deepEqual(collector.undecodable, [])
    assert.deepEqual(collector.frames.map((received) => received.decoded.rcinfo.correlation_id), Array.from({length: 1500}, (_, index) => `c${index}`))
    assert.equal(collector.frames[700]?.decoded.payload.length, 60_000, 'a 60 kB frame crosses a batch boundary intact')
    for (const received of collector.frames) assert.doesNotThrow(() => splitHepFrame(received.bytes))
    const counts = await sender.close()
    assert.deepEqual({sip: counts.sip, rtcp: counts.rtcp, errors: counts.errors}, {sip: 1350, rtcp: 150, errors: 0})
    assert.deepEqual(died, [])
  })

  it('counts frames refused by a closed port (ICMP) as errors and throws nothing', async () => {
    const sender = await HepSender.start({address: '127.0.0.1', port: await freeUdpPort()}, () => {})
    for (let round = 0; round < 5; round++) {
      for (let index = 0; index < 20; index++) sender.write(frame(index), 'sip')
      await new Promise((resolve) => setTimeout(resolve, 30))
    }
    await waitFor('errors', () => (sender.totals.errors > 0 ? true : undefined))
    const counts = await sender.close()
    // A refusal still pending fails the next send (that frame counts as an error, not as sent); one that comes while nothing is sent is counted as it comes.
    assert.ok(counts.sip + counts.errors >= 100, `sent ${counts.sip}, errors ${counts.errors}`)
    assert.ok(counts.errors > 0, `errors ${counts.errors}`)
    assert.match(counts.lastError?.message ?? '', /refused/)
  })

  it('sends what is batched when closed', async () => {
    const before = collector.frames.length
    const sender = await HepSender.start({address: '127.0.0.1', port: collector.port}, () => {})
    sender.write(frame(1), 'sip')
    sender.write(frame(2), 'sip')
    const counts = await sender.close()
    assert.equal(counts.sip, 2)
    await waitFor('the two frames', () => (collector.frames.length - before === 2 ? true : undefined))
  })
})
