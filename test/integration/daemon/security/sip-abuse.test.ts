// SIP abuse control against a real daemon, tested as an attacker would
// (docs/sip-abuse-control.md): SIPVicious svmap from an unknown loopback
// source finds nothing, a SIPp flood gets its source banned while another
// trunk's calls go through, `security unban` lets it back, wrong digests ban,
// and a flood of dropped OPTIONS leaves no transaction behind. Other sources
// are other loopback addresses: 127.0.0.3 and .4 are trunks, .5-.8 unknown.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {sleep, TestGateway, waitFor} from '../../../helpers/gateway.js'
import {runSipp, uacShortCall, uacWithWrongDigest} from '../../../helpers/peers.js'

const gw = new TestGateway()

const CONFIG = `tenants:
  - { id: acme, dialplan: short-echo }
trunks:
  - { id: carrier-a, tenant: acme, inbound: { cidrs: [127.0.0.3/32], numbers: ["+1555*"] } }
  - { id: carrier-b, tenant: acme, inbound: { cidrs: [127.0.0.4/32], numbers: ["+1555*"] } }
  - { id: phones, tenant: acme, inbound: { numbers: ["+1666*"], auth: { username: alice, password: wonderland } } }
security:
  rate_limit: { requests: 40, window_ms: 1000, ban_s: 300, trunk_sources: limited }
  auth_failures: { max: 3, window_s: 60, ban_s: 900 }
dialplans:
  short-echo:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, max_duration_s: 1, next: bye }
      bye: { type: hangup, cause: 16 }
`

const optionsRequest = (retrans: string) => `<send${retrans}><![CDATA[
OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:probe@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>`

const scenario = (name: string, body: string) => `<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="${name}">
${body}
</scenario>
`

/** One OPTIONS that must be answered 200. */
const optionsExpecting200 = () => scenario('options ping', `${optionsRequest(' retrans="500"')}
<recv response="200"/>`)

/** OPTIONS fired without waiting for any answer: a flood. */
const optionsFlood = () => scenario('options flood', optionsRequest(''))

/** The OPTIONS ping from `source`: true when it was answered 200 within a few seconds. */
const answersOptions = async (source: string): Promise<boolean> => {
  const ping = await runSipp({scenarioXml: optionsExpecting200(), target: gw.sip, service: 'ping', localIp: source, timeoutS: 3})
  return (await ping.done).code === 0
}

const refusedRequests = (method: string, reason: string): RegExp => new RegExp(`^clutchcall_sip_requests_refused_total\\{method="${method}",reason="${reason}"\\} (\\d+)`, 'm')

interface BanView {
  address: string
  reason: string
  since: string
  until: string
  hits: number
}

const bans = async (): Promise<BanView[]> => {
  const listed = await gw.home.json(['security', 'bans'])
  assert.equal(listed.code, 0, JSON.stringify(listed.body))
  return listed.body.result.bans as BanView[]
}

const banOf = async (address: string): Promise<BanView | undefined> => (await bans()).find((ban) => ban.address === address)

