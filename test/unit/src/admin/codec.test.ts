import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {decodeRequest, errorFromResponse, errorResponse, LineSplitter, salvageId} from '../../../../src/admin/codec.js'
import {CCError} from '../../../../src/errors.js'

const codeOf = (line: string): string => {
  try {
    decodeRequest(line)
  } catch (error) {
    assert.ok(error instanceof CCError)
    return error.code
  }
  assert.fail(`expected ${line} to be rejected`)
}

describe('decodeRequest', () => {
  it('accepts requests and notifications', () => {
    assert.deepEqual(decodeRequest('{"jsonrpc":"2.0","id":7,"method":"daemon.status","params":{}}'), {jsonrpc: '2.0', id: 7, method: 'daemon.status', params: {}})
    assert.equal('id' in decodeRequest('{"jsonrpc":"2.0","method":"daemon.status"}'), false)
  })

  it('maps each malformation to the right JSON-RPC error', () => {
    assert.equal(codeOf('{"jsonrpc":'), 'CC_ERR_ADMIN_PARSE')
    assert.equal(codeOf('[{"jsonrpc":"2.0","method":"a"}]'), 'CC_ERR_ADMIN_INVALID_REQUEST')
    assert.equal(codeOf('{"jsonrpc":"1.0","id":1,"method":"a"}'), 'CC_ERR_ADMIN_INVALID_REQUEST')
    assert.equal(codeOf('{"jsonrpc":"2.0","id":1}'), 'CC_ERR_ADMIN_INVALID_REQUEST')
    assert.equal(codeOf('{"jsonrpc":"2.0","id":{},"method":"a"}'), 'CC_ERR_ADMIN_INVALID_REQUEST')
    assert.equal(codeOf('{"jsonrpc":"2.0","id":1,"method":"a","params":[1]}'), 'CC_ERR_ADMIN_INVALID_REQUEST')
    assert.equal(codeOf('"just a string"'), 'CC_ERR_ADMIN_INVALID_REQUEST')
  })

  it('salvages the id of an invalid request so its error can be matched', () => {
    assert.equal(salvageId('{"jsonrpc":"1.0","id":42,"method":"a"}'), 42)
    assert.equal(salvageId('{"id":'), null)
  })
})

describe('errors across the socket', () => {
  it('a registry error survives the round trip with its code, details and wording', () => {
    const sent = new CCError('CC_ERR_PORT_IN_USE', {address: '127.0.0.1', port: 9091, purpose: 'metrics', key: 'metrics.listen'})
    const response = errorResponse(3, sent)
    assert.ok('error' in response)
    const wire = JSON.parse(JSON.stringify(response)) as typeof response
    assert.ok('error' in wire)
    const received = errorFromResponse(wire.error)
    assert.equal(received.code, 'CC_ERR_PORT_IN_USE')
    assert.equal(received.message, sent.message)
    assert.equal(received.hint, sent.hint)
    assert.equal(received.exitCode, 1)
  })

  it('an error code this CLI does not know keeps the daemon\'s words', () => {
    const received = errorFromResponse({code: -32099, message: 'from the future', data: {cc_code: 'CC_ERR_FROM_THE_FUTURE', hint: '', details: {}}})
    assert.equal(received.code, 'CC_ERR_INTERNAL')
    assert.match(received.message, /from the future \(JSON-RPC -32099\)/)
  })
})

describe('LineSplitter', () => {
  it('reassembles lines split at every position', () => {
    const text = '{"a":1}\n{"b":2}\n\n{"c":3}\n'
    for (let cut = 0; cut <= text.length; cut += 1) {
      const lines: string[] = []
      const splitter = new LineSplitter((line) => lines.push(line), () => assert.fail('no overflow expected'))
      splitter.push(text.slice(0, cut))
      splitter.push(text.slice(cut))
      assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}'], `cut at ${cut}`)
    }
  })

  it('reports an oversized line once, drops it, and resumes at the next line', () => {
    const lines: string[] = []
    let overflows = 0
    const splitter = new LineSplitter((line) => lines.push(line), () => (overflows += 1), 16)
    splitter.push('x'.repeat(10))
    splitter.push('x'.repeat(10))
    splitter.push('x'.repeat(10))
    splitter.push('\n{"ok":true}\n')
    splitter.push(`${'y'.repeat(40)}\nshort\n`)
    assert.equal(overflows, 2)
    assert.deepEqual(lines, ['{"ok":true}', 'short'])
  })
})
