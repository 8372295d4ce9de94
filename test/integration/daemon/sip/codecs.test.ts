// G.722 and Opus on SIP legs against baresip's g722 (spandsp) and opus
// (libopus) modules: echo, a tone the gateway encodes, bridges that transcode
// to and from a PCMU callee, checked by what each baresip heard (its tone's
// frequency and energy, at the codec's own rate), the CDR and the metrics.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Baresip, freeSipPort, goertzel, type HeardAudio} from '../../../helpers/baresip.js'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createPcmEncoder} from '../../../../src/media/codecs.js'
import {serializeTelephoneEvent} from '../../../../src/media/telephone-event.js'
import {sleep, TestGateway as Gateway, waitFor} from '../../../helpers/gateway.js'
import {runSipp, sdpOffering, uacOfferingAndPlaying} from '../../../helpers/peers.js'
import {writeRtpPcap, type PcapRtpPacket} from '../../../helpers/rtp-pcap.js'

after(async () => {
  await Baresip.disposeAll()
})

const rms = (samples: Int16Array): number => Math.sqrt(samples.reduce((sum, sample) => sum + sample * sample, 0) / Math.max(1, samples.length))

/** The heard audio after its first second holds `frequencyHz` loud and clear over other frequencies. */
const assertTone = (heard: HeardAudio, frequencyHz: number, what: string, tail: string): void => {
  const audio = heard.samples.subarray(heard.sampleRate)
  assert.ok(audio.length >= heard.sampleRate, `${what}: ${audio.length} samples at ${heard.sampleRate} Hz after the first second\n${tail}`)
  const level = rms(audio)
  assert.ok(level > 1000, `${what}: RMS ${level.toFixed(0)}\n${tail}`)
  const atTone = goertzel(audio, frequencyHz, heard.sampleRate)
  for (const other of [300, 600, 1500, 2500, 3500].filter((candidate) => Math.abs(candidate - frequencyHz) > 150)) {
    const ratio = atTone / Math.max(1e-9, goertzel(audio, other, heard.sampleRate))
    assert.ok(ratio > 100, `${what}: ${frequencyHz} Hz vs ${other} Hz only ${ratio.toFixed(1)}×\n${tail}`)
  }
}

// Callers reach a plan by the number they dial (one inbound trunk per plan); a bridge's callee is a baresip
// account named after the number, behind an outbound trunk that speaks PCMU only.
const config = (callees: {g722: number; opus: number; dtmf: number}) => `rtp:
  codecs: [G722, opus, PCMU, PCMA]
tenants:
  - { id: echo, dialplan: echo }
  - { id: play, dialplan: play }
  - { id: bridge-g722, dialplan: bridge-g722 }
  - { id: bridge-opus, dialplan: bridge-opus }
  - { id: bridge-dtmf, dialplan: bridge-dtmf }
trunks:
  - { id: in-echo, tenant: echo, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555010*"] } }
  - { id: in-play, tenant: play, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555020*"] } }
  - { id: in-bridge-g722, tenant: bridge-g722, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777010*"] } }
  - { id: in-bridge-opus, tenant: bridge-opus, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777020*"] } }
  - { id: in-bridge-dtmf, tenant: bridge-dtmf, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777030*"] } }
  - { id: pcmu-g722, tenant: bridge-g722, codecs: [PCMU], outbound: { uri: "sip:127.0.0.1:${callees.g722}" } }
  - { id: pcmu-opus, tenant: bridge-opus, codecs: [PCMU], outbound: { uri: "sip:127.0.0.1:${callees.opus}" } }
  - { id: opus-first-dtmf, tenant: bridge-dtmf, codecs: [opus, PCMU], outbound: { uri: "sip:127.0.0.1:${callees.dtmf}" } }
dialplans:
  echo:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, next: bye }
      bye: { type: hangup, cause: 16 }
  play:
    start: answer
    nodes:
      answer: { type: answer, next: tone }
      tone: { type: play, tone: { frequency_hz: 1000, duration_ms: 4000 }, next: bye }
      bye: { type: hangup, cause: 16 }
${[['g722', 'pcmu-g722'], ['opus', 'pcmu-opus'], ['dtmf', 'opus-first-dtmf']]
  .map(
    ([leg, trunk]) => `  bridge-${leg}:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: ${trunk}, timeout_s: 5, next: { answered: bye, busy: bye, no-answer: bye, failed: bye } }
      bye: { type: hangup, cause: 16 }`,
  )
  .join('\n')}
`

