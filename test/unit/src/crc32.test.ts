import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {crc32} from '../../../src/crc32.js'

describe('crc32', () => {
  it('gives the CRC-32/IEEE check values', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926)
    assert.equal(crc32(Buffer.alloc(0)), 0)
    assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339)
  })

  it('covers only the range asked for', () => {
    assert.equal(crc32(Buffer.from('xx123456789yy'), 2, 11), 0xcbf43926)
  })
})
