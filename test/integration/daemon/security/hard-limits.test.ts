// The hard limits on what remote parties can make a real daemon hold
// (docs/sip-abuse-control.md, "Hard limits"), tested as an attacker would:
// TCP connections from unknown sources and beyond the per-source cap are
// closed at once, a message trickled too slowly loses its connection, a ban
// closes the banned source's connections, calls past max_dialogs and
// requests past max_transactions get 503 with Retry-After (SIPp checks it),
// and each is counted. 127.0.0.3 and .4 are trunks, .5 is unknown.
import assert from 'node:assert/strict'
import {once} from 'node:events'
import type {Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {sleep, TestGateway, waitFor} from '../../../helpers/gateway.js'
import {runSipp, uacAwaitingBye, uacExpectingRefusal} from '../../../helpers/peers.js'
import {closedWithin, dialTcp} from '../../../helpers/tcp-client.js'

const gw = new TestGateway()

const CONFIG = `tenants:
  - { id: acme, dialplan: hold }
trunks:
  - { id: carrier-a, tenant: acme, inbound: { cidrs: [127.0.0.3/32], numbers: ["+1555*"] } }
  - { id: carrier-b, tenant: acme, inbound: { cidrs: [127.0.0.4/32], numbers: ["+1555*"] } }
security:
  rate_limit: { requests: 100, window_ms: 1000, ban_s: 300, trunk_sources: limited }
  limits: { max_dialogs: 2, max_tcp_connections_per_source: 3, tcp_message_timeout_ms: 500 }
dialplans:
  hold:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, max_duration_s: 4, next: bye }
      bye: { type: hangup, cause: 16 }
`

const sockets: Socket[] = []

const dial = async (localAddress: string): Promise<Socket> => {
  const socket = await dialTcp(Number(gw.sipAddress('tcp').split(':')[1]), localAddress)
  sockets.push(socket)
  return socket
}

const dropped = (reason: string): RegExp => new RegExp(`^clutchcall_sip_connections_dropped_total\\{transport="tcp",reason="${reason}"\\} (\\d+)`, 'm')

const options = (source: string, branch: string): string =>
  [
    `OPTIONS sip:ping@${gw.sipAddress('tcp')} SIP/2.0`,
    `Via: SIP/2.0/TCP ${source}:5999;branch=z9hG4bK${branch}`,
    'Max-Forwards: 70',
    `From: <sip:probe@${source}>;tag=${branch}`,
    `To: <sip:ping@${gw.sipAddress('tcp')}>`,
    `Call-ID: ${branch}@${source}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n')

/** A 503 that must carry Retry-After: SIPp fails the call otherwise. */
const expecting503WithRetryAfter = (scenarioXml: string): string =>
  scenarioXml
    .replace('<recv response="503"/>', '<recv response="503"><action><ereg regexp="Retry-After: *[0-9]+" search_in="msg" check_it="true" assign_to="retry"/></action></recv>')
    .replace('</scenario>', '<Reference variables="retry"/>\n</scenario>')

before(async () => {
  await gw.start(CONFIG)
})

after(async () => {
  for (const socket of sockets) socket.destroy()
  await gw.stop()
})

describe('hard limits of a real daemon', () => {
  it('closes a TCP connection from an unknown source before reading anything, and counts it', async () => {
    const before = await gw.metric(dropped('unknown_source'))
    const socket = await dial('127.0.0.5')
    socket.write(options('127.0.0.5', 'unknown'))
    let answered = ''
    socket.on('data', (chunk: Buffer) => (answered += chunk.toString()))
    assert.equal(await closedWithin(socket, 2000), true)
    assert.equal(answered, '', 'nothing was answered')
    assert.equal(await gw.metric(dropped('unknown_source')), before + 1)
  })

  it('holds at most max_tcp_connections_per_source from a trunk source, answers on those it holds, and exempts trusted loopback', async () => {
    const before = await gw.metric(dropped('source_limit'))
    const held = [await dial('127.0.0.3'), await dial('127.0.0.3'), await dial('127.0.0.3')]
    const fourth = await dial('127.0.0.3')
    assert.equal(await closedWithin(fourth, 2000), true)
    assert.equal(await gw.metric(dropped('source_limit')), before + 1)
    // The ones held work: an OPTIONS on each is answered 200.
    for (const [index, socket] of held.entries()) {
      const answer = once(socket, 'data').then(([chunk]) => (chunk as Buffer).toString())
      socket.write(options('127.0.0.3', `held${index}`))
      assert.match(await answer, /^SIP\/2\.0 200 /)
    }
    // Loopback 127.0.0.1 is trusted by default: no per-source cap.
    const trusted = await Promise.all(Array.from({length: 6}, () => dial('127.0.0.1')))
    for (const socket of trusted) assert.equal(await closedWithin(socket, 100), false)
    for (const socket of [...held, ...trusted]) socket.destroy()
  })

  it('drops a connection that trickles one message for longer than tcp_message_timeout_ms', async () => {
    const before = await gw.metric(dropped('message_timeout'))
    const socket = await dial('127.0.0.3')
    const message = options('127.0.0.3', 'slow')
    let sent = 0
    const trickle = setInterval(() => {
      if (sent < message.length - 1 && !socket.destroyed) socket.write(message.slice(sent, ++sent))
    }, 25)
    try {
      assert.equal(await closedWithin(socket, 5000), true)
    } finally {
      clearInterval(trickle)
    }
    assert.ok(sent < message.length - 1, 'dropped before the message was complete')
    assert.equal(await gw.metric(dropped('message_timeout')), before + 1)
  })

  it('a source banned for flooding loses the TCP connections it holds', async () => {
    const before = await gw.metric(dropped('banned'))
    const socket = await dial('127.0.0.4')
    const flood = await runSipp({
      scenarioXml: `<?xml version="1.0" encoding="UTF-8" ?>\n<scenario name="flood"><send><![CDATA[\n${options('[local_ip]', '[call_number]x').replace('TCP [local_ip]:5999', '[transport] [local_ip]:[local_port]').replace(/\r\n/g, '\n')}]]></send></scenario>\n`,
      target: gw.sip,
      localIp: '127.0.0.4',
      calls: 300,
      extraArgs: ['-r', '1000'],
      timeoutS: 10,
    })
    await flood.done
    assert.equal(await closedWithin(socket, 5000), true, 'the TCP connection of the banned source is closed')
    assert.ok((await gw.metric(dropped('banned'))) >= before + 1)
    // A new connection from it is refused at once while the ban lasts.
    const again = await dial('127.0.0.4')
    assert.equal(await closedWithin(again, 2000), true)
    const unbanned = await gw.home.json(['security', 'unban', '127.0.0.4'])
    assert.equal(unbanned.code, 0, JSON.stringify(unbanned.body))
  })

  it('answers a call past max_dialogs with 503 and Retry-After, counted as dialog_limit, and leaves the calls up alone', async () => {
    const refusedBefore = await gw.metric(/^clutchcall_call_attempts_refused_total\{[^}]*reason="dialog_limit"[^}]*\} (\d+)/m)
    const held = await runSipp({scenarioXml: uacAwaitingBye(), target: gw.sip, service: '+15550001000', localIp: '127.0.0.3', calls: 2, extraArgs: ['-r', '10', '-l', '2'], timeoutS: 20})
    await waitFor('two calls up', async () => ((await gw.metric(/^clutchcall_calls_active\{[^}]*\} (\d+)/m)) >= 2 ? true : undefined), 10_000)
    const refused = await runSipp({scenarioXml: expecting503WithRetryAfter(uacExpectingRefusal(503)), target: gw.sip, service: '+15550001001', localIp: '127.0.0.3', timeoutS: 10})
    const refusal = await refused.done
    assert.equal(refusal.code, 0, `503 with Retry-After: ${refusal.output}`)
    const calls = await held.done
    assert.equal(calls.code, 0, `the calls already up ended normally: ${calls.output}`)
    assert.equal(await gw.metric(/^clutchcall_call_attempts_refused_total\{[^}]*reason="dialog_limit"[^}]*\} (\d+)/m), refusedBefore + 1)
    // Below the cap again, a call is taken.
    await sleep(200)
    const next = await runSipp({scenarioXml: uacAwaitingBye(), target: gw.sip, service: '+15550001002', localIp: '127.0.0.3', timeoutS: 20})
    assert.equal((await next.done).code, 0)
  })
})

describe('max_transactions of a real daemon', () => {
  const capped = new TestGateway()

  before(async () => {
    await capped.start('security:\n  limits: { max_transactions: 100 }\n')
  })

  after(async () => {
    await capped.stop()
  })

  it('answers requests past max_transactions with a stateless 503 and Retry-After, even from trusted loopback, and holds no more', async () => {
    const optionsScenario = (expect: string) => `<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="options">
<send retrans="500"><![CDATA[
OPTIONS sip:ping@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:probe@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:ping@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

]]></send>
${expect}
</scenario>
`
    // 200 OPTIONS: each non-INVITE server transaction is held 32 s (Timer J), so the first 100 fill the table.
    const either = '<recv response="200" optional="true" next="done"/>\n<recv response="503"/>\n<label id="done"/>'
    const flood = await runSipp({scenarioXml: optionsScenario(either), target: capped.sip, localIp: '127.0.0.1', calls: 200, extraArgs: ['-r', '400'], timeoutS: 15})
    const flooded = await flood.done
    assert.equal(flooded.code, 0, `every OPTIONS answered, 200 or 503: ${flooded.output}`)
    const refused = await capped.metric(/^clutchcall_sip_requests_refused_total\{method="OPTIONS",reason="transaction_limit"\} (\d+)/m)
    assert.ok(refused >= 100, `refused past the cap: ${refused}`)
    const status = await capped.home.json(['status'])
    assert.ok(status.body.result.sip.transactions <= 100, `transactions held: ${status.body.result.sip.transactions}`)
    const probe = await runSipp({scenarioXml: expecting503WithRetryAfter(optionsScenario('<recv response="503"/>')), target: capped.sip, localIp: '127.0.0.1', timeoutS: 5})
    const probed = await probe.done
    assert.equal(probed.code, 0, `a stateless 503 with Retry-After: ${probed.output}`)
  })
})
