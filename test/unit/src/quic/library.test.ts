import assert from 'node:assert/strict'
import {test} from 'node:test'
import {keepPacket, packetRoom} from '../../../../src/quic/library.js'

const MAX_PAYLOAD = 1350

test('each packet written on the short send path keeps its octets while the next ones are written', () => {
  const packets: {view: Buffer; fill: number; length: number}[] = []
  // More than one slab's worth (256 KiB), so the move to a new slab is crossed too.
  for (let index = 0; index < 400; index++) {
    const room = packetRoom(MAX_PAYLOAD)
    assert.equal(room.length, MAX_PAYLOAD, 'the room offered holds the largest packet')
    const length = 100 + ((index * 37) % (MAX_PAYLOAD - 100))
    const fill = index % 251
    room.fill(fill, 0, length)
    keepPacket(length)
    packets.push({view: room.subarray(0, length), fill, length})
  }
  for (const [index, packet] of packets.entries()) {
    assert.ok(
      packet.view.every((octet) => octet === packet.fill),
      `packet ${index} (${packet.length} octets) was overwritten by a later one`,
    )
  }
  const slabs = new Set(packets.map((packet) => packet.view.buffer))
  assert.ok(slabs.size >= 2, 'a full slab is replaced by a new one')
  assert.ok(slabs.size <= 3, `packets share slabs (${slabs.size} for 400 packets)`)
})

test('a room that is not kept (quiche had nothing to send) is offered again', () => {
  const first = packetRoom(MAX_PAYLOAD)
  const again = packetRoom(MAX_PAYLOAD)
  assert.equal(again.buffer, first.buffer)
  assert.equal(again.byteOffset, first.byteOffset)
})
