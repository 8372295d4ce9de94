// HEPv3 capture of a real bridged call (SIPp caller → gateway bridge → SIPp
// callee), read back by independent decoders: hep-js decodes every frame the
// gateway sent; the same frames, forwarded byte for byte, go to Debian's
// sngrep, whose pcap tshark reads. Capture is switched on by the config
// (heplify.enabled) with a capture id and a password.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import type {ChannelCreate} from '../../../../../src/calls/events.js'
import {freePort} from '../../../../helpers/cli.js'
import {sleep, TestGateway, waitFor} from '../../../../helpers/gateway.js'
import {freeUdpPort, HepCollector, sipFirstWord, sipHeader, Sngrep, tsharkSip, type ReceivedFrame} from '../../../../helpers/hep.js'
import {runSipp, uacWithAudio, uasAnswering} from '../../../../helpers/peers.js'

const CAPTURE_ID = 4321
const PASSWORD = 'hep-secret'

const gw = new TestGateway()
const sngrep = new Sngrep()
let collector: HepCollector
let calleePort = 0
let callerPort = 0
let gatewayPort = 0
let aLegCallId = ''
let bLegCallId = ''
let callWindow = {start: 0, end: 0}

const config = (callee: number, hepPort: number) => `tenants:
  - { id: bridger, dialplan: bridge-plan }
trunks:
  - id: local-bridge
    tenant: bridger
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777*"] }
  - id: callee
    tenant: bridger
    outbound: { uri: "sip:127.0.0.1:${callee}" }
dialplans:
  bridge-plan:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: callee, timeout_s: 5, next: { answered: bye, busy: bye, no-answer: bye, failed: bye } }
      bye: { type: hangup, cause: 16 }
heplify:
  enabled: true
  endpoint: 127.0.0.1:${hepPort}
  capture_id: ${CAPTURE_ID}
  password: ${PASSWORD}
`

/** Requests and responses of one leg as `what/CSeq method`, in capture order, 100 Trying left out (sent only when the answer takes long). */
const ladder = (frames: readonly ReceivedFrame[]): string[] =>
  frames.map((frame) => `${sipFirstWord(frame.decoded.payload)}/${(sipHeader(frame.decoded.payload, 'CSeq') ?? '').split(' ')[1]}`).filter((step) => !step.startsWith('100/'))

before(async () => {
  await sngrep.start()
  collector = await new HepCollector(sngrep.port).start()
  calleePort = await freePort()
  callerPort = await freeUdpPort()
  await gw.start(config(calleePort, collector.port))
  gatewayPort = Number(gw.sip.split(':')[1])

  // One bridged call with audio, both ends real SIPp.
  callWindow.start = Date.now()
  const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
  const caller = await runSipp({scenarioXml: uacWithAudio(), target: gw.sip, service: '+17770000001', port: callerPort})
  const [a, b] = await Promise.all([caller.done, callee.done])
  assert.equal(a.code, 0, a.output)
  assert.equal(b.code, 0, b.output)
  const end = await gw.hangupOf('+17770000001')
  assert.equal(end.status, 'completed')
  const create = gw.events.find((event): event is ChannelCreate => event.type === 'CHANNEL_CREATE' && event.call_sid === end.call_sid)
  assert.ok(create)
  aLegCallId = create.sip_call_id
  // The B-leg's last message (the callee's 200 to our BYE) and the RTCP BYEs may trail the hangup event a little.
  await waitFor('the last frames of both legs', () => {
    const bLeg = collector.frames.find((frame) => frame.decoded.rcinfo.payloadType === 1 && sipHeader(frame.decoded.payload, 'Call-ID') !== aLegCallId)
    if (bLeg === undefined) return undefined
    bLegCallId = sipHeader(bLeg.decoded.payload, 'Call-ID') ?? ''
    return ladder(collector.sipWithCallId(bLegCallId)).includes('200/BYE') && ladder(collector.sipWithCallId(aLegCallId)).includes('200/BYE') ? true : undefined
  })
  await sleep(500)
  callWindow.end = Date.now()
  await sngrep.stop()
})

after(async () => {
  collector?.close()
  sngrep.cleanup()
  await gw.stop()
})

