import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {generateBranch, generateCallId, generateTag} from '../../../../src/sip/ids.js'
import {isToken} from '../../../../src/sip/grammar.js'
import {isValidCallId} from '../../../../src/sip/header-values.js'
import {BRANCH_MAGIC_COOKIE} from '../../../../src/sip/via.js'

describe('identifier generators', () => {
  it('makes branches with the magic cookie and enough randomness', () => {
    const branches = new Set(Array.from({length: 1000}, generateBranch))
    assert.equal(branches.size, 1000)
    for (const branch of branches) {
      assert.ok(branch.startsWith(BRANCH_MAGIC_COOKIE))
      assert.ok(isToken(branch))
      assert.equal(branch.length, BRANCH_MAGIC_COOKIE.length + 24)
    }
  })

  it('makes unique token tags of 64 bits', () => {
    const tags = new Set(Array.from({length: 1000}, generateTag))
    assert.equal(tags.size, 1000)
    for (const tag of tags) assert.match(tag, /^[0-9a-f]{16}$/)
  })

  it('makes valid Call-IDs, with a host when given', () => {
    const id = generateCallId('192.0.2.1')
    assert.match(id, /^[0-9a-f]{32}@192\.0\.2\.1$/)
    assert.ok(isValidCallId(id))
    assert.ok(isValidCallId(generateCallId('2001:db8::1')))
    assert.match(generateCallId(), /^[0-9a-f]{32}$/)
    assert.notEqual(generateCallId(), generateCallId())
  })
})
