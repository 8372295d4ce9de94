// Thresholds, the summary, the one-line description, and the JUnit report of synthetic calls.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {junitXml, xmlEscape} from '../../../../src/synth/junit.js'
import {describeCall, synthJunitSuite} from '../../../../src/synth/report.js'
import {distribution, summarize} from '../../../../src/synth/summary.js'
import {evaluateCall, type MeasuredCall} from '../../../../src/synth/thresholds.js'
import type {SynthReport, SyntheticCallResult, Thresholds} from '../../../../src/synth/types.js'
import {findAll, parseXml} from '../../../helpers/xml.js'

const answered: MeasuredCall = {
  index: 1,
  callId: 'abc@127.0.0.1',
  startedAt: '2026-11-25T10:00:00.000Z',
  sipStatus: 200,
  sipReason: 'OK',
  statusSource: 'response',
  result: 'completed',
  q850Cause: 16,
  pddMs: 12.5,
  answerMs: 20,
  finalMs: 20,
  durationS: 5,
  endedBy: 'local',
  codec: 'PCMU',
  rttMs: 1.2,
  audioDelayMs: 1.5,
  inbound: {packetsReceived: 250, packetsExpected: 250, packetsLost: 0, lossPercent: 0, jitterMs: 0.4, mos: 4.39},
  outbound: {packetsSent: 250, source: 'rtcp', packetsLost: 0, lossPercent: 0, jitterMs: 0.5, mos: 4.39},
}

const busy: MeasuredCall = {...answered, index: 2, sipStatus: 486, sipReason: 'Busy Here', result: 'busy', q850Cause: 17, answerMs: null, finalMs: 30, pddMs: null, durationS: 0, endedBy: null, codec: null, rttMs: null, audioDelayMs: null, inbound: null, outbound: null}

const thresholds: Thresholds = {expectStatus: [200], minMos: 4, maxLossPercent: 1, maxJitterMs: 20, maxPddMs: 100}
const names = (call: MeasuredCall, limits = thresholds, interrupted = false) => evaluateCall(call, limits, 5, interrupted).map((failure) => failure.threshold)
const finished = (call: MeasuredCall, limits = thresholds): SyntheticCallResult => {
  const failures = evaluateCall(call, limits, 5, false)
  return {...call, failures, passed: failures.length === 0}
}

describe('thresholds', () => {
  it('a clean answered call passes', () => assert.deepEqual(names(answered), []))

  it('each measure fails in the direction that missed it', () => {
    const poor = {...answered, inbound: {...answered.inbound!, mos: 3.2, lossPercent: 5}, outbound: {...answered.outbound!, jitterMs: 45}}
    const failures = evaluateCall(poor, thresholds, 5, false)
    assert.deepEqual(failures.map((failure) => failure.threshold), ['min-mos', 'max-loss', 'max-jitter'])
    assert.equal(failures[0]?.message, 'inbound MOS 3.20 < 4')
    assert.equal(failures[1]?.message, 'inbound loss 5.00 % > 1 %')
    assert.equal(failures[2]?.message, "outbound jitter 45.00 ms > 20 ms (far end's RTCP)")
  })

  it('an unknown outbound direction (no RTCP from the far end) is no failure', () => {
    assert.deepEqual(names({...answered, outbound: {packetsSent: 250, source: 'none', packetsLost: null, lossPercent: null, jitterMs: null, mos: null}}), [])
  })

  it('status, PDD (to the final response when nothing rang), no media, a dropped or interrupted call', () => {
    assert.deepEqual(names(busy), ['status'])
    assert.equal(evaluateCall(busy, thresholds, 5, false)[0]?.message, 'final status 486 Busy Here, expected 200')
    assert.deepEqual(names(busy, {...thresholds, expectStatus: [486]}), [])
    assert.deepEqual(names({...busy, finalMs: 150}, {...thresholds, expectStatus: [486]}), ['max-pdd'])
    assert.deepEqual(names({...answered, pddMs: 101}), ['max-pdd'])
    assert.deepEqual(names({...answered, inbound: {...answered.inbound!, packetsReceived: 0, packetsExpected: 0, mos: 0}}), ['media'])
    assert.deepEqual(names({...answered, endedBy: 'remote', durationS: 2}), ['dropped'])
    assert.match(evaluateCall({...answered, endedBy: 'remote', durationS: 2}, thresholds, 5, false)[0]?.message ?? '', /^the far end hung up after 2\.0 s of 5 s$/)
    assert.deepEqual(names(answered, thresholds, true), ['dropped'])
  })
})