describe('HEP capture of a bridged SIPp call', () => {
  it('hep-js decodes every frame: capture id, auth key, IPv4/UDP, timestamps within the call', (t) => {
    assert.deepEqual(collector.undecodable, [], 'every frame decodes')
    for (const stray of collector.strays) t.diagnostic(`not from the HEP sender: ${stray.bytes.length} bytes from ${stray.from} (first bytes ${stray.bytes.subarray(0, 4).toString('hex')})`)
    assert.ok(collector.frames.length >= 12, `frames: ${collector.frames.length}`)
    for (const {decoded, timestampMs, receivedAt} of collector.frames) {
      assert.equal(decoded.rcinfo.captureId, CAPTURE_ID)
      assert.equal(decoded.rcinfo.capturePass, PASSWORD)
      assert.equal(decoded.rcinfo.protocolFamily, 2)
      assert.equal(decoded.rcinfo.protocol, 17)
      assert.ok(timestampMs >= callWindow.start && timestampMs <= callWindow.end, `timestamp ${timestampMs} outside the call ${callWindow.start}..${callWindow.end}`)
      assert.ok(timestampMs <= receivedAt + 5, 'captured before it was received')
    }
  })

  it('correlates both legs under the A-leg Call-ID', () => {
    assert.notEqual(bLegCallId, '')
    assert.notEqual(bLegCallId, aLegCallId)
    const sip = collector.ofType(1)
    assert.deepEqual(new Set(sip.map((frame) => sipHeader(frame.decoded.payload, 'Call-ID'))), new Set([aLegCallId, bLegCallId]))
    for (const frame of sip) assert.equal(frame.decoded.rcinfo.correlation_id, aLegCallId, `${sipFirstWord(frame.decoded.payload)} of ${sipHeader(frame.decoded.payload, 'Call-ID')}`)
  })

  it('captures every message of each leg in order, with the real addresses and ports', () => {
    const aLeg = collector.sipWithCallId(aLegCallId)
    assert.deepEqual(ladder(aLeg), ['INVITE/INVITE', '180/INVITE', '200/INVITE', 'ACK/ACK', 'BYE/BYE', '200/BYE'])
    for (const frame of aLeg) {
      const request = !sipFirstWord(frame.decoded.payload).match(/^\d+$/)
      const {srcIp, srcPort, dstIp, dstPort} = frame.decoded.rcinfo
      // The caller sends the requests, the gateway the responses.
      assert.deepEqual([srcIp, srcPort, dstIp, dstPort], request ? ['127.0.0.1', callerPort, '127.0.0.1', gatewayPort] : ['127.0.0.1', gatewayPort, '127.0.0.1', callerPort], sipFirstWord(frame.decoded.payload))
    }
    const bLeg = collector.sipWithCallId(bLegCallId)
    assert.deepEqual(ladder(bLeg), ['INVITE/INVITE', '180/INVITE', '200/INVITE', 'ACK/ACK', 'BYE/BYE', '200/BYE'])
    for (const frame of bLeg) {
      const request = !sipFirstWord(frame.decoded.payload).match(/^\d+$/)
      const {srcIp, srcPort, dstIp, dstPort} = frame.decoded.rcinfo
      // On the B-leg the gateway is the caller.
      assert.deepEqual([srcIp, srcPort, dstIp, dstPort], request ? ['127.0.0.1', gatewayPort, '127.0.0.1', calleePort] : ['127.0.0.1', calleePort, '127.0.0.1', gatewayPort], sipFirstWord(frame.decoded.payload))
    }
    const times = collector.ofType(1).map((frame) => frame.timestampMs)
    assert.deepEqual(times, [...times].sort((x, y) => x - y), 'frames leave in capture order')
  })

  it('sends RTCP reports as HEP type 5 JSON with the same correlation id and the media addresses', () => {
    const rtcp = collector.ofType(5)
    assert.ok(rtcp.length >= 2, `RTCP frames: ${rtcp.length} (at least each stream's closing report)`)
    const ports = new Set<number>()
    for (const frame of rtcp) {
      assert.equal(frame.decoded.rcinfo.correlation_id, aLegCallId)
      const report = JSON.parse(frame.decoded.payload) as {type: number; ssrc: number; report_blocks: unknown[]; sender_information: {packets: number}}
      assert.ok(report.type === 200 || report.type === 201, `type ${report.type}`)
      assert.ok(Number.isInteger(report.ssrc))
      assert.ok(Array.isArray(report.report_blocks))
      const {srcIp, dstIp, srcPort, dstPort} = frame.decoded.rcinfo
      assert.equal(srcIp, '127.0.0.1')
      assert.equal(dstIp, '127.0.0.1')
      // Sent by the gateway: from the odd RTCP port of one of its streams (rtp.port_min..port_max).
      if ((srcPort ?? 0) >= 20_000 && (srcPort ?? 0) <= 30_000) {
        assert.equal((srcPort ?? 0) % 2, 1, `RTCP leaves from the odd port: ${srcPort}`)
        ports.add(srcPort ?? 0)
      } else {
        assert.ok((dstPort ?? 0) >= 20_000 && (dstPort ?? 0) <= 30_000, `received on a gateway port: ${dstPort}`)
      }
    }
    assert.equal(ports.size, 2, 'both legs (two streams) report')
    // Both streams carried audio, so at least one report of each is an SR.
    assert.ok(rtcp.some((frame) => (JSON.parse(frame.decoded.payload) as {type: number}).type === 200))
  })

  it('sngrep receives the same frames and tshark reads every SIP message back from its pcap, in order, with addresses and ports', async () => {
    const read = await tsharkSip(sngrep.pcap)
    const expected = collector.ofType(1).map((frame) => ({
      src: frame.decoded.rcinfo.srcIp,
      srcPort: frame.decoded.rcinfo.srcPort,
      dst: frame.decoded.rcinfo.dstIp,
      dstPort: frame.decoded.rcinfo.dstPort,
      what: sipFirstWord(frame.decoded.payload),
      callId: sipHeader(frame.decoded.payload, 'Call-ID'),
    }))
    assert.deepEqual(read.map(({src, srcPort, dst, dstPort, what, callId}) => ({src, srcPort, dst, dstPort, what, callId})), expected)
    // And tshark's own reading of the A-leg, against what SIPp and the gateway really used.
    const aLeg = read.filter((message) => message.callId === aLegCallId && message.what !== '100')
    assert.deepEqual(aLeg.map((message) => `${message.what}/${message.cseqMethod} ${message.srcPort}>${message.dstPort}`), [
      `INVITE/INVITE ${callerPort}>${gatewayPort}`,
      `180/INVITE ${gatewayPort}>${callerPort}`,
      `200/INVITE ${gatewayPort}>${callerPort}`,
      `ACK/ACK ${callerPort}>${gatewayPort}`,
      `BYE/BYE ${callerPort}>${gatewayPort}`,
      `200/BYE ${gatewayPort}>${callerPort}`,
    ])
    const bLeg = read.filter((message) => message.callId === bLegCallId && message.what !== '100')
    assert.deepEqual(bLeg.map((message) => `${message.what}/${message.cseqMethod} ${message.srcPort}>${message.dstPort}`), [
      `INVITE/INVITE ${gatewayPort}>${calleePort}`,
      `180/INVITE ${calleePort}>${gatewayPort}`,
      `200/INVITE ${calleePort}>${gatewayPort}`,
      `ACK/ACK ${gatewayPort}>${calleePort}`,
      `BYE/BYE ${gatewayPort}>${calleePort}`,
      `200/BYE ${calleePort}>${gatewayPort}`,
    ])
    // sngrep keeps the HEP capture time as the pcap time (to the microsecond).
    const sipFrames = collector.ofType(1)
    read.forEach((message, index) => assert.ok(Math.abs(message.epochMs - (sipFrames[index]?.timestampMs ?? 0)) < 0.01, `time of message ${index}`))
  })

  it('clutchcall status and hep status show capture on, switched on by the config, with the frames counted', async () => {
    const status = await gw.home.json(['status'])
    assert.equal(status.body.result.telemetry.hep.state, 'on')
    assert.equal(status.body.result.telemetry.hep.target, collector.endpoint)
    const hep = await gw.home.json(['hep', 'status'])
    assert.equal(hep.code, 0)
    const result = hep.body.result
    assert.equal(result.state, 'on')
    assert.equal(result.enabledBy, 'config')
    assert.equal(result.captureId, CAPTURE_ID)
    assert.equal(result.passwordSet, true)
    assert.equal(JSON.stringify(result).includes(PASSWORD), false, 'the password never leaves the daemon')
    assert.equal(result.timeLeftS, null)
    assert.equal(result.framesSent, collector.frames.length)
    assert.equal(result.sipFramesSent, collector.ofType(1).length)
    assert.equal(result.rtcpFramesSent, collector.ofType(5).length)
    assert.equal(result.sendErrors, 0)
    assert.equal(await gw.metric(/^clutchcall_hep_frames_sent_total\{type="sip"\} (\d+)$/m), collector.ofType(1).length)
    assert.equal(await gw.metric(/^clutchcall_hep_capture_enabled (\d+)$/m), 1)
  })
})
