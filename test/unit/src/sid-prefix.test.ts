import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CCError} from '../../../src/errors.js'
import {resolveSidPrefix, shortSid} from '../../../src/sid-prefix.js'

const A = 'CA0123456789abcdef0123456789abcdef'
const B = 'CA0123456700000000000000000000000'.padEnd(34, '0')
const C = 'CAffffffff00000000000000000000000'.padEnd(34, '0')
const context = {what: 'active calls', where: '`clutchcall calls list`'}

describe('short sids', () => {
  it('are CA and 8 hex digits', () => {
    assert.equal(shortSid(A), 'CA01234567')
  })

  it('a prefix naming one candidate resolves to it; a full sid to itself; none to undefined', () => {
    assert.equal(resolveSidPrefix('CAff', [A, B, C], context), C)
    assert.equal(resolveSidPrefix(A, [A, B, C], context), A)
    assert.equal(resolveSidPrefix('CA0123456789a', [A, B, C], context), A)
    assert.equal(resolveSidPrefix('CAaa', [A, B, C], context), undefined)
  })

  it('an ambiguous prefix is CC_ERR_CALL_SID_AMBIGUOUS listing the matches (exit 2)', () => {
    assert.throws(
      () => resolveSidPrefix('CA01234567', [A, B, C], context),
      (error: unknown) => {
        assert.ok(error instanceof CCError)
        assert.equal(error.code, 'CC_ERR_CALL_SID_AMBIGUOUS')
        assert.equal(error.exitCode, 2)
        assert.match(error.message, /CA01234567 matches 2 active calls: /)
        assert.ok(error.message.includes(A) && error.message.includes(B))
        assert.deepEqual((error.data as {matches: string[]}).matches, [B, A].sort())
        return true
      },
    )
  })
})
