// SRTP and SRTCP (RFC 3711) in src/media/srtp.ts: the key derivation and the
// AES-CM keystream against the RFC's own test vectors (Appendix B.3, B.2),
// whole packets against node:crypto's AES-CTR and HMAC-SHA1 applied as
// §3.1/§4 say (sizes that end inside an AES block, CSRCs, a header
// extension, a rollover counter above 0), round trips of both suites between two sessions with each
// other's keys, and every refusal: a wrong key, a flipped bit, a short
// packet, a replay; the rollover counter across a sequence wrap.
import assert from 'node:assert/strict'
import {createCipheriv, createHmac, randomBytes} from 'node:crypto'
import {describe, it} from 'node:test'
import {AesCounterMode, deriveKeys, deriveSessionKey, ReplayWindow, SrtpSession, type SrtpSuite} from '../../../../src/media/srtp.js'

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s/g, ''), 'hex')

describe('SRTP key derivation (RFC 3711 Appendix B.3)', () => {
  const masterKey = hex('E1F97A0D3E018BE0D64FA32C06DE4139')
  const masterSalt = hex('0EC675AD498AFEEBB6960B3AABE6')

  it('derives the cipher key, the cipher salt and the authentication key of the RFC', () => {
    assert.equal(deriveSessionKey(masterKey, masterSalt, 0, 16).toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087')
    assert.equal(deriveSessionKey(masterKey, masterSalt, 2, 14).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1')
    assert.equal(deriveSessionKey(masterKey, masterSalt, 1, 20).toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4')
  })
})

describe('AES-CM keystream (RFC 3711 Appendix B.2)', () => {
  it('gives the RFC keystream blocks for counters 0, 1, 2, and one cipher serves IV after IV', () => {
    const counter = new AesCounterMode(hex('2B7E151628AED2A6ABF7158809CF4F3C'))
    const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000')
    const expected = 'E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0'
    for (const length of [48, 40]) {
      const out = Buffer.alloc(length)
      counter.apply(iv, Buffer.alloc(length), out, 0)
      assert.equal(out.toString('hex').toUpperCase(), expected.slice(0, 2 * length))
    }
  })
})

/** What RFC 3711 §3.1 puts on the wire, computed with node:crypto's AES-CTR and HMAC-SHA1 directly (no state kept). */
const referenceSrtp = (master: Buffer, suite: SrtpSuite, packet: Buffer, headerLength: number, roc: number): Buffer => {
  const keys = deriveKeys(master, 'rtp')
  const iv = Buffer.alloc(16)
  keys.salt.copy(iv)
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ packet.readUInt32BE(8)) >>> 0, 4)
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ (roc >>> 16), 8)
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ (((roc & 0xffff) * 0x10000 + packet.readUInt16BE(2)) >>> 0)) >>> 0, 10)
  const cipher = createCipheriv('aes-128-ctr', keys.encryption, iv)
  const body = Buffer.concat([packet.subarray(0, headerLength), cipher.update(packet.subarray(headerLength)), cipher.final()])
  const rocBytes = Buffer.alloc(4)
  rocBytes.writeUInt32BE(roc)
  const tag = createHmac('sha1', keys.authentication).update(body).update(rocBytes).digest().subarray(0, suite.endsWith('80') ? 10 : 4)
  return Buffer.concat([body, tag])
}

