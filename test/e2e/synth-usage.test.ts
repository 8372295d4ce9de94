// `synth call` and `smoke` refuse bad flags before anything is sent (exit 2,
// CC_ERR_USAGE naming the flag), and fail plainly against nothing.
import assert from 'node:assert/strict'
import {createSocket} from 'node:dgram'
import {after, describe, it} from 'node:test'
import {TestHome} from '../helpers/cli.js'

const home = new TestHome()
after(() => home.cleanup())

describe('synth call and smoke flags', () => {
  const cases: Array<[string[], RegExp]> = [
    [['synth', 'call'], /Missing 1 required arg/i],
    [['synth', 'call', '127.0.0.1:5060'], /--uri "127\.0\.0\.1:5060" is not valid: use a sip: URI/],
    [['synth', 'call', 'sips:echo@127.0.0.1'], /TLS/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--count', '0'], /--count "0" is not valid/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--concurrency', 'many'], /--concurrency/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--rate', '-3'], /--rate/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--duration', 'long'], /--duration/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--codec', 'opus'], /--codec "opus" is not valid: PCMU or PCMA/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--header', 'Via: SIP/2.0/UDP x'], /Via is written by the user agent itself/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--header', 'nonsense'], /--header "nonsense"/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--expect-status', '99'], /--expect-status "99"/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--min-mos', '7'], /--min-mos "7"/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--max-loss', '101'], /--max-loss "101"/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--max-pdd', 'soon'], /--max-pdd "soon"/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--user', 'alice'], /--user needs --password/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--local-address', 'here'], /--local-address "here"/],
    [['synth', 'call', 'sip:echo@127.0.0.1', '--no-such-flag'], /Nonexistent flag: --no-such-flag/],
    [['smoke', '--target', 'localhost:5060'], /--target "localhost:5060" is not valid/],
    [['smoke', '--settle', 'forever'], /--settle "forever"/],
    [['smoke', '--min-mos', 'good'], /--min-mos "good"/],
  ]
  for (const [args, message] of cases) {
    it(`${args.slice(0, 2).join(' ')} ${args.slice(2).join(' ')}: exit 2`, async () => {
      const run = await home.json(args)
      assert.equal(run.code, 2, JSON.stringify(run.body))
      assert.equal(run.body.status, 2)
      assert.equal(run.body.error?.code, 'CC_ERR_USAGE')
      assert.match(run.body.error?.message ?? '', message)
    })
  }

  it('a target that never answers: 408 after --ring-timeout, exit 1', async () => {
    // A UDP socket that swallows everything: no response, no ICMP.
    const sink = createSocket('udp4')
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()))
    try {
      const started = Date.now()
      const run = await home.json(['synth', 'call', `sip:void@127.0.0.1:${sink.address().port}`, '--ring-timeout', '1'])
      assert.ok(Date.now() - started < 10_000, 'gave up after the ring timeout, not Timer B')
      assert.equal(run.code, 1, JSON.stringify(run.body))
      assert.equal(run.body.error?.code, 'CC_ERR_SYNTH_THRESHOLDS')
      const call = run.body.error?.data.calls[0]
      assert.equal(call.sipStatus, 408)
      assert.equal(call.statusSource, 'timeout')
      assert.equal(call.result, 'no-answer')
      assert.equal(call.pddMs, null)
    } finally {
      sink.close()
    }
  })

  it('a --junit path that cannot be written fails with CC_ERR_SYNTH_JUNIT_WRITE', async () => {
    const sink = createSocket('udp4')
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()))
    try {
      const run = await home.json(['synth', 'call', `sip:void@127.0.0.1:${sink.address().port}`, '--ring-timeout', '1', '--junit', '/proc/clutchcall/report.xml'])
      assert.equal(run.code, 1)
      assert.equal(run.body.error?.code, 'CC_ERR_SYNTH_JUNIT_WRITE')
      assert.match(run.body.error?.message ?? '', /^Cannot write the JUnit report \/proc\/clutchcall\/report\.xml: /)
    } finally {
      sink.close()
    }
  })
})
