import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {decodeFieldSection, encodeFieldSection, huffmanDecode, QPACK_STATIC_TABLE} from '../../../../daemon/quic/qpack.js'
import {CCError} from '../../../../src/errors.js'

const refused = (pattern: RegExp) => (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_RPC_BAD_FRAME' && pattern.test(error.message)

describe('QPACK (static table only)', () => {
  it('has the 99 entries of RFC 9204 Appendix A', () => {
    assert.equal(QPACK_STATIC_TABLE.length, 99)
    assert.deepEqual(QPACK_STATIC_TABLE[15], [':method', 'CONNECT'])
    assert.deepEqual(QPACK_STATIC_TABLE[25], [':status', '200'])
    assert.deepEqual(QPACK_STATIC_TABLE[84], ['authorization', ''])
    assert.deepEqual(QPACK_STATIC_TABLE[98], ['x-frame-options', 'sameorigin'])
  })

  it('decodes Huffman strings (RFC 7541 C.4) and refuses bad padding and EOS', () => {
    assert.equal(huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex')), 'www.example.com')
    assert.equal(huffmanDecode(Buffer.from('a8eb10649cbf', 'hex')), 'no-cache')
    assert.equal(huffmanDecode(Buffer.from('25a849e95ba97d7f', 'hex')), 'custom-key')
    // Padding of zeros instead of ones.
    assert.throws(() => huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f400', 'hex')), refused(/padding/))
    // Thirty ones: EOS in the data.
    assert.throws(() => huffmanDecode(Buffer.from('ffffffff', 'hex')), refused(/EOS/))
  })

  it('reads a CONNECT as a browser encodes it: static references, a literal with a name reference, Huffman values', () => {
    // :method CONNECT (15), :scheme https (23), :authority with a Huffman value, :path (1) with a plain value, :protocol as a literal name.
    const section = Buffer.concat([
      Buffer.from([0x00, 0x00, 0xc0 | 15, 0xc0 | 23]),
      Buffer.from([0x50, 0x80 | 12]),
      Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex'),
      Buffer.from([0x51, 8]),
      Buffer.from('/v1/rpc?'),
      Buffer.from([0x27, 2]),
      Buffer.from(':protocol'),
      Buffer.from([12]),
      Buffer.from('webtransport'),
    ])
    assert.deepEqual(decodeFieldSection(section), [
      [':method', 'CONNECT'],
      [':scheme', 'https'],
      [':authority', 'www.example.com'],
      [':path', '/v1/rpc?'],
      [':protocol', 'webtransport'],
    ])
  })

  it('refuses dynamic table references, unknown static indexes and truncated sections', () => {
    assert.throws(() => decodeFieldSection(Buffer.from([0x02, 0x00, 0xc0])), refused(/Required Insert Count/))
    assert.throws(() => decodeFieldSection(Buffer.from([0x00, 0x00, 0x80])), refused(/dynamic table reference/))
    assert.throws(() => decodeFieldSection(Buffer.from([0x00, 0x00, 0x10])), refused(/post-base/))
    assert.throws(() => decodeFieldSection(Buffer.from([0x00, 0x00, 0xff, 0x30])), refused(/index 111 does not exist/))
    assert.throws(() => decodeFieldSection(Buffer.from([0x00, 0x00, 0x51, 0x05, 0x2f])), refused(/truncated string/))
    const many = Buffer.concat([Buffer.from([0, 0]), Buffer.alloc(65, 0xc0 | 17)])
    assert.throws(() => decodeFieldSection(many), refused(/more than 64 fields/))
  })

  it('encodes a response that decodes back: indexed, name-referenced and literal fields', () => {
    const fields: Array<[string, string]> = [
      [':status', '200'],
      [':status', '401'],
      ['content-type', 'application/json'],
      ['www-authenticate', 'Bearer error="invalid_token"'],
      ['sec-webtransport-http3-draft', 'draft02'],
    ]
    const encoded = encodeFieldSection(fields)
    assert.equal(encoded[2], 0xc0 | 25, ':status 200 is one byte')
    assert.deepEqual(decodeFieldSection(encoded), fields)
  })
})
