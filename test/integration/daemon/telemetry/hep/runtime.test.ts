// HEP capture switched at runtime with the real CLI while SIPp calls run:
// nothing before `hep enable`, frames while on, none after `hep disable`, none
// after the TTL ran out by itself; a collector whose port is closed costs the
// calls nothing and shows up as counted send errors; the daemon's params
// schema refuses what the CLI refuses.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {sleep, TestGateway, waitFor} from '../../../../helpers/gateway.js'
import {freeUdpPort, HepCollector, sipHeader} from '../../../../helpers/hep.js'
import {runSipp, uacShortCall} from '../../../../helpers/peers.js'
import {AdminClient} from '../../../../../src/admin/client.js'
import {CCError} from '../../../../../src/errors.js'

const gw = new TestGateway()
let collector: HepCollector

before(async () => {
  collector = await new HepCollector().start()
  // Capture off at start (the default); the gateway's built-in echo dialplan answers every call.
  await gw.start()
})

after(async () => {
  collector.close()
  await gw.stop()
})

const hep = async (...args: string[]) => {
  const result = await gw.home.json(['hep', ...args])
  assert.equal(result.code, 0, JSON.stringify(result.body))
  return result.body.result
}

/** Short calls at a steady rate from one SIPp, `count` of them, numbered by SIPp from +1555…. */
const steadyCalls = (count: number, rate: number, service: string) =>
  runSipp({scenarioXml: uacShortCall(200), target: gw.sip, service, calls: count, extraArgs: ['-r', String(rate), '-l', String(rate * 2)], timeoutS: 120})

