// Real calls through a real daemon with baresip (Debian's 1.0.0) as the user
// agent: a SIP stack, SDP and RTP implementation independent of SIPp. baresip
// calls the echo dialplan and hangs up; the gateway hangs up on baresip; a
// bridge dialplan calls an auto-answering baresip for a SIPp caller, and that
// baresip hangs up the B-leg. The call events (`calls tail --json`), baresip's
// own events (ctrl_tcp), its SIP trace and what it heard are checked.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Baresip, freeSipPort, goertzel} from '../../../helpers/baresip.js'
import {perCalleeBridgeConfig} from '../../../helpers/bridge-config.js'
import {sleep, TestGateway as Gateway} from '../../../helpers/gateway.js'
import {runSipp, uacAwaitingBye, uacWithAudio} from '../../../helpers/peers.js'

after(async () => {
  await Baresip.disposeAll()
})

describe('baresip against the default (open) config', () => {
  const gateway = new Gateway()

  before(async () => {
    await gateway.start()
  })

  after(async () => {
    await gateway.stop()
  })

  it('calls the echo dialplan, talks for 4 s, hangs up: answered, echoed, completed', async () => {
    const phone = await Baresip.start({toneHz: 440})
    await phone.dial(`sip:+15550000001@${gateway.sip}`)
    const established = await phone.waitForEvent('CALL_ESTABLISHED')
    assert.equal(established.direction, 'outgoing', phone.tail())
    await sleep(4000)
    await phone.hangup()
    await phone.waitForEvent('CALL_CLOSED', 5_000)

    const end = await gateway.hangupOf('+15550000001')
    const types = gateway.typesOf(end.call_sid)
    assert.deepEqual(types.filter((type) => type !== 'CHANNEL_QUALITY'), ['CHANNEL_CREATE', 'CHANNEL_ANSWER', 'CHANNEL_HANGUP_COMPLETE'], `events ${types.join(' ')}\n${phone.tail()}`)
    assert.ok(types.includes('CHANNEL_QUALITY'), 'quality updates while the call is up')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
    assert.equal(end.direction, 'inbound')
    assert.equal(end.from_number, 'baresip')
    assert.ok(end.codec === 'PCMU' || end.codec === 'PCMA', `codec ${end.codec}`)
    assert.ok(end.packets_received >= 150, `received ${end.packets_received} from baresip`)
    assert.ok(end.packets_sent >= 150, `echoed ${end.packets_sent} to baresip`)
    assert.ok(end.packets_lost <= 2, `lost ${end.packets_lost}`)
    assert.ok(end.estimated_mos >= 4, `MOS ${end.estimated_mos}`)
    assert.ok(end.duration_seconds >= 3 && end.duration_seconds <= 6, `duration ${end.duration_seconds}`)

    // What baresip heard is its own tone, echoed: loud, and at its frequency.
    const heard = (await phone.heardAudio()).subarray(8000)
    assert.ok(heard.length >= 2 * 8000, `baresip decoded ${heard.length} samples after the first second`)
    const rms = Math.sqrt(heard.reduce((sum, sample) => sum + sample * sample, 0) / heard.length)
    assert.ok(rms > 2000, `RMS of the echo ${rms.toFixed(0)}`)
    const atTone = goertzel(heard, 440)
    for (const other of [300, 600, 1000, 2000]) assert.ok(atTone > 100 * goertzel(heard, other), `440 Hz vs ${other} Hz in the echo`)
    await phone.quit()
  })

  it('is hung up on by `calls hangup`: baresip gets a BYE and closes the call, the CDR says completed', async () => {
    const phone = await Baresip.start()
    await phone.dial(`sip:+15550000002@${gateway.sip}`)
    await phone.waitForEvent('CALL_ESTABLISHED')
    const create = await gateway.created('+15550000002')
    await gateway.answered(create.call_sid)
    await sleep(1000)
    assert.equal(phone.events.some((event) => event.type === 'CALL_CLOSED'), false, `the call ended early\n${phone.tail()}`)

    const hangup = await gateway.home.json(['calls', 'hangup', create.call_sid, '--cause', '16'])
    assert.equal(hangup.code, 0, JSON.stringify(hangup.body))
    const closed = await phone.waitForEvent('CALL_CLOSED', 5_000)
    assert.match(closed.param ?? '', /peer/i, `closed by the peer, not by baresip\n${phone.tail()}`)
    await phone.waitForOutput(/Call with sip:\+15550000002@127\.0\.0\.1:\d+ terminated/, 2_000)
    // baresip's SIP trace (-s): "UDP FROM -> TO" above each message.
    const gatewayPort = gateway.sip.split(':')[1] ?? ''
    assert.match(phone.output, new RegExp(`UDP 127\\.0\\.0\\.1:${gatewayPort} -> 127\\.0\\.0\\.1:${phone.sipPort}\\s+BYE sip:`), `the gateway's BYE\n${phone.tail()}`)
    assert.doesNotMatch(phone.output, new RegExp(`-> 127\\.0\\.0\\.1:${gatewayPort}\\s+BYE sip:`), `baresip sent no BYE of its own\n${phone.tail()}`)

    const end = await gateway.hangupOf('+15550000002')
    assert.equal(end.call_sid, create.call_sid)
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
    assert.ok(end.packets_received >= 40, `received ${end.packets_received} from baresip`)
    await phone.quit()
  })
})


