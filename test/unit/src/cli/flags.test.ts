import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {callFilter, describeCallFilter, parseCallSid} from '../../../../src/cli/flags.js'
import {CCError} from '../../../../src/errors.js'

describe('call flags', () => {
  it('a call sid is CA and 32 lowercase hex digits; anything else is a usage error', async () => {
    const good = `CA${'0123456789abcdef'.repeat(2)}`
    assert.equal(await parseCallSid(good), good)
    for (const bad of ['', 'CA', good.toUpperCase(), `ca${good.slice(2)}`, `${good}0`, good.slice(0, -1), `CA${'g'.repeat(32)}`, ` ${good}`]) {
      await assert.rejects(parseCallSid(bad), (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_USAGE' && error.exitCode === 2, JSON.stringify(bad))
    }
  })

  it('the filter leaves out what was not given', () => {
    assert.deepEqual(callFilter({}), {})
    assert.deepEqual(callFilter({tenant: 'acme', trunk: undefined}), {tenant: 'acme'})
    assert.equal(describeCallFilter({tenant: 'acme', trunk: 'carrier-a'}), 'tenant acme, trunk carrier-a')
    assert.equal(describeCallFilter({}), '')
  })
})
