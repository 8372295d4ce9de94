// `start` and `status` print every listener as bound; a wildcard bind is shown
// as the wildcard (it is reachable from the network) with the address to use
// from this host.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {describeListener, listenersTable} from '../../../../../src/cli/output/format.js'

describe('describeListener', () => {
  it('shows a loopback HTTP listener as its URL', () => {
    assert.equal(describeListener({name: 'metrics', transport: 'http', address: '127.0.0.1', port: 9091, url: 'http://127.0.0.1:9091/metrics'}), 'http://127.0.0.1:9091/metrics')
  })

  it('shows a wildcard HTTP bind as the wildcard, with the URL to use from this host', () => {
    assert.equal(
      describeListener({name: 'metrics', transport: 'http', address: '0.0.0.0', port: 9091, url: 'http://127.0.0.1:9091/metrics'}),
      'http://0.0.0.0:9091/metrics (every interface; from this host: http://127.0.0.1:9091/metrics)',
    )
    assert.equal(
      describeListener({name: 'metrics', transport: 'http', address: '::', port: 9091, url: 'http://[::1]:9091/metrics'}),
      'http://[::]:9091/metrics (every interface; from this host: http://[::1]:9091/metrics)',
    )
  })

  it('shows SIP and RTP binds with their transport, a wildcard with its loopback', () => {
    assert.equal(describeListener({name: 'sip', transport: 'udp', address: '127.0.0.1', port: 5060}), 'udp://127.0.0.1:5060')
    assert.equal(describeListener({name: 'sip', transport: 'tcp', address: '::', port: 5060}), 'tcp://[::]:5060 (every interface; from this host: [::1]:5060)')
    assert.equal(describeListener({name: 'rtp', transport: 'udp', address: '0.0.0.0', port: 20000, portEnd: 30000}), 'udp://0.0.0.0:20000-30000 (every interface; from this host: 127.0.0.1)')
    assert.equal(describeListener({name: 'rtp', transport: 'udp', address: '2001:db8::1', port: 20000, portEnd: 30000}), 'udp://[2001:db8::1]:20000-30000')
  })

  it('shows the admin socket as its path', () => {
    assert.equal(describeListener({name: 'admin', transport: 'unix', address: '/home/x/.clutchcall/admin.sock'}), '/home/x/.clutchcall/admin.sock')
  })

  it('the table has one row per listener', () => {
    const text = listenersTable([
      {name: 'admin', transport: 'unix', address: '/tmp/a.sock'},
      {name: 'metrics', transport: 'http', address: '0.0.0.0', port: 9091, url: 'http://127.0.0.1:9091/metrics'},
    ])
    assert.match(text, /admin\s+│\s+unix\s+│\s+\/tmp\/a\.sock/)
    assert.match(text, /metrics\s+│\s+http\s+│\s+http:\/\/0\.0\.0\.0:9091\/metrics \(every interface; from this host: http:\/\/127\.0\.0\.1:9091\/metrics\)/)
  })
})
