import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CCError, ERRORS, EXIT_FAILED, EXIT_USAGE, isErrorCode, toCCError, type ErrorCode} from '../../../src/errors.js'

describe('error registry', () => {
  it('every code is CC_ERR_*, has a message, a hint and an exit code of 1 or 2', () => {
    for (const [code, entry] of Object.entries(ERRORS)) {
      assert.match(code, /^CC_ERR_[A-Z0-9_]+$/)
      assert.ok(entry.message.length > 0, code)
      assert.ok(entry.hint.length > 0, code)
      assert.ok(entry.exitCode === EXIT_FAILED || entry.exitCode === EXIT_USAGE, code)
      assert.ok(entry.rpcCode <= -32000 && entry.rpcCode >= -32768, `${code} uses a JSON-RPC server or reserved code`)
    }
  })

  it('CC_ERR_* codes other than the JSON-RPC standard ones have distinct wire codes', () => {
    const standard = new Set([-32700, -32600, -32601, -32602, -32603])
    const seen = new Map<number, string>()
    for (const [code, entry] of Object.entries(ERRORS)) {
      if (standard.has(entry.rpcCode)) continue
      assert.equal(seen.get(entry.rpcCode), undefined, `${code} and ${seen.get(entry.rpcCode)} share ${entry.rpcCode}`)
      seen.set(entry.rpcCode, code)
    }
  })

  it('fills templates from details in the message and the hint, leaving unknown names visible', () => {
    const error = new CCError('CC_ERR_PORT_IN_USE', {address: '0.0.0.0', port: 9091, purpose: 'metrics', key: 'metrics.listen'})
    assert.equal(error.message, 'Cannot listen on 0.0.0.0:9091 for metrics: the port is already in use')
    assert.match(error.hint, /:9091/)
    assert.match(error.hint, /metrics\.listen/)
    assert.match(new CCError('CC_ERR_PORT_IN_USE').message, /\{address\}:\{port\}/)
  })

  it('usage errors exit 2, operational failures exit 1', () => {
    assert.equal(new CCError('CC_ERR_USAGE', {detail: 'x'}).exitCode, 2)
    assert.equal(new CCError('CC_ERR_DAEMON_NOT_RUNNING', {socket: '/s'}).exitCode, 1)
    assert.equal(new CCError('CC_ERR_CONFIG_INVALID', {}).exitCode, 1)
  })

  it('wraps foreign errors as internal and keeps registry errors as they are', () => {
    const original = new CCError('CC_ERR_DRAINING')
    assert.equal(toCCError(original), original)
    const wrapped = toCCError(new TypeError('boom'))
    assert.equal(wrapped.code, 'CC_ERR_INTERNAL')
    assert.match(wrapped.message, /boom/)
    assert.ok(isErrorCode('CC_ERR_DRAINING'))
    assert.equal(isErrorCode('CC_ERR_NOPE' as ErrorCode), false)
  })
})
