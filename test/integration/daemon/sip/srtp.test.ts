// SRTP with SDES keys (RFC 4568) through a real daemon, with baresip's
// `srtp` module (libsrtp underneath) as the peer: baresip offering
// RTP/SAVP (`srtp-mand`) to an echo dialplan hears its own tone back, so both
// directions decrypt; baresip's best-effort offer (`srtp`, RTP/AVP with
// crypto lines) gets SRTP on an `optional` trunk and plain RTP on a `none`
// one; a `required` trunk refuses a plain offer with 488; a plain SIPp caller
// is bridged to a baresip that requires SRTP (RTP on one leg, SRTP on the
// other); SRTP with its keys carried over TLS, both directions; SRTP
// packets whose tag a relay corrupts are dropped, counted as lost, and lower
// the call's MOS; and a peer whose key the relay swapped in the SDP gets
// every packet dropped and counted.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Baresip, freeSipPort, goertzel} from '../../../helpers/baresip.js'
import {sleep, TestGateway as Gateway} from '../../../helpers/gateway.js'
import {LossyRelay} from '../../../helpers/lossy-relay.js'
import {runSipp, uacExpectingRefusal, uacWithAudio} from '../../../helpers/peers.js'
import {makeTestCertificates} from '../../../helpers/tls-certs.js'

after(async () => {
  await Baresip.disposeAll()
})

const config = (calleePort: number) => `tenants:
  - { id: acme, dialplan: default }
  - { id: bridge, dialplan: to-baresip }
trunks:
  - { id: srtp-in, tenant: acme, media_encryption: required, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555*"] } }
  - { id: optional-in, tenant: acme, media_encryption: optional, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1666*"] } }
  - { id: plain-in, tenant: acme, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1888*"] } }
  - { id: bridge-in, tenant: bridge, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777*"] } }
  - { id: srtp-out, tenant: bridge, media_encryption: required, outbound: { uri: "sip:127.0.0.1:${calleePort}" } }
dialplans:
  to-baresip:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: srtp-out, timeout_s: 5, next: { answered: bye, failed: failed } }
      failed: { type: hangup, cause: 41 }
      bye: { type: hangup, cause: 16 }
`

/** What baresip heard in its last call, after the first second: loud, at its own tone. */
const assertHeardTone = async (phone: Baresip, toneHz: number): Promise<void> => {
  const heard = (await phone.heardAudio()).subarray(8000)
  assert.ok(heard.length >= 2 * 8000, `baresip decoded ${heard.length} samples after the first second`)
  const rms = Math.sqrt(heard.reduce((sum, sample) => sum + sample * sample, 0) / heard.length)
  assert.ok(rms > 2000, `RMS of the echo ${rms.toFixed(0)}\n${phone.tail()}`)
  for (const other of [300, 600, 1500]) assert.ok(goertzel(heard, toneHz) > 100 * goertzel(heard, other), `${toneHz} Hz vs ${other} Hz in the echo`)
}

