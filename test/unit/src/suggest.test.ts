import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {closestMatch, editDistance} from '../../../src/suggest.js'

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and swaps of neighbours', () => {
    assert.equal(editDistance('status', 'status'), 0)
    assert.equal(editDistance('stauts', 'status'), 1)
    assert.equal(editDistance('capture-id', 'capture_id'), 1)
    assert.equal(editDistance('stop', 'start'), 3)
    assert.equal(editDistance('', 'abc'), 3)
  })
})

describe('closestMatch', () => {
  const commands = ['start', 'stop', 'status', 'calls:tail', 'calls:list', 'calls:hangup', 'cdr:query', 'cdr:status']
  it('suggests the near command ids', () => {
    assert.equal(closestMatch('stauts', commands), 'status')
    assert.equal(closestMatch('calls:tial', commands), 'calls:tail')
    assert.equal(closestMatch('cdr:qeury', commands), 'cdr:query')
    assert.equal(closestMatch('STATUS', commands), 'status')
  })
  it('suggests nothing for a name that resembles none', () => {
    assert.equal(closestMatch('frobnicate', commands), undefined)
    assert.equal(closestMatch('x', ['start', 'stop']), undefined)
  })
})
