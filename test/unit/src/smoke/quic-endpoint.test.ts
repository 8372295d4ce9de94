import assert from 'node:assert/strict'
import {it} from 'node:test'
import {quicEndpoint} from '../../../../src/smoke/quic-check.js'

it("the quic check dials the listener status shows; a wildcard on loopback, IPv6 without its brackets", () => {
  assert.deepEqual(quicEndpoint('127.0.0.1:4433'), {host: '127.0.0.1', port: 4433})
  assert.deepEqual(quicEndpoint('10.0.0.5:14433'), {host: '10.0.0.5', port: 14433})
  assert.deepEqual(quicEndpoint('0.0.0.0:4433'), {host: '127.0.0.1', port: 4433})
  assert.deepEqual(quicEndpoint('[::]:4433'), {host: '::1', port: 4433})
  assert.deepEqual(quicEndpoint('[2001:db8::1]:4433'), {host: '2001:db8::1', port: 4433})
})
