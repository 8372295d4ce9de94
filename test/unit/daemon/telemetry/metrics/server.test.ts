// The scrape endpoint reports the address the kernel bound, not the config's
// spelling: `status` and `start` print what is really listening.
import assert from 'node:assert/strict'
import {isIP} from 'node:net'
import {it} from 'node:test'
import {Registry} from 'prom-client'
import {MetricsServer} from '../../../../../daemon/telemetry/metrics/server.js'

it('a host name and port 0 are reported as the IP and port bound, and the URL reaches them', async (t) => {
  const server = new MetricsServer(new Registry(), 'localhost:0')
  await server.start()
  t.after(() => server.stop())
  const {host, port} = server.address
  assert.ok(host === '127.0.0.1' || host === '::1', `localhost bound as ${host}`)
  assert.notEqual(isIP(host), 0)
  assert.ok(port > 0)
  assert.equal(server.url, `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`)
  const response = await fetch(server.url)
  assert.equal(response.status, 200)
})

it('before it listens, the address is the configured one', () => {
  assert.deepEqual(new MetricsServer(new Registry(), '127.0.0.1:9091').address, {host: '127.0.0.1', port: 9091})
})
