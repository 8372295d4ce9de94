// The HEPv3 encoder, byte by byte against frames computed by hand from the
// chunk table (vendor 0, 6-octet chunk headers, network byte order), and
// decoded back by hep-js, an independent decoder.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import hepJs from 'hep-js'
import {encodeHepFrame, hepFrameLength, HepEncodeError, splitHepFrame, splitTimestamp, writeHepFrame} from '../../../../src/hep/encoder.js'

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex')

describe('HEPv3 encoder', () => {
  it('encodes an IPv4 UDP SIP frame exactly, with a correlation id and no auth key', () => {
    const frame = encodeHepFrame({
      transport: 'udp',
      source: {address: '10.0.0.1', port: 5060},
      destination: {address: '10.0.0.2', port: 5080},
      timestampMs: 1_700_000_000_123.456,
      protocolType: 1,
      captureId: 2001,
      correlationId: 'c1',
      payload: Buffer.from('OK'),
    })
    const expected = hex(`
      48455033 006d
      0000 0001 0007 02
      0000 0002 0007 11
      0000 0003 000a 0a000001
      0000 0004 000a 0a000002
      0000 0007 0008 13c4
      0000 0008 0008 13d8
      0000 0009 000a 6553f100
      0000 000a 000a 0001e240
      0000 000b 0007 01
      0000 000c 000a 000007d1
      0000 0011 0008 6331
      0000 000f 0008 4f4b`)
    assert.equal(frame.toString('hex'), expected.toString('hex'))
    assert.equal(frame.length, 109)
  })

  it('encodes an IPv6 TCP frame with an auth key: family 10, protocol 6, chunks 0x05/0x06 of 16 octets, 0x0e', () => {
    const frame = encodeHepFrame({
      transport: 'tcp',
      source: {address: '2001:db8::1', port: 5060},
      destination: {address: '::1', port: 5061},
      timestampMs: 1000.001,
      protocolType: 1,
      captureId: 0xffffffff,
      authKey: 'pw',
      payload: 'X',
    })
    const expected = hex(`
      48455033 0084
      0000 0001 0007 0a
      0000 0002 0007 06
      0000 0005 0016 20010db8000000000000000000000001
      0000 0006 0016 00000000000000000000000000000001
      0000 0007 0008 13c4
      0000 0008 0008 13c5
      0000 0009 000a 00000001
      0000 000a 000a 00000001
      0000 000b 0007 01
      0000 000c 000a ffffffff
      0000 000e 0008 7077
      0000 000f 0007 58`)
    assert.equal(frame.toString('hex'), expected.toString('hex'))
    assert.equal(frame.length, 0x84) // 6 + 7 + 7 + 22 + 22 + 8 + 8 + 10 + 10 + 7 + 10 + 8 + 7
  })

  it('writes every IPv6 form: full, compressed in the middle, with a dotted IPv4 tail, with a zone', () => {
    const sourceOf = (address: string): string => {
      const chunk = splitHepFrame(encodeHepFrame({transport: 'udp', source: {address, port: 1}, destination: {address: '::', port: 2}, timestampMs: 0, protocolType: 1, captureId: 1, payload: ''})).find((c) => c.type === 0x05)
      assert.ok(chunk, address)
      return chunk.value.toString('hex')
    }
    assert.equal(sourceOf('fe80:0:0:0:0:0:0:abcd'), 'fe80000000000000000000000000abcd')
    assert.equal(sourceOf('2001:db8:1::ff:2'), '20010db8000100000000000000ff0002')
    assert.equal(sourceOf('::'), '00000000000000000000000000000000')
    assert.equal(sourceOf('64:ff9b::192.0.2.33'), '0064ff9b0000000000000000c0000221')
    assert.equal(sourceOf('fe80::1%eth0'), 'fe800000000000000000000000000001')
  })

  it('sends IPv4-mapped IPv6 addresses as IPv4 when both ends are IPv4', () => {
    const chunks = splitHepFrame(encodeHepFrame({transport: 'udp', source: {address: '::ffff:192.0.2.1', port: 5060}, destination: {address: '192.0.2.2', port: 5060}, timestampMs: 0, protocolType: 1, captureId: 1, payload: 'x'}))
    assert.equal(chunks.find((c) => c.type === 0x01)?.value[0], 2)
    assert.equal(chunks.find((c) => c.type === 0x03)?.value.toString('hex'), 'c0000201')
  })

  it('leaves out the auth key and the correlation id when they are empty', () => {
    const types = splitHepFrame(encodeHepFrame({transport: 'udp', source: {address: '127.0.0.1', port: 1}, destination: {address: '127.0.0.1', port: 2}, timestampMs: 0, protocolType: 5, captureId: 1, authKey: '', correlationId: '', payload: '{}'})).map((c) => c.type)
    assert.deepEqual(types, [0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0f])
  })

  it('splits timestamps into seconds and microseconds without carrying 1,000,000', () => {
    assert.deepEqual(splitTimestamp(1_700_000_000_999.9996), {seconds: 1_700_000_001, microseconds: 0})
    assert.deepEqual(splitTimestamp(1_700_000_000_500.25), {seconds: 1_700_000_000, microseconds: 500_250})
    assert.deepEqual(splitTimestamp(0), {seconds: 0, microseconds: 0})
  })

  it('refuses what a frame cannot carry: non-IP addresses, bad ports, a frame over 65,535 octets', () => {
    const base = {transport: 'udp' as const, source: {address: '127.0.0.1', port: 1}, destination: {address: '127.0.0.1', port: 2}, timestampMs: 0, protocolType: 1, captureId: 1}
    assert.throws(() => encodeHepFrame({...base, source: {address: 'localhost', port: 1}, payload: ''}), HepEncodeError)
    assert.throws(() => encodeHepFrame({...base, destination: {address: '127.0.0.1', port: 70_000}, payload: ''}), HepEncodeError)
    assert.throws(() => encodeHepFrame({...base, captureId: 2 ** 32, payload: ''}), HepEncodeError)
    assert.throws(() => encodeHepFrame({...base, payload: Buffer.alloc(65_535)}), /HEPv3 frames end at 65535/)
    assert.doesNotThrow(() => encodeHepFrame({...base, payload: Buffer.alloc(65_535 - 104)}))
  })

  it('writes frames back to back into a batch buffer, each equal to its own encoding; refuses a buffer without room', () => {
    const first = {transport: 'udp' as const, source: {address: '127.0.0.1', port: 1}, destination: {address: '127.0.0.2', port: 2}, timestampMs: 1.5, protocolType: 1, captureId: 1, payload: 'one'}
    const second = {...first, transport: 'tcp' as const, correlationId: 'x', authKey: 'k', payload: 'second payload'}
    const batch = Buffer.alloc(512, 0xee)
    const firstLength = writeHepFrame(batch, 0, first)
    const secondLength = writeHepFrame(batch, firstLength, second)
    assert.equal(firstLength, hepFrameLength(first))
    assert.equal(secondLength, hepFrameLength(second))
    assert.deepEqual(batch.subarray(0, firstLength), encodeHepFrame(first))
    assert.deepEqual(batch.subarray(firstLength, firstLength + secondLength), encodeHepFrame(second))
    assert.equal(batch[firstLength + secondLength], 0xee, 'nothing written past the frames')
    assert.throws(() => writeHepFrame(Buffer.alloc(firstLength - 1), 0, first), /no room/)
  })

  it('is decoded by hep-js: addresses, ports, time, protocol, capture id, auth key, correlation id, payload', () => {
    const sip = 'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: xyz@host\r\n\r\n'
    const frame = encodeHepFrame({
      transport: 'udp',
      source: {address: '192.0.2.10', port: 5070},
      destination: {address: '198.51.100.7', port: 5060},
      timestampMs: 1_764_000_000_250.75,
      protocolType: 1,
      captureId: 4242,
      authKey: 's3cret',
      correlationId: 'xyz@host',
      payload: Buffer.from(sip),
    })
    const decoded = hepJs.decapsulate(frame)
    assert.ok(decoded, 'hep-js decodes the frame')
    assert.deepEqual(decoded.rcinfo, {
      protocolFamily: 2,
      protocol: 17,
      srcIp: '192.0.2.10',
      dstIp: '198.51.100.7',
      srcPort: 5070,
      dstPort: 5060,
      timeSeconds: 1_764_000_000,
      timeUseconds: 250_750,
      payloadType: 1,
      captureId: 4242,
      capturePass: 's3cret',
      correlation_id: 'xyz@host',
    })
    assert.equal(decoded.payload, sip)
  })
})