const runSvmap = (args: readonly string[]): Promise<string> =>
  new Promise((resolve) => {
    // svmap keeps its sessions under $HOME/.sipvicious: a private one, removed afterwards.
    const home = mkdtempSync(join(tmpdir(), 'cc-svmap-'))
    const child = spawn('svmap', args, {env: {...process.env, HOME: home}, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('close', () => {
      clearTimeout(timer)
      rmSync(home, {recursive: true, force: true})
      resolve(output)
    })
  })

before(async () => {
  await gw.start(CONFIG)
})

after(async () => {
  await gw.stop()
})

describe('SIP abuse control', () => {
  it('svmap from an unknown source finds nothing and is counted; OPTIONS from a trunk source still gets 200', async () => {
    const port = gw.sip.split(':')[1] ?? ''
    const before = await gw.metric(refusedRequests('OPTIONS', 'unknown_source'))
    const output = await runSvmap(['-b', '127.0.0.5', '-p', port, '127.0.0.1'])
    assert.match(output, /found nothing/, `svmap found a SIP device: ${output}`)
    assert.doesNotMatch(output, /ClutchCall/)
    assert.ok((await gw.metric(refusedRequests('OPTIONS', 'unknown_source'))) > before, 'the scan is counted')
    // The same probe from a trunk's address is answered, and a REGISTER-less scanner stayed unbanned (drops are not bans).
    assert.equal(await answersOptions('127.0.0.4'), true, 'OPTIONS from carrier-b answered 200')
    assert.equal(await banOf('127.0.0.5'), undefined)
  })

  it('a SIPp flood over the rate limit gets its source banned while another trunk\'s calls all succeed; unban lets it back', async () => {
    const bansBefore = await gw.metric(/^clutchcall_security_bans_total\{reason="rate_limit"\} (\d+)/m)
    // 10 calls at 5 calls/s from carrier-b (3 requests each: well under 40/s), while carrier-a floods at 300 requests/s.
    const calls = await runSipp({scenarioXml: uacShortCall(200), target: gw.sip, service: '+15550000001', localIp: '127.0.0.4', calls: 10, extraArgs: ['-r', '5'], timeoutS: 30})
    const flood = await runSipp({scenarioXml: optionsFlood(), target: gw.sip, service: 'flood', localIp: '127.0.0.3', calls: 600, extraArgs: ['-r', '300'], timeoutS: 10})
    await flood.done
    const {code, output} = await calls.done
    assert.equal(code, 0, `every call from carrier-b succeeded: ${output}`)

    const ban = await waitFor('the ban of 127.0.0.3', () => banOf('127.0.0.3'))
    assert.equal(ban.reason, 'rate_limit')
    assert.ok(ban.hits > 1, `hits ${ban.hits}`)
    assert.ok(Date.parse(ban.until) - Date.parse(ban.since) === 300_000, `${ban.since} .. ${ban.until}`)
    assert.equal(await banOf('127.0.0.4'), undefined, 'the modest trunk is not banned')
    assert.equal(await gw.metric(/^clutchcall_security_bans_total\{reason="rate_limit"\} (\d+)/m), bansBefore + 1, 'one ban counted, once')
    assert.ok((await gw.metric(refusedRequests('OPTIONS', 'banned'))) > 0)
    assert.equal(await gw.metric(/^clutchcall_security_banned_sources (\d+)/m) >= 1, true)
    const status = await gw.home.json(['status'])
    assert.ok(status.body.result.sip.bannedSources >= 1, JSON.stringify(status.body.result.sip))

    // Banned: even a trunk's OPTIONS goes unanswered.
    assert.equal(await answersOptions('127.0.0.3'), false, 'a banned source gets no answer')
    const unban = await gw.home.json(['security', 'unban', '127.0.0.3'])
    assert.equal(unban.code, 0, JSON.stringify(unban.body))
    assert.deepEqual(unban.body.result.unbanned, ['127.0.0.3'])
    assert.equal(await banOf('127.0.0.3'), undefined)
    assert.equal(await answersOptions('127.0.0.3'), true, 'let back in')
  })

  it('repeated wrong digests from one source ban it', async () => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const wrong = await runSipp({scenarioXml: uacWithWrongDigest(), target: gw.sip, service: `+1666000000${attempt}`, localIp: '127.0.0.6'})
      const {code, output} = await wrong.done
      assert.equal(code, 0, `attempt ${attempt} challenged twice: ${output}`)
    }
    const ban = await waitFor('the ban of 127.0.0.6', () => banOf('127.0.0.6'))
    assert.equal(ban.reason, 'auth_failures')
    assert.equal(Date.parse(ban.until) - Date.parse(ban.since), 900_000)
    assert.ok((await gw.metric(/^clutchcall_security_bans_total\{reason="auth_failures"\} (\d+)/m)) >= 1)
    // The fourth try is not even challenged.
    const fourth = await runSipp({scenarioXml: uacWithWrongDigest(), target: gw.sip, service: '+16660000004', localIp: '127.0.0.6', timeoutS: 3})
    assert.notEqual((await fourth.done).code, 0, 'a banned source gets no challenge')
    const all = await gw.home.json(['security', 'unban', '--all'])
    assert.equal(all.code, 0, JSON.stringify(all.body))
    assert.ok((all.body.result.unbanned as string[]).includes('127.0.0.6'))
    assert.deepEqual(await bans(), [])
  })

  it('a flood of dropped OPTIONS from an unknown source leaves no transaction behind', async () => {
    const dropped = async () => (await gw.metric(refusedRequests('OPTIONS', 'unknown_source'))) + (await gw.metric(refusedRequests('OPTIONS', 'rate_limit'))) + (await gw.metric(refusedRequests('OPTIONS', 'banned')))
    const before = await dropped()
    // Earlier answered requests (the other tests' OPTIONS and calls) hold theirs for up to 32 s: the flood must add none.
    const baseline = (await gw.home.json(['status'])).body.result.sip.transactions as number
    const flood = await runSipp({scenarioXml: optionsFlood(), target: gw.sip, service: 'flood', localIp: '127.0.0.7', calls: 2000, extraArgs: ['-r', '500'], timeoutS: 15})
    const transactions: number[] = []
    let running = true
    const sampled = flood.done.then(() => (running = false))
    while (running) {
      const status = await gw.home.json(['status'])
      transactions.push(status.body.result.sip.transactions as number)
      await Promise.race([sleep(300), sampled])
    }
    await waitFor('every OPTIONS counted', async () => ((await dropped()) - before >= 2000 ? true : undefined))
    assert.ok(transactions.length >= 1)
    assert.ok(Math.max(...transactions) <= baseline + 2, `transactions before the flood: ${baseline}, during: ${transactions.join(', ')}`)
    // Fire-and-forget OPTIONS got nothing back: SIPp counts no unexpected answers.
    assert.equal(await answersOptions('127.0.0.8'), false, 'an unknown source is never answered')
  })
})
