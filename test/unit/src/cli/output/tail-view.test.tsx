import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'
import {cleanup, render} from 'ink-testing-library'
import type {CallEvent} from '../../../../../src/calls/events.js'
import {createEventFeed} from '../../../../../src/cli/calls-state.js'
import {formatClock} from '../../../../../src/cli/output/index.js'
import {TailView} from '../../../../../src/cli/output/tail-view.js'
import {shortSid} from '../../../../../src/sid-prefix.js'
import {answer, create, hangup, quality, sid, summary, T0} from '../events.fixture.js'

const settle = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms))

/** ink redraws at most ~30 times a second: poll the last frame until it shows what is expected. */
const frameMatching = async (lastFrame: () => string | undefined, pattern: RegExp): Promise<string> => {
  for (const deadline = Date.now() + 2000; Date.now() < deadline; await settle(20)) {
    const frame = lastFrame() ?? ''
    if (pattern.test(frame)) return frame
  }
  assert.fail(`no frame matched ${pattern}; last frame:\n${lastFrame() ?? ''}`)
}

describe('TailView (ink)', () => {
  afterEach(() => cleanup())

  it('shows the calls already up and waits for events', () => {
    const feed = createEventFeed()
    const {lastFrame} = render(<TailView calls={[summary(1)]} subscribe={feed.subscribe} filter="tenant acme" now={() => T0} columns={120} />)
    const frame = lastFrame() ?? ''
    assert.match(frame, /Active calls: 1 \(tenant acme\)/)
    assert.match(frame, /sid\s+tenant\s+trunk\s+from\s+to\s+state\s+duration\s+codec\s+jitter ms\s+loss %\s+MOS/)
    assert.match(frame, /CA00000000\s+acme\s+carrier-a\s+\+14155550111\s+\+4930123456\s+answered\s+55s\s+PCMA\s+1\.5\s+0\.0\s+4\.40/)
    assert.match(frame, /Waiting for call events/)
  })

  it('adds, updates and removes rows as events arrive, with one log line each', async () => {
    const feed = createEventFeed()
    const {lastFrame} = render(<TailView calls={[]} subscribe={feed.subscribe} now={() => T0 + 10_000} columns={120} />)
    assert.match(lastFrame() ?? '', /No active calls\./)
    const events: CallEvent[] = [create(1), answer(1), quality(1)]
    for (const event of events) feed.push(event)
    let frame = await frameMatching(lastFrame, /acme\s+carrier-a\s+\+14155550100\s+\+14155550191\s+answered\s+8s\s+PCMU\s+3\.3\s+2\.0\s+4\.21/)
    assert.match(frame, /Active calls: 1/)
    assert.ok(frame.includes(`${formatClock(T0)}  CHANNEL_CREATE           ${shortSid(sid(1))}  inbound acme/carrier-a +1415`), frame)
    assert.ok(frame.includes(`${formatClock(T0 + 2000)}  CHANNEL_ANSWER           ${shortSid(sid(1))}  answered, codec PCMU`), frame)
    assert.ok(!frame.includes('CHANNEL_QUALITY'), 'quality updates the row, not the log')
    for (const line of frame.split('\n')) assert.ok(line.length <= 120, `long lines are cut, not wrapped: ${line}`)

    feed.push(hangup(1))
    frame = await frameMatching(lastFrame, /Active calls: 0/)
    assert.match(frame, /No active calls\./)
    assert.ok(frame.includes(`CHANNEL_HANGUP_COMPLETE  ${shortSid(sid(1))}  completed, cause 16`), frame)
  })

  it('at 80 columns every line fits, the short sid and MOS included', async () => {
    const feed = createEventFeed()
    const calls = [summary(1, {call_sid: 'CA9f8e7d6c0123456789abcdef01234567'})]
    const {lastFrame} = render(<TailView calls={calls} subscribe={feed.subscribe} now={() => T0} columns={80} />)
    feed.push(hangup(2))
    const frame = await frameMatching(lastFrame, /CHANNEL_HANGUP_COMPLETE/)
    for (const line of frame.split('\n')) assert.ok(line.length <= 80, `${line.length} columns: ${line}`)
    assert.match(frame, /^sid\s+tenant\s+from\s+to\s+state\s+duration\s+loss %\s+MOS$/m)
    assert.match(frame, /^CA9f8e7d6c\s+acme\s+\+14155550111\s+\+4930123456\s+answered\s+55s\s+0\.0\s+4\.40$/m)
    assert.ok(frame.includes(`CHANNEL_HANGUP_COMPLETE  ${shortSid(sid(2))}  completed, cause 16`), frame)
  })

  it('redraws durations on every tick', async () => {
    let now = T0
    const feed = createEventFeed()
    const {lastFrame} = render(<TailView calls={[summary(1, {answer_timestamp_ms: T0})]} subscribe={feed.subscribe} now={() => now} tickMs={10} />)
    assert.match(lastFrame() ?? '', /answered\s+0s/)
    now = T0 + 61_000
    await frameMatching(lastFrame, /answered\s+1m 1s/)
  })

  it('q quits', async () => {
    const feed = createEventFeed()
    const {stdin, lastFrame, frames} = render(<TailView calls={[]} subscribe={feed.subscribe} />)
    assert.match(lastFrame() ?? '', /q or Ctrl-C quits/)
    stdin.write('q')
    await settle()
    const count = frames.length
    feed.push(create(5))
    await settle()
    assert.equal(frames.length, count, 'nothing renders after quitting')
    assert.doesNotMatch(lastFrame() ?? '', /CHANNEL_CREATE/)
  })
})
