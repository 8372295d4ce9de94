// A fleet is updated in place (docs/fleet.md, "Shared config"): `clutchcall
// config reload` and SIGHUP re-read the config file of a running daemon. Here,
// with SIPp calls up: the calls in progress all complete on the config they
// started with; a call placed after the reload follows the new dialplan and the
// new trunk (its bridge reaches the SIPp callee the new outbound URI names, the
// number plan of the new inbound trunk routes it); keys bound at start are
// listed as needing a restart; a bad file is refused with its problems and
// changes nothing; SIGHUP does the same, its outcome in the log.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {freePort, testConfig} from '../../helpers/cli.js'
import {TestGateway, waitFor} from '../../helpers/gateway.js'
import {runSipp, uacExpectingRefusal, uacShortCall, uasAnswering} from '../../helpers/peers.js'

const gw = new TestGateway()
let oldCallee = 0
let newCallee = 0

const config = (options: {dialplan: string; numbers: string; callee: number; portMax?: number}) => `tenants:
  - { id: acme, dialplan: ${options.dialplan} }
trunks:
  - { id: carrier, tenant: acme, inbound: { cidrs: [127.0.0.1/32], numbers: [${options.numbers}] } }
  - { id: out, tenant: acme, outbound: { uri: "sip:127.0.0.1:${options.callee}" } }
dialplans:
  talk:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, max_duration_s: 60, next: bye }
      bye: { type: hangup, cause: 16 }
  forward:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: out, timeout_s: 5, next: { answered: bye, default: failed } }
      failed: { type: hangup, cause: 41 }
      bye: { type: hangup, cause: 16 }
  busy:
    start: bye
    nodes:
      bye: { type: hangup, cause: 17 }
${options.portMax === undefined ? '' : `rtp: { port_max: ${options.portMax} }\n`}`

/** Rewrites the home's config file the way an operator (or config management) would. */
const rewrite = (yaml: string): void => {
  gw.home.writeConfig(testConfig(gw.metricsPort, yaml))
}