describe('SRTP with baresip', () => {
  const gateway = new Gateway()
  let calleePort = 0

  before(async () => {
    calleePort = await freeSipPort()
    await gateway.start(config(calleePort))
  })

  after(async () => {
    await gateway.stop()
  })

  it('answers an RTP/SAVP offer on a required trunk with SRTP: baresip hears its own tone echoed, both ways decrypted', async () => {
    const phone = await Baresip.start({mediaenc: 'srtp-mand', toneHz: 440})
    await phone.dial(`sip:+15550000001@${gateway.sip}`)
    await phone.waitForEvent('CALL_ESTABLISHED')
    await sleep(4000)
    await phone.hangup()
    await phone.waitForEvent('CALL_CLOSED', 5_000)
    const end = await gateway.hangupOf('+15550000001')
    assert.equal(end.status, 'completed', phone.tail())
    assert.equal(end.trunk_id, 'srtp-in')
    assert.ok(end.packets_received >= 150, `received ${end.packets_received}`)
    assert.ok(end.packets_lost <= 2, `lost ${end.packets_lost}`)
    assert.ok(end.estimated_mos >= 4, `MOS ${end.estimated_mos}`)
    // The gateway's answer, in baresip's trace: RTP/SAVP with one crypto line of the offered suite.
    assert.match(phone.output, /SIP\/2\.0 200 OK[^#]*?m=audio \d+ RTP\/SAVP [^#]*?a=crypto:\d+ AES_CM_128_HMAC_SHA1_(80|32) inline:[A-Za-z0-9+/]{40}/, phone.tail())
    await assertHeardTone(phone, 440)
    await phone.quit()
    // libsrtp's SRTP all passed our checks (baresip's plain RTCP before and after its SRTP would count as packet="rtcp").
    assert.equal(await gateway.metric(/^clutchcall_srtp_packets_dropped_total\{packet="rtp"\} (\d+)/m), 0)
  })

  it('turns SRTP on for a best-effort offer on an optional trunk, and leaves it off on a none trunk', async () => {
    for (const [number, trunk, srtp] of [['+16660000001', 'optional-in', true], ['+18880000001', 'plain-in', false]] as const) {
      const phone = await Baresip.start({mediaenc: 'srtp', toneHz: 1000})
      await phone.dial(`sip:${number}@${gateway.sip}`)
      await phone.waitForEvent('CALL_ESTABLISHED')
      await sleep(4000)
      await phone.hangup()
      await phone.waitForEvent('CALL_CLOSED', 5_000)
      const end = await gateway.hangupOf(number)
      assert.equal(end.trunk_id, trunk)
      assert.equal(end.status, 'completed')
      const answer = /SIP\/2\.0 200 OK[^#]*?(m=audio[^#]*)/.exec(phone.output)?.[1] ?? ''
      assert.match(answer, /m=audio \d+ RTP\/AVP /, phone.tail())
      assert.equal(/a=crypto:/.test(answer), srtp, `crypto in the answer on ${trunk}\n${answer}`)
      await assertHeardTone(phone, 1000)
      await phone.quit()
    }
  })

  it('refuses a plain RTP offer on a required trunk with 488', async () => {
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(488), target: gateway.sip, service: '+15550000002', timeoutS: 10})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    assert.equal(await gateway.metric(/^clutchcall_call_attempts_refused_total\{tenant="acme",trunk="srtp-in",reason="no_common_codec"\} (\d+)/m), 1)
  })

  it('bridges a plain RTP caller to a baresip requiring SRTP: RTP on the A-leg, SRTP on the B-leg, audio both ways', async () => {
    const phone = await Baresip.start({user: '+17770000001', autoAnswer: true, sipPort: calleePort, mediaenc: 'srtp-mand', toneHz: 1000})
    const caller = await runSipp({scenarioXml: uacWithAudio(), target: gateway.sip, service: '+17770000001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, `${output}\n${phone.tail()}`)
    await phone.waitForEvent('CALL_CLOSED', 5_000)
    const end = await gateway.hangupOf('+17770000001')
    assert.equal(end.status, 'completed', phone.tail())
    assert.ok(end.packets_sent >= 200, `baresip's SRTP audio decrypted and relayed to SIPp as RTP: ${end.packets_sent}`)
    // Our offer to baresip, in its trace: RTP/SAVP with a line per suite.
    assert.match(phone.output, /INVITE sip:\+17770000001@[^#]*?m=audio \d+ RTP\/SAVP [^#]*?a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[^#]*?a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:/, phone.tail())
    const heard = await phone.heardAudio()
    assert.ok(heard.length >= 5 * 8000, `baresip decoded ${heard.length} samples`)
    const rms = Math.sqrt(heard.reduce((sum, sample) => sum + sample * sample, 0) / heard.length)
    assert.ok(rms > 100, `RMS of what baresip heard through the bridge ${rms.toFixed(0)}`)
    await phone.quit()
  })
})

describe('SRTP packets with a bad tag', () => {
  const gateway = new Gateway()

  before(async () => {
    await gateway.start(config(await freeSipPort()))
  })

  after(async () => {
    await gateway.stop()
  })

  it('are dropped, count as lost, and lower the MOS, while the call goes on', async () => {
    const [, port] = gateway.sip.split(':')
    // One in ten of baresip's SRTP packets reaches the gateway with a corrupted tag.
    const relay = await LossyRelay.start({address: '127.0.0.1', port: Number(port)}, {dropShare: 0, delayShare: 0, maxDelayMs: 0, corruptShare: 0.1, seed: 7})
    try {
      const phone = await Baresip.start({mediaenc: 'srtp-mand'})
      await phone.dial(`sip:+15550000009@127.0.0.1:${relay.sipPort}`)
      await phone.waitForEvent('CALL_ESTABLISHED')
      await sleep(5000)
      await phone.hangup()
      await phone.waitForEvent('CALL_CLOSED', 5_000)
      const end = await gateway.hangupOf('+15550000009')
      assert.equal(end.status, 'completed')
      const corrupted = relay.toCallee.rtpCorrupted
      assert.ok(corrupted >= 10, `the relay corrupted ${corrupted} packets`)
      // Each corrupted packet fails its tag and is lost to the receiver's statistics (a few may be the last of the call).
      assert.ok(end.packets_lost >= corrupted - 3 && end.packets_lost <= corrupted, `lost ${end.packets_lost}, corrupted ${corrupted}`)
      assert.ok(end.estimated_mos < 4.2, `MOS ${end.estimated_mos} with ${((100 * end.packets_lost) / (end.packets_received + end.packets_lost)).toFixed(1)} % loss`)
      // The refusals are counted as such, not only as loss.
      const dropped = await gateway.metric(/^clutchcall_srtp_packets_dropped_total\{packet="rtp"\} (\d+)/m)
      assert.ok(dropped >= corrupted - 3 && dropped <= corrupted, `clutchcall_srtp_packets_dropped_total ${dropped}, corrupted ${corrupted}`)
      await phone.quit()
    } finally {
      relay.close()
    }
  })
})

describe('SRTP from a peer whose key the gateway does not have', () => {
  const gateway = new Gateway()

  before(async () => {
    await gateway.start(config(await freeSipPort()))
  })

  after(async () => {
    await gateway.stop()
  })

  it('drops every packet of it and counts them: the CDR shows no audio received, the call itself still completes', async () => {
    const [, port] = gateway.sip.split(':')
    // The relay hands the gateway other keys than the ones baresip encrypts with.
    const relay = await LossyRelay.start({address: '127.0.0.1', port: Number(port)}, {dropShare: 0, delayShare: 0, maxDelayMs: 0, swapOfferKeys: true})
    try {
      const phone = await Baresip.start({mediaenc: 'srtp-mand'})
      await phone.dial(`sip:+15550000010@127.0.0.1:${relay.sipPort}`)
      await phone.waitForEvent('CALL_ESTABLISHED')
      await sleep(3000)
      await phone.hangup()
      await phone.waitForEvent('CALL_CLOSED', 5_000)
      const end = await gateway.hangupOf('+15550000010')
      assert.equal(end.status, 'completed')
      const forwarded = relay.toCallee.rtpForwarded
      assert.ok(forwarded >= 100, `baresip sent ${forwarded} packets`)
      assert.equal(end.packets_received, 0, 'not one packet passed its tag')
      const dropped = await gateway.metric(/^clutchcall_srtp_packets_dropped_total\{packet="rtp"\} (\d+)/m)
      assert.ok(dropped >= forwarded - 3 && dropped <= forwarded, `clutchcall_srtp_packets_dropped_total ${dropped}, sent ${forwarded}`)
      await phone.quit()
    } finally {
      relay.close()
    }
  })
})

describe('SRTP with its keys over TLS, both directions', () => {
  const gateway = new Gateway()
  const certs = makeTestCertificates()
  let calleePort = 0

  before(async () => {
    calleePort = await freeSipPort()
    await gateway.start(
      `tenants:
  - { id: acme, dialplan: default }
  - { id: bridge, dialplan: out }
trunks:
  - { id: tls-in, tenant: acme, media_encryption: required, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1999*"] } }
  - { id: bridge-in, tenant: bridge, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777*"] } }
  - id: tls-out
    tenant: bridge
    media_encryption: required
    outbound: { uri: "sip:127.0.0.1:${calleePort + 1};transport=tls", tls: { ca: ${certs.ca} } }
dialplans:
  out:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: tls-out, timeout_s: 5, next: { answered: bye, failed: failed } }
      failed: { type: hangup, cause: 41 }
      bye: { type: hangup, cause: 16 }
`,
      {},
      `    - { transport: tls, address: 127.0.0.1, port: 0 }\n  tls: { cert: ${certs.server.cert}, key: ${certs.server.key} }\n`,
    )
  })

  after(async () => {
    await gateway.stop()
    certs.remove()
  })

  it('baresip calls over TLS with srtp-mand: answered with SRTP, its tone echoed back', async () => {
    const phone = await Baresip.start({mediaenc: 'srtp-mand', toneHz: 440, tls: {pem: certs.client.pem, ca: certs.ca}})
    await phone.dial(`sip:+19990000001@${gateway.sipAddress('tls')};transport=tls`)
    await phone.waitForEvent('CALL_ESTABLISHED')
    await sleep(4000)
    await phone.hangup()
    await phone.waitForEvent('CALL_CLOSED', 5_000)
    const end = await gateway.hangupOf('+19990000001')
    assert.equal(end.trunk_id, 'tls-in')
    assert.equal(end.status, 'completed', phone.tail())
    assert.match(phone.output, /Via: SIP\/2\.0\/TLS [^#]*?m=audio \d+ RTP\/SAVP /, phone.tail())
    assert.match(phone.output, /SIP\/2\.0 200 OK[^#]*?a=crypto:\d+ AES_CM_128_HMAC_SHA1_(80|32) inline:/, phone.tail())
    await assertHeardTone(phone, 440)
    await phone.quit()
  })

  it('the gateway calls baresip over TLS with SRTP through a trunk, bridged to a plain RTP caller', async () => {
    const phone = await Baresip.start({user: '+17770000002', autoAnswer: true, sipPort: calleePort, mediaenc: 'srtp-mand', tls: {pem: certs.server.pem, ca: certs.ca}})
    const caller = await runSipp({scenarioXml: uacWithAudio(), target: gateway.sip, service: '+17770000002'})
    const {code, output} = await caller.done
    assert.equal(code, 0, `${output}\n${phone.tail()}`)
    await phone.waitForEvent('CALL_CLOSED', 5_000)
    const end = await gateway.hangupOf('+17770000002')
    assert.equal(end.status, 'completed', phone.tail())
    assert.ok(end.packets_sent >= 200, `baresip's SRTP audio relayed to SIPp: ${end.packets_sent}`)
    assert.match(phone.output, /INVITE sip:\+17770000002@127\.0\.0\.1:\d+;transport=tls SIP\/2\.0[^#]*?m=audio \d+ RTP\/SAVP [^#]*?a=crypto:1 AES_CM_128_HMAC_SHA1_80 /, phone.tail())
    const heard = await phone.heardAudio()
    const rms = Math.sqrt(heard.reduce((sum, sample) => sum + sample * sample, 0) / heard.length)
    assert.ok(heard.length >= 5 * 8000 && rms > 100, `baresip decoded ${heard.length} samples, RMS ${rms.toFixed(0)}`)
    await phone.quit()
  })
})
