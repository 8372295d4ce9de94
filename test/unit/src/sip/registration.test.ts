import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {createResponse} from '../../../../src/sip/message.js'
import {backoffDelayS, grantedExpiresOf, refreshDelayS, registrarOf, retryAfterOf} from '../../../../src/sip/registration.js'
import {probeFailed} from '../../../../src/sip/options-probe.js'
import {parseSipUri} from '../../../../src/sip/uri.js'

describe('registration timing', () => {
  it('refreshes at the later of half the interval and a minute before the end', () => {
    assert.equal(refreshDelayS(3600), 3540)
    assert.equal(refreshDelayS(100), 50)
    assert.equal(refreshDelayS(10), 5)
  })

  it('backs off exponentially from retry_min_s to retry_max_s, jitter shortening by at most half', () => {
    const at = (failures: number, random: number) => backoffDelayS(failures, {retryMinS: 5, retryMaxS: 300, random})
    assert.equal(at(1, 0.999999) > 4.99, true)
    assert.equal(at(1, 0), 2.5)
    assert.equal(at(2, 0), 5)
    assert.equal(at(4, 0), 20)
    assert.equal(at(10, 0), 150)
    assert.equal(at(100, 0), 150, 'capped, and no overflow for long outages')
  })

  it('waits at least a Retry-After, itself capped by retry_max_s', () => {
    assert.equal(backoffDelayS(1, {retryMinS: 1, retryMaxS: 300, retryAfterS: 30, random: 0}), 30)
    assert.equal(backoffDelayS(1, {retryMinS: 1, retryMaxS: 60, retryAfterS: 86_400, random: 0}), 60)
  })
})

describe('registration answers', () => {
  const ours = parseSipUri('sip:acme-gw@192.0.2.1:5060')

  it('takes the expires of our own contact over the Expires header, and the Expires header over what we asked', () => {
    const both = createResponse(200, 'OK', [
      ['Contact', '<sip:other@192.0.2.9>;expires=3600, <sip:acme-gw@192.0.2.1:5060>;expires=120'],
      ['Expires', '900'],
    ])
    assert.equal(grantedExpiresOf(both, ours, 600), 120)
    assert.equal(grantedExpiresOf(createResponse(200, 'OK', [['Expires', '900']]), ours, 600), 900)
    assert.equal(grantedExpiresOf(createResponse(200, 'OK'), ours, 600), 600)
  })

  it('garbled Contact and Expires values are ignored, not thrown', () => {
    const garbled = createResponse(200, 'OK', [
      ['Contact', '<<<sip:'],
      ['Expires', 'soon'],
    ])
    assert.equal(grantedExpiresOf(garbled, ours, 600), 600)
  })

  it('reads Retry-After seconds, with a comment or params, capped at a day', () => {
    assert.equal(retryAfterOf(createResponse(503, 'x', [['Retry-After', '18000;duration=3600']])), 18000)
    assert.equal(retryAfterOf(createResponse(503, 'x', [['Retry-After', '120 (I\'m in a meeting)']])), 120)
    assert.equal(retryAfterOf(createResponse(503, 'x', [['Retry-After', '9999999999']])), 86_400)
    assert.equal(retryAfterOf(createResponse(503, 'x', [['Retry-After', 'later']])), undefined)
    assert.equal(retryAfterOf(createResponse(503, 'x')), undefined)
  })

  it('the registrar of a trunk URI drops its user part and keeps host, port and parameters', () => {
    assert.equal(registrarOf('sip:+1555@sbc.example:5080;transport=tcp'), 'sip:sbc.example:5080;transport=tcp')
    assert.equal(registrarOf('sips:sbc.example'), 'sips:sbc.example')
  })
})

describe('keepalive answers', () => {
  it('408 and 5xx fail a probe; any other answer proves the peer alive', () => {
    for (const status of [408, 500, 503, 504, 599]) assert.equal(probeFailed(status), true, String(status))
    for (const status of [200, 401, 403, 404, 405, 481, 603]) assert.equal(probeFailed(status), false, String(status))
  })
})
