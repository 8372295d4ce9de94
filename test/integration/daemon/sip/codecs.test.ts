// G.722 and Opus on SIP legs against baresip's g722 (spandsp) and opus
// (libopus) modules: echo, a tone the gateway encodes, bridges that transcode
// to and from a PCMU callee, checked by what each baresip heard (its tone's
// frequency and energy, at the codec's own rate), the CDR and the metrics.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Baresip, freeSipPort, goertzel, type HeardAudio} from '../../../helpers/baresip.js'
import {sleep, TestGateway as Gateway} from '../../../helpers/gateway.js'

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

// Callers reach a plan by the number they dial; the callees of the bridges answer as baresip accounts named after their number.
const config = (callees: {g722ToPcmu: number; opusToPcmu: number}) => `rtp:
  codecs: [G722, opus, PCMU, PCMA]
trunks:
  - id: to-pcmu-g722
    tenant: default
    codecs: [PCMU]
    outbound: { uri: "sip:127.0.0.1:${callees.g722ToPcmu}" }
  - id: to-pcmu-opus
    tenant: default
    codecs: [PCMU]
    outbound: { uri: "sip:127.0.0.1:${callees.opusToPcmu}" }
dialplans:
  default:
    start: route
    nodes:
      route: { type: answer, next: echo }
      echo: { type: echo, next: bye }
      bye: { type: hangup, cause: 16 }
`

describe('G.722 and Opus with baresip', () => {
  const gateway = new Gateway()
  const callees = {g722ToPcmu: 0, opusToPcmu: 0}

  before(async () => {
    callees.g722ToPcmu = await freeSipPort()
    callees.opusToPcmu = await freeSipPort()
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
    assert.match(phone.output, /m=audio \d+ RTP\/AVP 9 101\r?\n/, `the gateway's answer names G.722 only\n${phone.tail()}`)

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
})
