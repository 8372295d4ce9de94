import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readHeaderParams, SipParams} from '../../../../src/sip/params.js'
import {Cursor} from '../../../../src/sip/grammar.js'
import {SipParseError} from '../../../../src/sip/errors.js'

describe('SipParams', () => {
  it('looks names up case-insensitively and keeps order', () => {
    const params = new SipParams({tag: 'abc', lr: null})
    assert.equal(params.get('TAG'), 'abc')
    assert.equal(params.get('lr'), null)
    assert.equal(params.get('missing'), undefined)
    params.set('Tag', 'def').set('expires', '60')
    assert.deepEqual([...params].map(({name, value}) => [name, value]), [['Tag', 'def'], ['lr', null], ['expires', '60']])
    params.delete('LR')
    assert.equal(params.size, 2)
  })

  it('quotes values that are not tokens or hosts, and rejects bad names', () => {
    const params = new SipParams().set('text', 'Call completed elsewhere').set('received', '2001:db8::1').set('plain', 'abc')
    assert.equal(params.toString(), ';text="Call completed elsewhere";received=2001:db8::1;plain=abc')
    assert.equal(new SipParams().set('q', 'abc', {quoted: true}).toString(), ';q="abc"')
    assert.throws(() => new SipParams().set('bad name', 'x'), TypeError)
  })

  it('clones independently', () => {
    const params = new SipParams({a: '1'})
    const copy = params.clone().set('a', '2')
    assert.equal(params.get('a'), '1')
    assert.equal(copy.get('a'), '2')
  })
})

describe('readHeaderParams', () => {
  it('reads quoted and bare values with whitespace around separators', () => {
    const cursor = new Cursor(' ; tag = 12 ;text= "a \\"b\\"" ;lr ,rest')
    const params = readHeaderParams(cursor, 'test')
    assert.deepEqual([...params], [{name: 'tag', value: '12', quoted: false}, {name: 'text', value: 'a "b"', quoted: true}, {name: 'lr', value: null, quoted: false}])
    assert.equal(cursor.text.slice(cursor.pos).trim(), ',rest')
  })

  it('rejects empty names, empty values and duplicates', () => {
    for (const bad of [';', ';=1', ';a=', ';a=1;A=2', ';a="open']) assert.throws(() => readHeaderParams(new Cursor(bad), 'test'), SipParseError, bad)
  })
})
