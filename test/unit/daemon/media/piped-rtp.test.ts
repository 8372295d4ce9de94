import assert from 'node:assert/strict'
import {test} from 'node:test'
import {packOne, PipedRtpPacker, unpackPiped} from '../../../../daemon/media/piped-rtp.js'

const unpacked = (packed: Uint8Array): Array<[number, string]> => {
  const out: Array<[number, string]> = []
  unpackPiped(packed, (streamId, datagram) => out.push([streamId, datagram.toString('hex')]))
  return out
}

test('datagrams of several streams come out in order, each with its stream id and octets', () => {
  const packer = new PipedRtpPacker()
  assert.equal(packer.isEmpty, true)
  packer.add(7, Buffer.from('8000aabb', 'hex'))
  packer.add(0xfffffffe, Buffer.alloc(0))
  packer.add(9, Buffer.from('80', 'hex'))
  assert.equal(packer.isEmpty, false)
  assert.deepEqual(unpacked(packer.take()), [[7, '8000aabb'], [0xfffffffe, ''], [9, '80']])
  assert.equal(packer.isEmpty, true)
  assert.deepEqual(unpacked(packer.take()), [])
})

test('the packed buffer grows past its first size, and what was taken is not touched by what is packed next', () => {
  const packer = new PipedRtpPacker()
  const big = Buffer.alloc(1400, 0x5a)
  for (let index = 0; index < 40; index++) packer.add(index, big)
  const first = packer.take()
  assert.ok(first.byteLength >= 40 * 1406)
  // The taken buffer is its own: transferable, and the packer writes elsewhere from now on.
  packer.add(1, Buffer.alloc(100, 0x11))
  const firstAgain = unpacked(first)
  assert.equal(firstAgain.length, 40)
  assert.ok(firstAgain.every(([streamId, hex], index) => streamId === index && hex === big.toString('hex')))
  assert.notEqual(packer.take().buffer, first.buffer)
})

test('a datagram longer than a UDP payload is refused, not packed', () => {
  const packer = new PipedRtpPacker()
  assert.equal(packer.add(1, Buffer.alloc(0x10000)), false)
  assert.equal(packer.isEmpty, true)
})

test('a truncated record ends the walk; what came before it is delivered', () => {
  const packed = Buffer.from(packOne(3, Buffer.from('01020304', 'hex')))
  const truncated = Buffer.concat([packed, Buffer.from([0, 0, 0, 4, 0, 9, 1, 2])])
  assert.deepEqual(unpacked(truncated), [[3, '01020304']])
  assert.deepEqual(unpacked(new Uint8Array(3)), [])
})

test('a turn much larger than the one before grows the buffer sized for the smaller one, and every datagram survives', () => {
  const packer = new PipedRtpPacker()
  packer.add(1, Buffer.alloc(10, 0x01))
  assert.deepEqual(unpacked(packer.take()), [[1, '01'.repeat(10)]])
  const payload = Buffer.alloc(172, 0x7e)
  for (let index = 0; index < 300; index++) packer.add(index, payload)
  const turn = unpacked(packer.take())
  assert.equal(turn.length, 300)
  assert.ok(turn.every(([streamId, hex], index) => streamId === index && hex === payload.toString('hex')))
})