describe('summary', () => {
  it('distributions over the calls that have the measure (nearest-rank percentiles)', () => {
    assert.deepEqual(distribution([3, 1, null, 2, undefined, 4]), {count: 4, min: 1, mean: 2.5, p50: 2, p95: 4, max: 4})
    assert.deepEqual(distribution([]), {count: 0, min: null, mean: null, p50: null, p95: null, max: null})
  })

  it('counts statuses and results, passed and failed', () => {
    const summary = summarize([finished(answered), finished(busy)], 6.5)
    assert.equal(summary.calls, 2)
    assert.equal(summary.passed, 1)
    assert.equal(summary.failed, 1)
    assert.deepEqual(summary.statuses, {200: 1, 486: 1})
    assert.deepEqual(summary.results, {completed: 1, busy: 1})
    assert.equal(summary.mosInbound.count, 1)
    assert.equal(summary.pddMs.count, 1)
  })
})

describe('reports', () => {
  it('one line per call', () => {
    assert.equal(describeCall(finished(answered)), '200 OK, PDD 13 ms, 5.0 s, PCMU, MOS 4.39 in / 4.39 out, loss 0.0 / 0.0 %, jitter 0.4 / 0.5 ms, RTT 1.2 ms')
    assert.equal(describeCall(finished({...answered, rttMs: null, outbound: {packetsSent: 250, source: 'none', packetsLost: null, lossPercent: null, jitterMs: null, mos: null}})), '200 OK, PDD 13 ms, 5.0 s, PCMU, MOS 4.39 in / - out, loss 0.0 / - %, jitter 0.4 / - ms, RTT 1.5 ms (audio)')
    assert.equal(describeCall(finished(busy)), '486 Busy Here, PDD 30 ms')
  })

  it('escapes what XML cannot carry as is', () => {
    assert.equal(xmlEscape(`<a & "b" 'c'>`), '&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;')
    assert.equal(xmlEscape('bell\u0007 nul\u0000'), 'bell\uFFFD nul\uFFFD')
  })

  it('JUnit: well-formed, one test case per call, the failure naming the threshold', () => {
    const calls = [finished(answered), finished({...busy, sipReason: 'Busy <Here> & "gone"\u0001'})]
    const report: SynthReport = {
      target: 'sip:echo@127.0.0.1:5060',
      transport: 'udp',
      localAddress: '127.0.0.1',
      settings: {durationS: 5, count: 2, concurrency: 2, rate: 10, codecs: ['PCMU', 'PCMA'], from: 'sip:synth@127.0.0.1', ringTimeoutS: 30},
      thresholds,
      startedAt: '2026-11-25T10:00:00.000Z',
      summary: summarize(calls, 6.5),
      calls,
    }
    const root = parseXml(junitXml(synthJunitSuite(report)))
    assert.equal(root.name, 'testsuites')
    assert.equal(root.attributes.tests, '2')
    assert.equal(root.attributes.failures, '1')
    const [suite] = findAll(root, 'testsuite')
    assert.equal(suite?.attributes.name, 'clutchcall synth call sip:echo@127.0.0.1:5060')
    assert.equal(suite?.attributes.timestamp, '2026-11-25T10:00:00')
    assert.equal(findAll(root, 'property').find((property) => property.attributes.name === 'thresholds')?.attributes.value, 'status 200, MOS ≥ 4, loss ≤ 1 %, jitter ≤ 20 ms, PDD ≤ 100 ms')
    const cases = findAll(root, 'testcase')
    assert.deepEqual(cases.map((test) => test.attributes.name), ['call 1 (abc@127.0.0.1)', 'call 2 (abc@127.0.0.1)'])
    assert.equal(cases[0]?.attributes.time, '5.020')
    assert.equal(findAll(cases[0] as never, 'failure').length, 0)
    const [failure] = findAll(cases[1] as never, 'failure')
    assert.equal(failure?.attributes.type, 'status')
    assert.equal(failure?.attributes.message, 'final status 486 Busy <Here> & "gone"\uFFFD, expected 200')
    assert.match(findAll(cases[1] as never, 'system-out')[0]?.text ?? '', /^486 Busy <Here>/)
  })
})
