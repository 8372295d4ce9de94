import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {crc32, crc32Table} from '../../../src/crc32.js'

describe('crc32', () => {
  for (const [name, checksum] of [['native or table', crc32], ['table', crc32Table]] as const) {
    it(`gives the CRC-32/IEEE check values (${name})`, () => {
      assert.equal(checksum(Buffer.from('123456789')), 0xcbf43926)
      assert.equal(checksum(Buffer.alloc(0)), 0)
      assert.equal(checksum(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339)
    })

    it(`covers only the range asked for (${name})`, () => {
      assert.equal(checksum(Buffer.from('xx123456789yy'), 2, 11), 0xcbf43926)
    })
  }

  it('agrees between the two on random data', () => {
    const data = Buffer.from(Array.from({length: 4096}, (_, index) => (index * 7919) % 251))
    assert.equal(crc32(data, 17, 4000), crc32Table(data, 17, 4000))
  })
})
