import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {crc32} from '../../../../src/crc32.js'
import {checkHepEndpoint, checkHepTtl, hepCaptureId} from '../../../../src/hep/params.js'

const problem = (result: {ok: boolean; problem?: string}): string => (result.ok ? '' : (result.problem ?? ''))

describe('hep enable values', () => {
  it('accepts collectors as IPv4:PORT, name:PORT and [IPv6]:PORT', () => {
    assert.deepEqual(checkHepEndpoint('192.0.2.10:9060'), {ok: true, value: {host: '192.0.2.10', port: 9060}})
    assert.deepEqual(checkHepEndpoint('homer.example.net:9060'), {ok: true, value: {host: 'homer.example.net', port: 9060}})
    assert.deepEqual(checkHepEndpoint('localhost:1'), {ok: true, value: {host: 'localhost', port: 1}})
    assert.deepEqual(checkHepEndpoint('[2001:db8::10]:65535'), {ok: true, value: {host: '2001:db8::10', port: 65_535}})
  })

  it('says what is wrong with a bad endpoint', () => {
    assert.match(problem(checkHepEndpoint('')), /empty/)
    assert.match(problem(checkHepEndpoint('   ')), /empty/)
    assert.match(problem(checkHepEndpoint('192.0.2.10')), /has no port/)
    assert.match(problem(checkHepEndpoint('192.0.2.10:')), /has no port/)
    assert.match(problem(checkHepEndpoint('192.0.2.10:http')), /has no port/)
    assert.match(problem(checkHepEndpoint('192.0.2.10:70000')), /port 70000 is outside 1-65535/)
    assert.match(problem(checkHepEndpoint('192.0.2.10:0')), /port 0 is outside 1-65535/)
    assert.match(problem(checkHepEndpoint(':9060')), /has no host/)
    assert.match(problem(checkHepEndpoint('exa mple:9060')), /"exa mple" is not an IPv4 address or a host name/)
    assert.match(problem(checkHepEndpoint('under_score.example:9060')), /not an IPv4 address or a host name/)
    assert.match(problem(checkHepEndpoint('-bad.example:9060')), /not an IPv4 address or a host name/)
    assert.match(problem(checkHepEndpoint('999.1.1.1:9060')), /not an IPv4 address or a host name/)
    assert.match(problem(checkHepEndpoint('2001:db8::10:9060')), /IPv6 address goes in brackets/)
    assert.match(problem(checkHepEndpoint('[not-v6]:9060')), /is not an IPv6 address/)
  })

  it('reads TTLs in seconds, minutes and hours, 1 s to 24 h', () => {
    assert.deepEqual(checkHepTtl('90s'), {ok: true, value: 90})
    assert.deepEqual(checkHepTtl('15m'), {ok: true, value: 900})
    assert.deepEqual(checkHepTtl('1h'), {ok: true, value: 3600})
    assert.deepEqual(checkHepTtl('1h30m'), {ok: true, value: 5400})
    assert.deepEqual(checkHepTtl('600'), {ok: true, value: 600})
    assert.deepEqual(checkHepTtl('24h'), {ok: true, value: 86_400})
    assert.match(problem(checkHepTtl('0s')), /zero/)
    assert.match(problem(checkHepTtl('25h')), /longer than 24h/)
    assert.match(problem(checkHepTtl('5x')), /not a duration/)
    assert.match(problem(checkHepTtl('1.5h')), /not a duration/)
    assert.match(problem(checkHepTtl('')), /not a duration/)
    assert.match(problem(checkHepTtl('1m1m')), /names a unit twice/)
  })
})

describe('the capture id of a node', () => {
  it('is the configured number, or for `node` the CRC-32 of the node name: stable, and different per name', () => {
    assert.equal(hepCaptureId(2001, 'gw-1'), 2001)
    assert.equal(hepCaptureId('node', 'gw-1'), crc32(Buffer.from('gw-1')))
    // The IEEE CRC-32 check value of "123456789".
    assert.equal(hepCaptureId('node', '123456789'), 0xcbf43926)
    assert.notEqual(hepCaptureId('node', 'gw-1'), hepCaptureId('node', 'gw-2'))
    assert.equal(hepCaptureId('node', 'gw-1'), hepCaptureId('node', 'gw-1'))
  })
})
