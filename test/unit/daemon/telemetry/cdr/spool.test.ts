import assert from 'node:assert/strict'
import {appendFileSync, mkdtempSync, readFileSync, rmSync, utimesSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {listSegments, segmentPath} from '../../../../../src/cdr/spool-files.js'
import {CdrSpool, splitLines} from '../../../../../daemon/telemetry/cdr/spool.js'

let dir = ''
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-spool-'))
})
afterEach(() => rmSync(dir, {recursive: true, force: true}))

const line = (n: number) => `{"call_sid":"CA${String(n).padStart(32, '0')}","n":${n}}\n`

describe('CdrSpool', () => {
  it('appends lines and reads them back in batches, resuming where a batch ended', async () => {
    const spool = new CdrSpool(dir)
    spool.open()
    for (let n = 1; n <= 25; n += 1) spool.append(line(n))
    await spool.sync()
    const first = await spool.read({segment: 1, offset: 0}, 10)
    assert.deepEqual(splitLines(first.body), Array.from({length: 10}, (_, i) => line(i + 1)))
    assert.equal(first.rows, 10)
    const second = await spool.read(first.end, 100)
    assert.equal(second.rows, 15)
    assert.equal(splitLines(second.body)[0], line(11))
    assert.equal(second.end.offset, Buffer.byteLength(readFileSync(segmentPath(dir, 1))))
    assert.equal((await spool.read(second.end, 10)).rows, 0)
    assert.equal(spool.countLines({segment: 1, offset: 0}), 25)
    assert.equal(spool.countLines(first.end), 15)
    assert.equal(spool.peekLine(first.end), line(11).trimEnd())
    spool.close()
  })

  it('does not let a second sync() return before the fdatasync under way has finished', async () => {
    const spool = new CdrSpool(dir)
    spool.open()
    spool.append(line(1))
    let firstDone = false
    const first = spool.sync().then(() => (firstDone = true))
    // The journal's sync before its end records, while the writer's is in flight: it must wait for the same fdatasync.
    await spool.sync()
    assert.equal(firstDone, true)
    await first
    spool.close()
  })

  it('fsyncs a segment before rotating away from it, so sync() never misses its rows', async () => {
    const spool = new CdrSpool(dir, {segmentMaxBytes: line(1).length})
    spool.open()
    spool.append(line(1))
    const pending = spool.sync()
    // Rotates while that fdatasync may still run: the old descriptor must stay open until it is done.
    spool.append(line(2))
    await pending
    await spool.sync()
    assert.deepEqual(listSegments(dir), [1, 2])
    assert.equal(readFileSync(segmentPath(dir, 1), 'utf8'), line(1))
    assert.equal(readFileSync(segmentPath(dir, 2), 'utf8'), line(2))
    spool.close()
  })

  it('cuts off a half-written last line left by a crash, and keeps every whole line', async () => {
    const spool = new CdrSpool(dir)
    spool.open()
    spool.append(line(1) + line(2))
    spool.close()
    appendFileSync(segmentPath(dir, 1), '{"call_sid":"CA0000')
    const reopened = new CdrSpool(dir)
    reopened.open()
    assert.equal(readFileSync(segmentPath(dir, 1), 'utf8'), line(1) + line(2))
    reopened.append(line(3))
    const read = await reopened.read({segment: 1, offset: 0}, 10)
    assert.deepEqual(splitLines(read.body), [line(1), line(2), line(3)])
    reopened.close()
  })

  it('rotates by size and by UTC day, reads across segments, and removes acknowledged or expired ones', async () => {
    let now = Date.UTC(2026, 10, 25, 23, 59, 0)
    const spool = new CdrSpool(dir, {segmentMaxBytes: line(1).length * 3, now: () => now})
    spool.open()
    for (let n = 1; n <= 7; n += 1) spool.append(line(n))
    assert.deepEqual(listSegments(dir), [1, 2, 3])
    now += 120_000
    spool.append(line(8))
    assert.deepEqual(listSegments(dir), [1, 2, 3, 4], 'a new day starts a new segment')
    let position = {segment: 1, offset: 0}
    const seen: string[] = []
    for (;;) {
      const read = await spool.read(position, 2)
      if (read.rows === 0) break
      seen.push(...splitLines(read.body))
      position = read.end
    }
    assert.deepEqual(seen, Array.from({length: 8}, (_, i) => line(i + 1)))
    assert.equal(spool.removeSegmentsBefore(3), 2)
    assert.deepEqual(listSegments(dir), [3, 4])
    utimesSync(segmentPath(dir, 3), new Date(0), new Date(0))
    assert.equal(spool.removeSegmentsOlderThan(Date.now() - 86_400_000), 1)
    assert.equal(spool.removeSegmentsOlderThan(Date.now() + 86_400_000), 0, 'the active segment is never removed')
    assert.deepEqual(listSegments(dir), [4])
    spool.close()
  })

  it('reads batches larger than one read chunk, and lines split across chunks, byte for byte', async () => {
    const spool = new CdrSpool(dir)
    spool.open()
    const long = (n: number) => `{"call_sid":"CA${String(n).padStart(32, '0')}","pad":"${'x'.repeat(100 + (n % 977))}"}\n`
    const all = Array.from({length: 3000}, (_, i) => long(i))
    spool.append(all.join(''))
    const first = await spool.read({segment: 1, offset: 0}, 2500)
    assert.equal(first.rows, 2500)
    assert.equal(first.body.toString(), all.slice(0, 2500).join(''))
    const rest = await spool.read(first.end, 2500)
    assert.equal(rest.rows, 500)
    assert.equal(rest.body.toString(), all.slice(2500).join(''))
    spool.close()
  })
})