describe('SRTP packets against node:crypto applied directly', () => {
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    it(`${suite}: payloads of 0 to 1,200 octets, CSRCs and a header extension, before and after a sequence wrap`, () => {
      const local = randomBytes(30)
      const session = new SrtpSession(suite, local, randomBytes(30))
      const checked: string[] = []
      let roc = 0
      let previous = 65_530
      for (const [index, size] of [0, 1, 15, 16, 17, 160, 161, 320, 1200, 33].entries()) {
        const sequence = (65_530 + index) & 0xffff
        if (sequence < previous) roc++
        previous = sequence
        // Every third packet has two CSRCs and a one-word header extension (X bit): the header SRTP leaves in clear grows to 28 octets.
        const extended = index % 3 === 2
        const header = Buffer.alloc(extended ? 28 : 12)
        header[0] = extended ? 0x92 : 0x80
        header[1] = 0
        header.writeUInt16BE(sequence, 2)
        header.writeUInt32BE(0xcafe0001, 8)
        if (extended) header.writeUInt16BE(1, 22)
        const packet = Buffer.concat([header, randomBytes(size)])
        assert.deepEqual(session.protectRtp(packet), referenceSrtp(local, suite, packet, header.length, roc), `size ${size}, sequence ${sequence}, roc ${roc}`)
        checked.push(`${size}@${roc}`)
      }
      assert.ok(roc === 1 && checked.length === 10, checked.join(' '))
    })

    it(`${suite}: 50 packets in a row across a sequence wrap, past several batches of keystream made ahead`, () => {
      const local = randomBytes(30)
      const session = new SrtpSession(suite, local, randomBytes(30))
      for (let step = 0; step < 50; step++) {
        const sequence = (65_520 + step) & 0xffff
        const packet = rtp(sequence, 0xcafe0002, 160, step)
        assert.deepEqual(session.protectRtp(packet), referenceSrtp(local, suite, packet, 12, sequence < 65_520 ? 1 : 0), `sequence ${sequence}`)
      }
    })
  }
})

/** An RTP packet: 12-octet header, PCMU payload of `size` octets. */
const rtp = (sequence: number, ssrc = 0x1234abcd, size = 160, fill = 0x55): Buffer => {
  const packet = Buffer.alloc(12 + size, fill)
  packet[0] = 0x80
  packet[1] = 0
  packet.writeUInt16BE(sequence, 2)
  packet.writeUInt32BE(sequence * 160, 4)
  packet.writeUInt32BE(ssrc, 8)
  return packet
}

/** A receiver report: V=2, RC=0, PT=201, length 1, SSRC. */
const rtcp = (ssrc = 0x1234abcd): Buffer => Buffer.from([0x80, 201, 0x00, 0x01, ...Buffer.from(ssrc.toString(16).padStart(8, '0'), 'hex')])

const pair = (suite: SrtpSuite): {alice: SrtpSession; bob: SrtpSession} => {
  const aliceKey = randomBytes(30)
  const bobKey = randomBytes(30)
  return {alice: new SrtpSession(suite, aliceKey, bobKey), bob: new SrtpSession(suite, bobKey, aliceKey)}
}

