import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'
import {cleanup, render} from 'ink-testing-library'
import {progressBar, SynthProgressView} from '../../../../../src/cli/output/synth-progress.js'
import {smokeLine, synthReportText} from '../../../../../src/cli/output/index.js'
import type {SynthProgress, SynthReport, SyntheticCallResult} from '../../../../../src/synth/types.js'
import {summarize} from '../../../../../src/synth/summary.js'

const settle = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms))

const frameMatching = async (lastFrame: () => string | undefined, pattern: RegExp): Promise<string> => {
  for (const deadline = Date.now() + 2000; Date.now() < deadline; await settle()) {
    const frame = lastFrame() ?? ''
    if (pattern.test(frame)) return frame
  }
  assert.fail(`no frame matched ${pattern}; last frame:\n${lastFrame() ?? ''}`)
}

const call: SyntheticCallResult = {
  index: 7,
  callId: 'x@127.0.0.1',
  startedAt: '2026-11-25T10:00:00.000Z',
  sipStatus: 200,
  sipReason: 'OK',
  statusSource: 'response',
  result: 'completed',
  q850Cause: 16,
  pddMs: 3,
  answerMs: 4,
  finalMs: 4,
  durationS: 5,
  endedBy: 'local',
  codec: 'PCMU',
  rttMs: 0.4,
  audioDelayMs: 0.9,
  inbound: {packetsReceived: 250, packetsExpected: 250, packetsLost: 0, lossPercent: 0, jitterMs: 0.3, mos: 4.39},
  outbound: {packetsSent: 250, source: 'rtcp', packetsLost: 0, lossPercent: 0, jitterMs: 0.2, mos: 4.39},
  passed: true,
  failures: [],
}

describe('synth call progress view (ink)', () => {
  afterEach(() => cleanup())

  it('draws the bar and the counts, and follows progress as calls end', async () => {
    let push: (progress: SynthProgress) => void = () => {}
    const subscribe = (listener: (progress: SynthProgress) => void) => {
      push = listener
      return () => {}
    }
    const initial: SynthProgress = {total: 10, started: 0, active: 0, finished: 0, passed: 0, failed: 0, elapsedMs: 0}
    const {lastFrame} = render(<SynthProgressView target="sip:echo@127.0.0.1:5060" subscribe={subscribe} initial={initial} />)
    assert.match(lastFrame() ?? '', /Calling sip:echo@127\.0\.0\.1:5060/)
    assert.match(lastFrame() ?? '', /0\/10 done · 0 up · 10 to start/)
    assert.match(lastFrame() ?? '', /No call has ended yet\./)
    push({total: 10, started: 8, active: 3, finished: 5, passed: 4, failed: 1, elapsedMs: 65_000, last: call})
    const frame = await frameMatching(lastFrame, /5\/10 done/)
    assert.match(frame, /█{15}░{15} 5\/10 done · 3 up · 2 to start · 4 passed · 1 failed/)
    assert.match(frame, /1m 5s/)
    assert.match(frame, /last: #7 pass: 200 OK, PDD 3 ms, 5\.0 s, PCMU, MOS 4\.39 in \/ 4\.39 out/)
  })

  it('the elapsed time moves on between calls', async () => {
    let clock = 1_000_000
    const initial: SynthProgress = {total: 2, started: 2, active: 2, finished: 0, passed: 0, failed: 0, elapsedMs: 100}
    const {lastFrame} = render(<SynthProgressView target="sip:x@y" subscribe={() => () => {}} initial={initial} startedAt={clock} now={() => clock} tickMs={10} />)
    assert.match(lastFrame() ?? '', /Calling sip:x@y\s+0s/)
    clock += 125_000
    await frameMatching(lastFrame, /2m 5s/)
  })

  it('bar widths', () => {
    assert.equal(progressBar(0, 4, 4), '░░░░')
    assert.equal(progressBar(2, 4, 4), '██░░')
    assert.equal(progressBar(4, 4, 4), '████')
  })
})

describe('synth and smoke text output', () => {
  it('a row per call and the summary of the run', () => {
    const report: SynthReport = {
      target: 'sip:echo@127.0.0.1:5060',
      transport: 'udp',
      localAddress: '127.0.0.1',
      settings: {durationS: 5, count: 1, concurrency: 1, rate: 10, codecs: ['PCMU', 'PCMA'], from: 'sip:synth@127.0.0.1', ringTimeoutS: 30},
      thresholds: {expectStatus: [200], minMos: 3.5},
      startedAt: '2026-11-25T10:00:00.000Z',
      summary: summarize([call], 5.2),
      calls: [call],
    }
    const text = synthReportText(report)
    assert.match(text, /│ 7 │ 200 OK │ 3\s+│ 4\s+│ 5\.0\s+│ PCMU\s+│ 250\s+│ 250\s+│ 0\.0 \/ 0\.0\s+│ 0\.3 \/ 0\.2\s+│ 0\.4\s+│ 4\.39 \/ 4\.39 │ pass\s+│/)
    assert.match(text, /Calls\s+1: 1 passed, 0 failed in 5\.2 s/)
    assert.match(text, /Thresholds\s+status 200, MOS ≥ 3\.5/)
    assert.doesNotMatch(text, /Failed:/)
  })

  it('a smoke line: the outcome and the check name padded', () => {
    assert.equal(smokeLine({name: 'cdr', outcome: 'fail', detail: 'not in the spool'}), 'FAIL  cdr      not in the spool')
    assert.equal(smokeLine({name: 'metrics', outcome: 'ok', detail: 'valid'}), 'ok    metrics  valid')
  })
})