describe('baresip as the callee of a bridge', () => {
  const gateway = new Gateway()
  const callees = [
    {number: '+17770000001', port: 0},
    {number: '+17770000002', port: 0},
  ]

  before(async () => {
    for (const callee of callees) callee.port = await freeSipPort()
    await gateway.start(perCalleeBridgeConfig(callees))
  })

  after(async () => {
    await gateway.stop()
  })

  it('a SIPp caller reaches an auto-answering baresip: both legs complete, audio relayed both ways', async () => {
    const [callee] = callees
    assert.ok(callee)
    const phone = await Baresip.start({user: callee.number, autoAnswer: true, sipPort: callee.port, toneHz: 1000})
    const caller = await runSipp({scenarioXml: uacWithAudio(), target: gateway.sip, service: callee.number})
    const {code, output} = await caller.done
    assert.equal(code, 0, `${output}\n${phone.tail()}`)

    // With answermode=auto, 1.0.0 answers at once and reports no CALL_INCOMING.
    const established = await phone.waitForEvent('CALL_ESTABLISHED')
    assert.equal(established.direction, 'incoming', phone.tail())
    assert.equal(established.peeruri, 'sip:+15550001111@127.0.0.1', 'the caller, as the gateway presents it')
    // The caller's BYE ends the B-leg: the gateway hangs up on baresip.
    const closed = await phone.waitForEvent('CALL_CLOSED', 5_000)
    assert.match(closed.param ?? '', /peer/i, `closed by the gateway\n${phone.tail()}`)

    const end = await gateway.hangupOf(callee.number)
    assert.equal(end.status, 'completed', phone.tail())
    assert.equal(end.q850_cause, 16)
    assert.equal(end.trunk_id, 'in-0')
    assert.ok(end.packets_received >= 200, `A-leg received ${end.packets_received} from SIPp`)
    assert.ok(end.packets_sent >= 200, `baresip's audio relayed to SIPp: ${end.packets_sent}`)

    // baresip heard the caller's recording through the bridge.
    const heard = await phone.heardAudio()
    assert.ok(heard.length >= 5 * 8000, `baresip decoded ${heard.length} samples`)
    const rms = Math.sqrt(heard.reduce((sum, sample) => sum + sample * sample, 0) / heard.length)
    assert.ok(rms > 100, `RMS of what baresip heard ${rms.toFixed(0)}`)
    await phone.quit()
  })

  it('baresip hangs up the B-leg: the gateway ends the A-leg with a BYE, the CDR says completed', async () => {
    const [, callee] = callees
    assert.ok(callee)
    const phone = await Baresip.start({user: callee.number, autoAnswer: true, sipPort: callee.port})
    const caller = await runSipp({scenarioXml: uacAwaitingBye(), target: gateway.sip, service: callee.number, timeoutS: 15})
    await phone.waitForEvent('CALL_ESTABLISHED')
    const create = await gateway.created(callee.number)
    await gateway.answered(create.call_sid)
    await sleep(1000)
    await phone.hangup()
    const closed = await phone.waitForEvent('CALL_CLOSED', 5_000)
    assert.match(closed.param ?? '', /by user/i, `closed by baresip itself\n${phone.tail()}`)
    // The gateway answered baresip's BYE (the trace shows the 200 to it).
    await phone.waitForOutput(/SIP\/2\.0 200 OK[^#]*?CSeq: \d+ BYE/, 3_000)

    const {code, output} = await caller.done
    assert.equal(code, 0, `the caller got the gateway's BYE: ${output}\n${phone.tail()}`)
    const end = await gateway.hangupOf(callee.number)
    assert.equal(end.call_sid, create.call_sid)
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
    assert.equal(end.trunk_id, 'in-1')
    await phone.quit()
  })
})