/** The m= line of the gateway's answer, from baresip's SIP trace (-s). */
const answeredMedia = (phone: Baresip): string => /SIP\/2\.0 200 OK[\s\S]*?(m=audio \d+ RTP\/AVP [^\r\n]*)/.exec(phone.output)?.[1] ?? ''

describe('G.722 and Opus with baresip', () => {
  const gateway = new Gateway()
  const callees = {g722: 0, opus: 0, dtmf: 0}

  before(async () => {
    callees.g722 = await freeSipPort()
    callees.opus = await freeSipPort()
    callees.dtmf = await freeSipPort()
    await gateway.start(config(callees))
  })

  after(async () => {
    await gateway.stop()
  })

  it('echoes a baresip G.722 call: negotiated as G722/8000, its tone comes back, CDR codec G722 with a wideband MOS', async () => {
    const phone = await Baresip.start({toneHz: 440, codecs: ['G722']})
    await phone.dial(`sip:+15550100001@${gateway.sip}`)
    await phone.waitForEvent('CALL_ESTABLISHED')
    await sleep(4000)
    await phone.hangup()
    await phone.waitForEvent('CALL_CLOSED', 5_000)
    assert.match(answeredMedia(phone), /^m=audio \d+ RTP\/AVP 9 101$/, `the gateway's answer names G.722 only\n${phone.tail()}`)

    const end = await gateway.hangupOf('+15550100001')
    assert.equal(end.status, 'completed')
    assert.equal(end.codec, 'G722')
    assert.ok(end.packets_received >= 150 && end.packets_sent >= 150, `received ${end.packets_received}, echoed ${end.packets_sent}`)
    // The wideband rule (docs/codecs.md#mos): a clean G.722 call rates about 4.33, below G.711's 4.41.
    assert.ok(end.estimated_mos >= 4.2 && end.estimated_mos <= 4.34, `MOS ${end.estimated_mos}`)
    const heard = await phone.heard()
    assert.equal(heard.sampleRate, 16000, 'baresip decoded wideband audio')
    assertTone(heard, 440, 'the echo baresip heard', phone.tail())
    await phone.quit()
  })

  it('echoes a baresip Opus call: opus/48000/2 on its dynamic payload type, CDR codec opus', async () => {
    const phone = await Baresip.start({toneHz: 440, codecs: ['opus']})
    await phone.dial(`sip:+15550100002@${gateway.sip}`)
    await phone.waitForEvent('CALL_ESTABLISHED')
    await sleep(4000)
    await phone.hangup()
    await phone.waitForEvent('CALL_CLOSED', 5_000)
    assert.match(answeredMedia(phone), /^m=audio \d+ RTP\/AVP \d+( \d+)?$/, phone.tail())
    assert.match(phone.output, /a=rtpmap:\d+ opus\/48000\/2\r?\n[\s\S]*?a=fmtp:\d+ maxplaybackrate=16000;sprop-maxcapturerate=16000/, `our fmtp in the answer\n${phone.tail()}`)

    const end = await gateway.hangupOf('+15550100002')
    assert.equal(end.codec, 'opus')
    assert.ok(end.packets_received >= 150 && end.packets_sent >= 150, `received ${end.packets_received}, echoed ${end.packets_sent}`)
    assert.ok(end.packets_lost <= 2, `lost ${end.packets_lost}`)
    assertTone(await phone.heard(), 440, 'the echo baresip heard', phone.tail())
    await phone.quit()
  })

  it('plays a tone the gateway encodes, which baresip decodes: G.722 (spandsp) and Opus (libopus)', async () => {
    for (const [codec, number] of [['G722', '+15550200001'], ['opus', '+15550200002']] as const) {
      const phone = await Baresip.start({codecs: [codec]})
      await phone.dial(`sip:${number}@${gateway.sip}`)
      await phone.waitForEvent('CALL_ESTABLISHED')
      // The plan hangs up after the 4 s tone.
      await phone.waitForEvent('CALL_CLOSED', 10_000)
      const end = await gateway.hangupOf(number)
      assert.equal(end.codec, codec)
      assert.ok(end.packets_sent >= 190, `${codec}: sent ${end.packets_sent}`)
      assertTone(await phone.heard(), 1000, `the ${codec} tone`, phone.tail())
      await phone.quit()
    }
  })

  for (const [codec, number, port] of [['G.722', '+17770100001', 'g722'], ['Opus', '+17770200001', 'opus']] as const) {
    it(`bridges a caller on ${codec} to a PCMU callee, transcoding both ways: each hears the other's tone`, async () => {
      const callee = await Baresip.start({user: number, autoAnswer: true, sipPort: callees[port], toneHz: 1000, codecs: ['PCMU']})
      const caller = await Baresip.start({toneHz: 440, codecs: [port === 'g722' ? 'G722' : 'opus']})
      await caller.dial(`sip:${number}@${gateway.sip}`)
      await caller.waitForEvent('CALL_ESTABLISHED')
      await callee.waitForEvent('CALL_ESTABLISHED')
      await sleep(4000)
      await caller.hangup()
      await callee.waitForEvent('CALL_CLOSED', 5_000)
      // The B-leg offered what its trunk allows: PCMU (and telephone-event).
      assert.match(callee.output, /INVITE sip:[\s\S]*?m=audio \d+ RTP\/AVP 0 101\r?\n/, callee.tail())

      const end = await gateway.hangupOf(number)
      assert.equal(end.status, 'completed')
      assert.equal(end.codec, port === 'g722' ? 'G722' : 'opus', 'the CDR names the caller\'s codec')
      const toCallee = await callee.heard()
      assert.equal(toCallee.sampleRate, 8000)
      assertTone(toCallee, 440, `the ${codec} caller's tone at the PCMU callee`, callee.tail())
      assertTone(await caller.heard(), 1000, `the PCMU callee's tone at the ${codec} caller`, caller.tail())
      await caller.quit()
      await callee.quit()
    })
  }

  // Every tenth packet (the 6th, 16th, … so each is followed by a good one) is one the codec cannot take.
  const PACKETS = 150
  const isBad = (index: number): boolean => index % 10 === 5
  const undecodable = (codec: 'opus' | 'G722') => gateway.metric(new RegExp(`^clutchcall_rtp_payloads_undecodable_total\\{codec="${codec}"\\} (\\d+)`, 'm'))

  const playFromSipp = async (number: string, offer: string, packets: PcapRtpPacket[]): Promise<void> => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-codec-pcap-'))
    try {
      const pcap = join(dir, 'rtp.pcap')
      writeRtpPcap(pcap, packets)
      const caller = await runSipp({scenarioXml: uacOfferingAndPlaying(offer, pcap, PACKETS * 20 + 500), target: gateway.sip, service: number})
      const {code, output} = await caller.done
      assert.equal(code, 0, output)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }

  it('drops and counts Opus packets that break RFC 6716 (garbage, 120 ms, a frame over 1275 octets) from SIPp, as loss; odd fmtp is no trouble', async () => {
    const encoder = createPcmEncoder('opus', 16000)
    const bad = [Buffer.alloc(0), Buffer.from([0x4b, 0x00]), Buffer.from([0x49, 1, 2, 3]), Buffer.from([0x5f, 2, 1, 2]), Buffer.alloc(1400, 0x48)]
    const packets = Array.from({length: PACKETS}, (_, index): PcapRtpPacket => {
      const good = encoder.encode(Int16Array.from({length: 320}, (_, sample) => Math.round(6000 * Math.sin((2 * Math.PI * 440 * (index * 320 + sample)) / 16000))))
      return {payloadType: 111, payload: isBad(index) ? (bad[Math.floor(index / 10) % bad.length] as Buffer) : good, timestamp: index * 960, atMs: index * 20}
    })
    encoder.release()
    const before = await undecodable('opus')
    const offer = sdpOffering('111 101', ['a=rtpmap:111 opus/48000/2', 'a=fmtp:111 stereo=banana;;=;maxplaybackrate=-1', 'a=rtpmap:101 telephone-event/48000'])
    await playFromSipp('+15550100003', offer, packets)

    const end = await gateway.hangupOf('+15550100003')
    assert.equal(end.status, 'completed')
    assert.equal(end.codec, 'opus')
    const badCount = packets.filter((_, index) => isBad(index)).length
    assert.equal(end.packets_received, PACKETS - badCount)
    assert.equal(end.packets_lost, badCount, 'a dropped packet is a lost one to the quality figures')
    assert.ok(end.estimated_mos < 4.2, `MOS ${end.estimated_mos} with 10 % of the packets unusable`)
    await waitFor('the undecodable count', async () => ((await undecodable('opus')) - before === badCount ? true : undefined), 5_000)
  })

  it('takes G.722 garbage of every size from SIPp through a bridge to PCMU: empty and over-120-ms payloads are dropped and counted, the rest decodes to noise', async () => {
    const callee = await Baresip.start({user: '+17770100002', autoAnswer: true, sipPort: callees.g722, codecs: ['PCMU']})
    let seed = 7
    const noise = (length: number): Buffer => Buffer.from(Array.from({length}, () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) >> 16 & 0xff))
    const sizes = [160, 161, 1, 80, 960, 320]
    let timestamp = 0
    const packets = Array.from({length: PACKETS}, (_, index): PcapRtpPacket => {
      const payload = isBad(index) ? (Math.floor(index / 10) % 2 === 0 ? Buffer.alloc(0) : noise(1200)) : noise(sizes[index % sizes.length] as number)
      const packet = {payloadType: 9, payload, timestamp, atMs: index * 20}
      timestamp += payload.length
      return packet
    })
    const before = await undecodable('G722')
    await playFromSipp('+17770100002', sdpOffering('9 101', ['a=rtpmap:9 G722/8000', 'a=rtpmap:101 telephone-event/8000']), packets)
    await callee.waitForEvent('CALL_CLOSED', 5_000)

    const end = await gateway.hangupOf('+17770100002')
    assert.equal(end.status, 'completed', callee.tail())
    assert.equal(end.codec, 'G722')
    const badCount = packets.filter((_, index) => isBad(index)).length
    assert.equal(end.packets_received, PACKETS - badCount)
    await waitFor('the undecodable count', async () => ((await undecodable('G722')) - before === badCount ? true : undefined), 5_000)
    // The noise was decoded and transcoded to the callee all the same.
    const heard = await callee.heard()
    assert.ok(rms(heard.samples) > 500, `the callee heard RMS ${rms(heard.samples).toFixed(0)}\n${callee.tail()}`)
    await callee.quit()
  })

  it('keeps to an Opus caller\'s maxaveragebitrate in what it encodes for it (a tone of the play plan), and to its own rate without one', async () => {
    const silence = createPcmEncoder('opus', 16000)
    const packets = Array.from({length: PACKETS}, (_, index): PcapRtpPacket => ({payloadType: 111, payload: silence.encode(new Int16Array(320)), timestamp: index * 960, atMs: index * 20}))
    silence.release()
    const octetsPerPacket = async (number: string, fmtp: string[]): Promise<number> => {
      await playFromSipp(number, sdpOffering('111', ['a=rtpmap:111 opus/48000/2', ...fmtp]), packets)
      const end = await gateway.hangupOf(number)
      assert.equal(end.codec, 'opus')
      assert.ok(end.packets_sent >= 100, `${number}: sent ${end.packets_sent}`)
      return end.bytes_sent / end.packets_sent
    }
    const capped = await octetsPerPacket('+15550200011', ['a=fmtp:111 useinbandfec=1;maxaveragebitrate=8000'])
    const ours = await octetsPerPacket('+15550200012', ['a=fmtp:111 useinbandfec=1'])
    // 8 kbit/s is 20 octets a 20 ms packet; our own 24 kbit/s is 60.
    assert.ok(capped <= 23, `capped: ${capped.toFixed(1)} octets a packet`)
    assert.ok(ours >= 40, `uncapped: ${ours.toFixed(1)} octets a packet`)
  })

  /** A digit as a sender emits it (RFC 4733 §2.5.1): five updates 20 ms apart on one timestamp, then the end three times. */
  const digitPackets = (event: number, startIndex: number, timestamp: number, ticksPer20Ms: number, payloadType: number): PcapRtpPacket[] =>
    Array.from({length: 8}, (_, step) => ({
      payloadType,
      payload: serializeTelephoneEvent({event, end: step >= 5, volume: 10, duration: Math.min(step + 1, 5) * ticksPer20Ms}),
      timestamp,
      atMs: (startIndex + step) * 20,
    }))

  /** Audio frames with two digits in place of some of them, as SIPp's caller plays them. */
  const audioWithDigits = (frame: (index: number) => PcapRtpPacket, digits: ReadonlyArray<{event: number; at: number}>, ticksPer20Ms: number, eventPayloadType: number): PcapRtpPacket[] => {
    const packets = Array.from({length: PACKETS}, (_, index) => frame(index))
    for (const {event, at} of digits) packets.splice(at, 8, ...digitPackets(event, at, at * ticksPer20Ms, ticksPer20Ms, eventPayloadType))
    return packets
  }

  const dtmfHeard = (phone: Baresip): string[] => phone.events.filter((event) => event.type === 'CALL_DTMF_START').map((event) => String(event.param ?? ''))

  /** An Opus caller's offer with telephone-event at the Opus clock, and its audio with two digits in it (played by SIPp). */
  const OPUS_DTMF_OFFER = sdpOffering('111 101', ['a=rtpmap:111 opus/48000/2', 'a=rtpmap:101 telephone-event/48000', 'a=fmtp:101 0-16'])
  const opusWithDigits = (digits: ReadonlyArray<{event: number; at: number}>): PcapRtpPacket[] => {
    const encoder = createPcmEncoder('opus', 16000)
    const packets = audioWithDigits(
      (index) => ({payloadType: 111, payload: encoder.encode(Int16Array.from({length: 320}, (_, sample) => Math.round(6000 * Math.sin((2 * Math.PI * 440 * (index * 320 + sample)) / 16000)))), timestamp: index * 960, atMs: index * 20}),
      digits,
      960,
      101,
    )
    encoder.release()
    return packets
  }

  it('relays DTMF from an Opus caller (telephone-event/48000) to a PCMU callee (telephone-event/8000)', async () => {
    const callee = await Baresip.start({user: '+17770200009', autoAnswer: true, sipPort: callees.opus, codecs: ['PCMU']})
    await playFromSipp('+17770200009', OPUS_DTMF_OFFER, opusWithDigits([{event: 5, at: 50}, {event: 9, at: 100}]))
    await callee.waitForEvent('CALL_CLOSED', 5_000)
    assert.deepEqual(dtmfHeard(callee), ['5', '9'], `the PCMU callee's DTMF\n${callee.tail()}`)
    const end = await gateway.hangupOf('+17770200009')
    assert.equal(end.codec, 'opus')
    await callee.quit()
  })

  it('offers telephone-event at both clocks on a B-leg offered Opus first: a PCMU callee answers with the 8 kHz one and gets the Opus caller\'s DTMF', async () => {
    const callee = await Baresip.start({user: '+17770300001', autoAnswer: true, sipPort: callees.dtmf, codecs: ['PCMU']})
    await playFromSipp('+17770300001', OPUS_DTMF_OFFER, opusWithDigits([{event: 7, at: 60}]))
    await callee.waitForEvent('CALL_CLOSED', 5_000)
    assert.match(callee.output, /INVITE sip:[\s\S]*?m=audio \d+ RTP\/AVP 111 0 101 96\r?\n[\s\S]*?a=rtpmap:101 telephone-event\/48000[\s\S]*?a=rtpmap:96 telephone-event\/8000/, callee.tail())
    assert.match(callee.output, /SIP\/2\.0 200 [\s\S]*?m=audio \d+ RTP\/AVP 0 96\r?\n/, `the callee took PCMU and the 8 kHz events\n${callee.tail()}`)
    assert.deepEqual(dtmfHeard(callee), ['7'], `the PCMU callee's DTMF\n${callee.tail()}`)
    await callee.quit()
  })
})
