import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {callFilter, describeCallFilter, parseCallSid, parseCallSidPrefix} from '../../../../src/cli/flags.js'
import {CCError} from '../../../../src/errors.js'

describe('call flags', () => {
  it('a call sid is CA and 32 lowercase hex digits; anything else is a usage error', async () => {
    const good = `CA${'0123456789abcdef'.repeat(2)}`
    assert.equal(await parseCallSid(good), good)
    for (const bad of ['', 'CA', good.toUpperCase(), `ca${good.slice(2)}`, `${good}0`, good.slice(0, -1), `CA${'g'.repeat(32)}`, ` ${good}`]) {
      await assert.rejects(parseCallSid(bad), (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_USAGE' && error.exitCode === 2, JSON.stringify(bad))
    }
  })

  it('a sid argument of hangup and recordings path may be the start of a sid (CA and 1 to 32 hex digits)', async () => {
    const good = `CA${'0123456789abcdef'.repeat(2)}`
    for (const prefix of ['CA0', 'CA01234567', good]) assert.equal(await parseCallSidPrefix(prefix), prefix)
    for (const bad of ['', 'CA', 'C', 'CA012345G7', 'ca01234567', `${good}0`, '../etc/passwd', 'CA01 ']) {
      await assert.rejects(parseCallSidPrefix(bad), (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_USAGE' && error.exitCode === 2 && error.message.includes(JSON.stringify(bad)), JSON.stringify(bad))
    }
  })

  it('the filter leaves out what was not given', () => {
    assert.deepEqual(callFilter({}), {})
    assert.deepEqual(callFilter({tenant: 'acme', trunk: undefined}), {tenant: 'acme'})
    assert.equal(describeCallFilter({tenant: 'acme', trunk: 'carrier-a'}), 'tenant acme, trunk carrier-a')
    assert.equal(describeCallFilter({}), '')
  })
})
