import assert from 'node:assert/strict'
import {createCipheriv, randomBytes} from 'node:crypto'
import {test} from 'node:test'
import {AesCounterMode} from '../../../../src/media/aes-counter-mode.js'

test('AesCounterMode.apply is AES-128-CTR from the IV (node:crypto as the reference)', () => {
  const key = randomBytes(16)
  const iv = randomBytes(16)
  iv[14] = 0
  iv[15] = 0
  for (const length of [1, 15, 16, 17, 160, 333]) {
    const input = randomBytes(length)
    const output = Buffer.alloc(length + 3)
    new AesCounterMode(key).apply(iv, input, output, 3)
    const reference = createCipheriv('aes-128-ctr', key, iv).update(input)
    assert.deepEqual(output.subarray(3), reference, `length ${length}`)
  }
})