for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
  describe(`SRTP ${suite}`, () => {
    const tag = suite.endsWith('80') ? 10 : 4

    it('encrypts the payload, leaves the header, appends the tag, and decrypts on the other side', () => {
      const {alice, bob} = pair(suite)
      const plain = rtp(1000)
      const wire = alice.protectRtp(plain)
      assert.equal(wire.length, plain.length + tag)
      assert.deepEqual(wire.subarray(0, 12), plain.subarray(0, 12))
      assert.notDeepEqual(wire.subarray(12, plain.length), plain.subarray(12))
      const clear = bob.unprotectRtp(wire)
      assert.deepEqual(clear, plain)
      assert.ok(clear !== undefined && clear.buffer === wire.buffer && clear.byteOffset === wire.byteOffset, 'decrypted in the datagram\'s own octets')
    })

    it('decrypts a stream whose packets come late, lost, from a new SSRC or longer than before', () => {
      const {alice, bob} = pair(suite)
      // Each of these leaves the keystreams bob made ahead: a jump past them, a late one, an SSRC change, a longer payload, a shorter one.
      const order: Array<[number, number, number]> = [[1, 0xa, 160], [2, 0xa, 160], [40, 0xa, 160], [3, 0xa, 160], [41, 0xa, 160], [5, 0xb, 160], [42, 0xa, 320], [43, 0xa, 20], [44, 0xa, 0], [45, 0xa, 160]]
      for (const [sequence, ssrc, size] of order) {
        const plain = rtp(sequence, ssrc, size, sequence & 0xff)
        assert.deepEqual(bob.unprotectRtp(alice.protectRtp(plain)), plain, `sequence ${sequence}, ssrc ${ssrc}, ${size} octets`)
      }
      assert.equal(bob.unprotectRtp(alice.protectRtp(rtp(3, 0xa))), undefined, 'sequence 3 again is a replay')
    })

    it('refuses a packet with a flipped bit, a wrong key, no room for its tag, or seen before', () => {
      const {alice, bob} = pair(suite)
      const wire = alice.protectRtp(rtp(7))
      // unprotectRtp decrypts an accepted packet in its own octets: the replay is a copy of what came first.
      const replayed = Buffer.from(wire)
      const flipped = Buffer.from(wire)
      flipped[20] = (flipped[20] as number) ^ 1
      assert.equal(bob.unprotectRtp(flipped), undefined)
      const stranger = new SrtpSession(suite, randomBytes(30), randomBytes(30))
      assert.equal(stranger.unprotectRtp(wire), undefined)
      assert.equal(bob.unprotectRtp(wire.subarray(0, 12)), undefined)
      assert.ok(bob.unprotectRtp(wire))
      assert.equal(bob.unprotectRtp(replayed), undefined, 'a replay is refused')
    })

    it('accepts late packets inside the replay window, refuses them beyond it', () => {
      const {alice, bob} = pair(suite)
      const packets = Array.from({length: 100}, (_, index) => alice.protectRtp(rtp(index)))
      assert.ok(bob.unprotectRtp(packets[99] as Buffer))
      assert.ok(bob.unprotectRtp(packets[50] as Buffer), '49 behind: inside the window')
      assert.equal(bob.unprotectRtp(packets[10] as Buffer), undefined, '89 behind: outside the window')
    })

    it('keeps the rollover counter in step across a sequence wrap', () => {
      const {alice, bob} = pair(suite)
      for (const sequence of [65_533, 65_534, 65_535, 0, 1, 2]) {
        const plain = rtp(sequence)
        assert.deepEqual(bob.unprotectRtp(alice.protectRtp(plain)), plain, `sequence ${sequence}`)
      }
    })

    it('protects RTCP with the E flag, an index and an 80-bit tag, and refuses a replay or a forgery', () => {
      const {alice, bob} = pair(suite)
      const plain = rtcp()
      const first = alice.protectRtcp(plain)
      assert.equal(first.length, plain.length + 4 + 10)
      assert.equal(first.readUInt32BE(plain.length), 0x80000000, 'E set, index 0')
      assert.deepEqual(bob.unprotectRtcp(first), plain)
      assert.equal(bob.unprotectRtcp(first), undefined)
      const second = alice.protectRtcp(plain)
      assert.equal(second.readUInt32BE(plain.length), 0x80000001)
      const forged = Buffer.from(second)
      forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0xff
      assert.equal(bob.unprotectRtcp(forged), undefined)
      assert.deepEqual(bob.unprotectRtcp(second), plain)
    })
  })
}

describe('ReplayWindow (RFC 3711 §3.3.2, 64 packets)', () => {
  /** A model of the window: the set of accepted indexes and the highest. */
  const model = () => {
    const seen = new Set<number>()
    let highest = -1
    return {
      isReplay: (index: number) => highest >= 0 && index <= highest && (highest - index >= 64 || seen.has(index)),
      accept: (index: number) => {
        seen.add(index)
        highest = Math.max(highest, index)
      },
    }
  }

  it('agrees with a set of accepted indexes across every shift of its two 32-bit halves', () => {
    for (const jump of [1, 2, 31, 32, 33, 63, 64, 65, 1000]) {
      const window = new ReplayWindow()
      const reference = model()
      const indexes = [5, 6, 5 + jump, 7, 4 + jump, 5 + 2 * jump, 6 + jump - 31, 6 + jump - 32, 6 + jump - 33, 2 ** 40 + jump, 2 ** 40 + jump - 63, 2 ** 40 + jump - 64]
      for (const index of indexes) {
        assert.equal(window.isReplay(index), reference.isReplay(index), `jump ${jump}, index ${index} before accepting`)
        if (!reference.isReplay(index)) {
          window.accept(index)
          reference.accept(index)
        }
        assert.equal(window.isReplay(index), true, `jump ${jump}: ${index} is a replay once accepted`)
      }
      for (let probe = 2 ** 40 + jump - 70; probe <= 2 ** 40 + jump + 2; probe++) assert.equal(window.isReplay(probe), reference.isReplay(probe), `jump ${jump}, probe ${probe}`)
    }
  })
})
