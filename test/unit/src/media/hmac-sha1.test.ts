// The JavaScript HMAC-SHA1 of src/media/hmac-sha1.ts against node:crypto's,
// for every message length across SHA-1's block and padding boundaries,
// with and without SRTP's 4-octet ROC, with keys of SRTP's 20 octets and
// others, truncated to both SRTP tag lengths; and verify's refusals.
import assert from 'node:assert/strict'
import {createHmac, randomBytes} from 'node:crypto'
import {describe, it} from 'node:test'
import {HmacSha1} from '../../../../src/media/hmac-sha1.js'

const reference = (key: Buffer, data: Buffer, roc: number | undefined): Buffer => {
  const mac = createHmac('sha1', key).update(data)
  if (roc !== undefined) {
    const rocBytes = Buffer.alloc(4)
    rocBytes.writeUInt32BE(roc)
    mac.update(rocBytes)
  }
  return mac.digest()
}

describe('HmacSha1', () => {
  it('gives node:crypto\'s HMAC-SHA1 for messages of 0 to 300 octets, with and without a ROC, under keys of 0, 20 and 64 octets', () => {
    let compared = 0
    for (const keyLength of [0, 20, 64]) {
      const key = randomBytes(keyLength)
      const mac = new HmacSha1(key)
      for (let length = 0; length <= 300; length++) {
        const data = randomBytes(length + 7)
        for (const roc of [undefined, 0, 0xfedcba98]) {
          const out = Buffer.alloc(30, 0xee)
          mac.sign(data, length, roc, out, 5, 20)
          assert.deepEqual(out.subarray(5, 25), reference(key, data.subarray(0, length), roc), `key ${keyLength}, length ${length}, roc ${roc}`)
          assert.equal(out[4], 0xee, 'nothing written before the offset')
          assert.equal(out[25], 0xee, 'nothing written after the tag')
          compared++
        }
      }
    }
    assert.equal(compared, 3 * 301 * 3)
  })

  it('verifies a truncated tag, and refuses one with any octet changed or computed over other data', () => {
    const key = randomBytes(20)
    const mac = new HmacSha1(key)
    const packet = randomBytes(172 + 10)
    reference(key, packet.subarray(0, 172), 7).copy(packet, 172, 0, 10)
    assert.ok(mac.verify(packet, 172, 7, packet, 172, 10))
    assert.ok(mac.verify(packet, 172, 7, packet, 172, 4), 'the 32-bit tag is its first 4 octets')
    assert.equal(mac.verify(packet, 172, 8, packet, 172, 10), false, 'another ROC')
    assert.equal(mac.verify(packet, 171, 7, packet, 172, 10), false, 'one octet less')
    for (let octet = 0; octet < 10; octet++) {
      const forged = Buffer.from(packet)
      forged[172 + octet] = (forged[172 + octet] as number) ^ 0x01
      assert.equal(mac.verify(forged, 172, 7, forged, 172, 10), false, `tag octet ${octet} changed`)
    }
  })

  it('refuses a key longer than a SHA-1 block', () => {
    assert.throws(() => new HmacSha1(Buffer.alloc(65)), RangeError)
  })
})