describe('HEP capture switched at runtime while calls run', () => {
  it('captures nothing while off, everything while on, nothing after disable, and switches itself off when the TTL runs out', async () => {
    const calls = await steadyCalls(50, 5, '+15551000000')
    await sleep(1500)
    const framesWhileOff = collector.frames.length

    const on1Start = Date.now()
    const enabled = await hep('enable', '--endpoint', collector.endpoint, '--capture-id', '77')
    assert.equal(enabled.state, 'on')
    assert.equal(enabled.timeLeftS, null)
    assert.equal(enabled.passwordSet, false)
    await sleep(2000)

    const off1Start = Date.now()
    const disabled = await hep('disable')
    const off1End = Date.now()
    assert.equal(disabled.state, 'off')
    assert.equal(disabled.lastOffReason, 'disabled')
    await sleep(1500)

    const on2Start = Date.now()
    const withTtl = await hep('enable', '--endpoint', collector.endpoint, '--capture-id', '78', '--ttl', '2s')
    assert.equal(withTtl.state, 'on')
    assert.ok(withTtl.timeLeftS === 2 || withTtl.timeLeftS === 1, `time left ${withTtl.timeLeftS}`)
    assert.ok(withTtl.expiresAt !== null)
    const statusMid = (await gw.home.json(['status'])).body.result
    assert.equal(statusMid.telemetry.hep.state, 'on')

    await waitFor('the TTL to switch capture off', async () => ((await hep('status')).state === 'off' ? true : undefined), 10_000)
    const expiredAt = Date.now()
    const framesAtExpiry = collector.frames.length
    // Calls go on (SIPp is still calling): nothing more arrives.
    await sleep(1000)
    assert.equal(collector.frames.length, framesAtExpiry, 'no frame after the TTL switched capture off')
    const afterTtl = await hep('status')
    assert.equal(afterTtl.lastOffReason, 'ttl')
    assert.equal(afterTtl.timeLeftS, null)
    assert.equal((await gw.home.json(['status'])).body.result.telemetry.hep.state, 'off')

    const {code, output} = await calls.done
    assert.equal(code, 0, `every call completed normally: ${output}`)

    assert.equal(framesWhileOff, 0, 'nothing is sent before hep enable')
    const first = collector.frames.filter((frame) => frame.decoded.rcinfo.captureId === 77)
    const second = collector.frames.filter((frame) => frame.decoded.rcinfo.captureId === 78)
    assert.equal(first.length + second.length, collector.frames.length)
    assert.ok(first.length >= 20, `frames while on: ${first.length}`)
    assert.ok(second.length >= 10, `frames during the TTL: ${second.length}`)
    for (const frame of first) assert.ok(frame.timestampMs >= on1Start && frame.timestampMs <= off1End, `capture 1 frame at ${frame.timestampMs} outside ${on1Start}..${off1End}`)
    const expiresAt = Date.parse(withTtl.expiresAt)
    for (const frame of second) assert.ok(frame.timestampMs >= on2Start && frame.timestampMs <= expiredAt, `TTL frame at ${frame.timestampMs} outside ${on2Start}..${expiredAt}`)
    // The TTL's own timer may run late on a loaded machine, never early.
    assert.ok(second.some((frame) => frame.timestampMs >= expiresAt - 1000), 'frames until the TTL ran out')
    assert.ok(first.some((frame) => frame.timestampMs >= off1Start - 1500), 'frames until the disable')
    assert.ok(expiredAt >= expiresAt, `seen off at ${expiredAt}, before the TTL ran out at ${expiresAt}`)
    // No auth key without a password.
    for (const frame of collector.frames) assert.equal(frame.decoded.rcinfo.capturePass, undefined)
    // Frames kept flowing while on: messages of many calls, each correlated to its own Call-ID (A-legs only here).
    for (const frame of collector.ofType(1)) assert.equal(frame.decoded.rcinfo.correlation_id, sipHeader(frame.decoded.payload, 'Call-ID'))
  })

  it('a collector whose port is closed: calls complete normally, send errors are counted and reported', async () => {
    const closedPort = await freeUdpPort()
    const before = await hep('status')
    const enabled = await hep('enable', '--endpoint', `127.0.0.1:${closedPort}`, '--no-rtcp')
    assert.equal(enabled.rtcp, false)
    const calls = await steadyCalls(10, 10, '+15552000000')
    const {code, output} = await calls.done
    assert.equal(code, 0, `calls are unaffected: ${output}`)
    const status = await waitFor('send errors', async () => {
      const current = await hep('status')
      return current.sendErrors > before.sendErrors ? current : undefined
    })
    assert.equal(status.state, 'on', 'capture stays on: the collector may come back')
    assert.match(status.lastError.message, /refused|ECONNREFUSED/)
    assert.ok(await gw.metric(/^clutchcall_hep_send_errors_total (\d+)$/m) >= status.sendErrors - 1)
    const overall = (await gw.home.json(['status'])).body.result.telemetry.hep
    assert.ok(overall.state === 'failing' || overall.state === 'on', overall.state)
    // Every call of this run completed.
    await waitFor('the 10 calls to end', () => (gw.events.filter((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.to_number.startsWith('+15552')).length >= 10 ? true : undefined))
    for (const event of gw.events) if (event.type === 'CHANNEL_HANGUP_COMPLETE' && event.to_number.startsWith('+15552')) assert.equal(event.status, 'completed')
    const human = await gw.home.run(['hep', 'status'])
    assert.match(human.stdout, /Send errors\s+[1-9]/)
    await hep('disable')
  })

  it('the daemon refuses bad hep.enable params with the same words as the CLI', async () => {
    const socket = gw.home.path('admin.sock')
    const client = await AdminClient.connect(socket)
    try {
      for (const [params, problem] of [
        [{endpoint: '192.0.2.10'}, /has no port/],
        [{endpoint: '192.0.2.10:70000'}, /port 70000 is outside 1-65535/],
        [{endpoint: ''}, /empty/],
        [{endpoint: 'no_such host:9060'}, /is not an IPv4 address or a host name/],
        [{ttl_s: 0}, /ttl_s/],
        [{capture_id: 2 ** 32}, /capture_id/],
      ] as const) {
        await assert.rejects(
          client.call('hep.enable', params as never),
          (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_ADMIN_INVALID_PARAMS' && problem.test(error.message),
          JSON.stringify(params),
        )
      }
      await assert.rejects(client.call('hep.enable', {endpoint: 'no-such-host.invalid:9060'}), (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_HEP_ENDPOINT_UNRESOLVABLE')
      assert.equal((await client.call('hep.status')).state, 'off')
    } finally {
      client.close()
    }
  })
})