const logLines = (): Array<Record<string, unknown>> =>
  readFileSync(join(gw.home.dir, 'daemon.log'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

/** From the pid file: the CLI cannot read a broken config file either, so `status` is no way to ask while one is in place. */
const pid = (): number => Number(readFileSync(gw.home.path('daemon.pid'), 'utf8').trim())

before(async () => {
  oldCallee = await freePort()
  newCallee = await freePort()
  await gw.start(config({dialplan: 'talk', numbers: '"+1555*"', callee: oldCallee}))
})

after(() => gw.stop())

describe('config reload', () => {
  it('applies a new dialplan and trunks to the calls placed after it while SIPp calls run, none dropped; restart-only keys are listed', async () => {
    // Six calls of 6 s, three a second: all up when the reload comes.
    const load = await runSipp({scenarioXml: uacShortCall(6000), target: gw.sip, service: '+15550001000', calls: 6, extraArgs: ['-r', '3', '-l', '6']})
    await waitFor('the six calls up', () => (gw.events.filter((event) => event.type === 'CHANNEL_ANSWER').length >= 6 ? true : undefined), 20_000)

    rewrite(config({dialplan: 'forward', numbers: '"+1555*", "+1666*"', callee: newCallee, portMax: 29_000}))
    const reload = await gw.home.json(['config', 'reload'])
    assert.equal(reload.code, 0, JSON.stringify(reload.body))
    const result = reload.body.result
    assert.deepEqual([...result.applied].sort(), ['tenants', 'trunks'])
    assert.deepEqual(result.restartRequired, ['rtp.port_max'])
    assert.ok(result.activeCalls >= 1, `calls up during the reload: ${result.activeCalls}`)
    assert.match(reload.body.warnings.join('\n'), /rtp\.port_max/, 'the restart-only key is a warning too')
    const logged = logLines().find((line) => line.msg === 'config reloaded')
    assert.deepEqual(logged?.restartRequired, ['rtp.port_max'])
    assert.equal(logged?.trigger, 'command')
    assert.ok(logLines().some((line) => line.level === 40 && /only after a restart/.test(String(line.msg))), 'a warning line names what waits for a restart')

    // A call after the reload: the new number plan admits +1666, the new dialplan bridges it, the new trunk URI reaches the new callee.
    const callee = await runSipp({scenarioXml: uasAnswering(), port: newCallee})
    const caller = await runSipp({scenarioXml: uacShortCall(500), target: gw.sip, service: '+16660000001'})
    const [a, b] = await Promise.all([caller.done, callee.done])
    assert.equal(a.code, 0, `the call after the reload was bridged: ${a.output}`)
    assert.equal(b.code, 0, `the callee of the new trunk URI got it: ${b.output}`)
    assert.equal((await gw.hangupOf('+16660000001')).status, 'completed')

    const loaded = await load.done
    assert.equal(loaded.code, 0, `every call up during the reload completed: ${loaded.output}`)
    // SIPp is done once its BYEs are answered; the last hangup events may still be on their way.
    const ends = await waitFor('the six hangups', () => {
      const found = gw.events.filter((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.to_number === '+15550001000')
      return found.length >= 6 ? found : undefined
    })
    assert.equal(ends.length, 6)
    assert.ok(ends.every((end) => 'status' in end && end.status === 'completed' && end.q850_cause === 16), JSON.stringify(ends))

    const status = await gw.home.json(['status'])
    assert.match(status.body.result.configReloadedAt ?? '', /^\d{4}-\d\d-\d\dT/)
  })

  it('refuses a file that does not validate, with its problems, and keeps the running config', async () => {
    rewrite(config({dialplan: 'busy', numbers: '"+1555*"', callee: newCallee}).replace('trunks:', 'trunkz: []\ntrunks:').replace('dialplan: busy', 'dialplan: nowhere'))
    const refused = await gw.home.json(['config', 'reload'])
    assert.equal(refused.code, 1)
    assert.equal(refused.body.error?.code, 'CC_ERR_CONFIG_RELOAD_REFUSED')
    assert.match(refused.body.error?.message ?? '', /keeps running on its current config/)
    assert.match(refused.body.error?.message ?? '', /trunkz: unknown key \(did you mean trunks\?\)/)
    assert.match(refused.body.error?.message ?? '', /tenants\[0\]\.dialplan: dialplan "nowhere" is not defined/)
    const human = await gw.home.run(['config', 'reload'])
    assert.equal(human.code, 1)
    assert.match(human.stderr, /^Error \(CC_ERR_CONFIG_RELOAD_REFUSED\): Config reload refused/)
    assert.match(human.stderr, /Try: Fix .*clutchcall\.yaml/)

    rewrite('tenants: [ { id: acme\n')
    const yaml = await gw.home.json(['config', 'reload'])
    assert.equal(yaml.body.error?.code, 'CC_ERR_CONFIG_RELOAD_REFUSED')
    assert.match(yaml.body.error?.message ?? '', /invalid YAML/)
    assert.ok(logLines().some((line) => line.msg === 'config reload refused; the running config stays'))

    // Still the config of the last good reload: +1777 is no number of the carrier trunk (404), +1666 is bridged.
    const unrouted = await runSipp({scenarioXml: uacExpectingRefusal(404), target: gw.sip, service: '+17770000001'})
    assert.equal((await unrouted.done).code, 0)
    const callee = await runSipp({scenarioXml: uasAnswering(), port: newCallee})
    const caller = await runSipp({scenarioXml: uacShortCall(300), target: gw.sip, service: '+16660000002'})
    const [a, b] = await Promise.all([caller.done, callee.done])
    assert.equal(a.code, 0, a.output)
    assert.equal(b.code, 0, b.output)
  })

  it('SIGHUP reloads the same way, and a bad file sent with SIGHUP leaves the daemon running on its config', async () => {
    const daemon = pid()
    const good = config({dialplan: 'busy', numbers: '"+1555*", "+1666*"', callee: newCallee})
    rewrite(good)
    const before = logLines().filter((line) => line.msg === 'config reloaded').length
    process.kill(daemon, 'SIGHUP')
    await waitFor('the SIGHUP reload in the log', () => (logLines().filter((line) => line.msg === 'config reloaded').length > before ? true : undefined))
    const reloaded = logLines().filter((line) => line.msg === 'config reloaded').at(-1)
    assert.equal(reloaded?.trigger, 'SIGHUP')
    assert.deepEqual(reloaded?.applied, ['tenants'])
    const busy = await runSipp({scenarioXml: uacExpectingRefusal(486), target: gw.sip, service: '+16660000003'})
    assert.equal((await busy.done).code, 0, 'the new dialplan (hang up with cause 17) answers 486')

    rewrite('trunks: 5\n')
    const refusals = logLines().filter((line) => line.msg === 'config reload refused; the running config stays').length
    process.kill(daemon, 'SIGHUP')
    await waitFor('the refusal in the log', () => (logLines().filter((line) => line.msg === 'config reload refused; the running config stays').length > refusals ? true : undefined))
    assert.equal(logLines().filter((line) => line.msg === 'config reload refused; the running config stays').at(-1)?.trigger, 'SIGHUP')
    assert.doesNotThrow(() => process.kill(daemon, 0), 'the daemon runs on')
    rewrite(good)
    assert.equal((await gw.home.json(['status'])).body.result.pid, daemon)
    const still = await runSipp({scenarioXml: uacExpectingRefusal(486), target: gw.sip, service: '+16660000004'})
    assert.equal((await still.done).code, 0, 'on the config of the last good reload')
  })
})
