// node:dns errors as failure kinds, and localhost answered without DNS
// (RFC 6761) even when the configured DNS server is dead.
import assert from 'node:assert/strict'
import {createSocket} from 'node:dgram'
import {describe, it} from 'node:test'
import {DnsLookupError} from '../../../../../src/sip/dns/errors.js'
import {failureKindOf, NodeDnsLookups} from '../../../../../src/sip/dns/lookups.js'

const options = {timeoutMs: 100, tries: 1, cacheEntries: 100, maxTtlS: 3600, srvTtlS: 60, negativeTtlS: 30, staleS: 0}

describe('NodeDnsLookups', () => {
  it('maps node:dns error codes to failure kinds', () => {
    const kind = (code: string) => failureKindOf(Object.assign(new Error(code), {code}))
    assert.equal(kind('ENOTFOUND'), 'nxdomain')
    assert.equal(kind('ENODATA'), 'nodata')
    assert.equal(kind('ETIMEOUT'), 'timeout')
    assert.equal(kind('ECONNREFUSED'), 'unreachable')
    assert.equal(kind('ESERVFAIL'), 'servfail')
    assert.equal(kind('EREFUSED'), 'servfail')
    assert.equal(kind('EBADRESP'), 'malformed')
  })

  it('answers localhost from the system, never asking the configured server', async () => {
    // A server that takes queries and answers none: any query to it would time out.
    const silent = createSocket('udp4')
    let queries = 0
    silent.on('message', () => queries++)
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
    const lookups = new NodeDnsLookups({...options, servers: [`127.0.0.1:${silent.address().port}`]})
    try {
      assert.deepEqual(await lookups.addresses('localhost', 4), [{address: '127.0.0.1', family: 4}])
      assert.equal(queries, 0)
      // Anything else does go to the server, and times out there.
      await assert.rejects(lookups.addresses('carrier.test', 4), (error: unknown) => error instanceof DnsLookupError && error.kind === 'timeout')
      assert.ok(queries >= 1)
    } finally {
      lookups.close()
      silent.close()
    }
  })
})
