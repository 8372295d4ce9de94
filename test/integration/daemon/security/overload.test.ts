// Global overload control against a real daemon (docs/sip-abuse-control.md,
// "Overload"): with the transaction cap exceeded (SIPp OPTIONS from a trunk,
// each answered and held 32 s), a new INVITE gets 503 with Retry-After and is
// counted as reason=overload, and so does a load balancer's health probe
// (OPTIONS), while a call established before ends with its own BYE; once the
// transactions expire, calls are taken again by themselves.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {runSipp, uacExpectingRefusal, uacShortCall} from '../../../helpers/peers.js'
import {UdpSipPeer} from '../../../helpers/sip-udp.js'

const gw = new TestGateway()

const CONFIG = `tenants:
  - { id: acme, dialplan: long-echo }
trunks:
  - { id: carrier, tenant: acme, inbound: { cidrs: [127.0.0.3/32], numbers: ["*"] } }
security:
  overload: { max_transactions: 20, retry_after_s: 9 }
dialplans:
  long-echo:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, max_duration_s: 60, next: bye }
      bye: { type: hangup, cause: 16 }
`

const optionsPings = () => `<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="options ping">
<send retrans="500"><![CDATA[
OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:probe@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
`

/** Expects 503 carrying `Retry-After: 9`. */
const uacExpecting503RetryAfter = () =>
  uacExpectingRefusal(503).replace(
    '<recv response="503"/>',
    '<recv response="503"><action><ereg regexp="^ *9 *$" search_in="hdr" header="Retry-After:" check_it="true" assign_to="retry"/></action></recv>\n<Reference variables="retry"/>',
  )

const overloaded = async (): Promise<boolean> => {
  const status = await gw.home.json(['status'])
  assert.equal(status.code, 0, JSON.stringify(status.body))
  return status.body.result.sip.overloaded as boolean
}

before(async () => {
  await gw.start(CONFIG)
})

after(async () => {
  await gw.stop()
})

describe('overload control', () => {
  it('refuses new INVITEs with 503 and Retry-After while overloaded, keeps the established call, and recovers by itself', async () => {
    // A call up before the overload; it hangs up (BYE) 4 s later, in the middle of it.
    const established = await runSipp({scenarioXml: uacShortCall(4000), target: gw.sip, service: '+15550000001', localIp: '127.0.0.3'})
    await gw.answered((await gw.created('+15550000001')).call_sid)
    assert.equal(await overloaded(), false)

    const pings = await runSipp({scenarioXml: optionsPings(), target: gw.sip, service: 'ping', localIp: '127.0.0.3', calls: 40, extraArgs: ['-r', '100']})
    assert.equal((await pings.done).code, 0)
    await waitFor('the overload', async () => ((await overloaded()) ? true : undefined), 5000)

    // A balancer's health probe learns it too: 503 Overloaded with the same Retry-After.
    const balancer = await UdpSipPeer.open('127.0.0.3')
    try {
      balancer.send(gw.sip, `OPTIONS sip:${gw.sip} SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.3:${balancer.port};branch=z9hG4bKhealth1\nMax-Forwards: 70\nFrom: <sip:lb@127.0.0.3>;tag=lb1\nTo: <sip:${gw.sip}>\nCall-ID: health-1@overload.test\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n`)
      const probe = await balancer.next('the answer to the health probe', (message) => message.status !== undefined)
      assert.match(probe.text, /^SIP\/2\.0 503 Overloaded\r\n/)
      assert.deepEqual(probe.header('Retry-After'), ['9'])
    } finally {
      balancer.close()
    }
    assert.equal((await gw.home.json(['status'])).body.result.sip.health, 'overloaded')

    const refused = await runSipp({scenarioXml: uacExpecting503RetryAfter(), target: gw.sip, service: '+15550000002', localIp: '127.0.0.3'})
    const refusal = await refused.done
    assert.equal(refusal.code, 0, `503 with Retry-After: 9: ${refusal.output}`)
    const end = await gw.hangupOf('+15550000002')
    assert.equal(end.status, 'failed')
    assert.equal(await gw.metric(/^clutchcall_call_attempts_refused_total\{tenant="acme",trunk="carrier",reason="overload"\} (\d+)/m), 1)

    const kept = await established.done
    assert.equal(kept.code, 0, `the established call ended with its BYE answered: ${kept.output}`)
    assert.equal((await gw.hangupOf('+15550000001')).status, 'completed')

    // The OPTIONS transactions end after 64·T1 = 32 s: then calls are taken again, with no command.
    await waitFor('the recovery', async () => ((await overloaded()) ? undefined : true), 45_000)
    const fresh = await runSipp({scenarioXml: uacShortCall(200), target: gw.sip, service: '+15550000003', localIp: '127.0.0.3'})
    assert.equal((await fresh.done).code, 0)
    assert.equal((await gw.hangupOf('+15550000003')).status, 'completed')
  })
})
