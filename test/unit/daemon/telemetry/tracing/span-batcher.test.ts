import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {SpanBatcher, type SpanRecordExporter} from '../../../../../daemon/telemetry/tracing/span-batcher.js'
import {RecordedSpan, SpanKind, type SpanRecord} from '../../../../../daemon/telemetry/tracing/span-record.js'

const span = (index: number): SpanRecord => new RecordedSpan(`s${index}`, SpanKind.INTERNAL, undefined, false, 1000, undefined, {index}).end(1001)

/** An exporter whose batches are answered when the test says so. */
class HeldExporter implements SpanRecordExporter {
  readonly batches: Array<{readonly records: readonly SpanRecord[]; readonly done: (error: Error | undefined) => void}> = []
  shutdowns = 0
  export(records: readonly SpanRecord[], done: (error: Error | undefined) => void): void {
    this.batches.push({records, done})
  }
  shutdown(): Promise<void> {
    this.shutdowns++
    return Promise.resolve()
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('SpanBatcher', () => {
  it('sends a full batch at once and the rest when the timer fires', async () => {
    const exporter = new HeldExporter()
    const results: Array<[number, Error | undefined]> = []
    const batcher = new SpanBatcher(exporter, {everyMs: 30, maxBatch: 4}, (records, error) => results.push([records.length, error]))
    for (let index = 0; index < 6; index++) batcher.add(span(index))
    assert.deepEqual(exporter.batches.map((batch) => batch.records.map((record) => record.name)), [['s0', 's1', 's2', 's3']])
    await sleep(60)
    assert.deepEqual(exporter.batches.map((batch) => batch.records.length), [4, 2])
    exporter.batches[0]?.done(undefined)
    const refused = new Error('refused')
    exporter.batches[1]?.done(refused)
    exporter.batches[1]?.done(undefined)
    assert.deepEqual(results, [[4, undefined], [2, refused]], 'each batch answered once, with its own outcome')
    await batcher.shutdown(100)
    assert.equal(exporter.shutdowns, 1)
  })

  it('holds at most maxInFlight unanswered batches; the queue drains as answers come', async () => {
    const exporter = new HeldExporter()
    const batcher = new SpanBatcher(exporter, {everyMs: 10_000, maxBatch: 2, maxInFlight: 2}, () => undefined)
    for (let index = 0; index < 8; index++) batcher.add(span(index))
    assert.equal(exporter.batches.length, 2)
    exporter.batches[0]?.done(undefined)
    assert.equal(exporter.batches.length, 3)
    assert.deepEqual(exporter.batches[2]?.records.map((record) => record.name), ['s4', 's5'])
    for (const batch of exporter.batches.slice(1)) batch.done(undefined)
    assert.equal(exporter.batches.length, 4)
    assert.equal(batcher.dropped, 0)
  })

  it('drops and counts spans past maxQueue while the exporter does not answer; memory stays bounded', () => {
    const exporter = new HeldExporter()
    const batcher = new SpanBatcher(exporter, {everyMs: 10_000, maxBatch: 10, maxQueue: 20, maxInFlight: 1}, () => undefined)
    for (let index = 0; index < 100; index++) batcher.add(span(index))
    // One batch in flight, the queue full behind it.
    assert.equal(exporter.batches.length, 1)
    assert.equal(batcher.dropped, 100 - 10 - 20)
  })

  it('an exporter that throws fails that batch and not the caller', () => {
    const errors: Array<Error | undefined> = []
    const throwing: SpanRecordExporter = {
      export: () => {
        throw new Error('boom')
      },
      shutdown: () => Promise.resolve(),
    }
    const batcher = new SpanBatcher(throwing, {everyMs: 10_000, maxBatch: 1}, (_records, error) => errors.push(error))
    assert.doesNotThrow(() => batcher.add(span(1)))
    assert.equal(errors[0]?.message, 'boom')
  })

  it('shutdown sends what is queued and waits for the answers, but not longer than asked', async () => {
    const exporter = new HeldExporter()
    const batcher = new SpanBatcher(exporter, {everyMs: 10_000, maxBatch: 100}, () => undefined)
    batcher.add(span(1))
    const started = Date.now()
    const stopping = batcher.shutdown(5_000)
    assert.equal(exporter.batches.length, 1, 'the queued span left at once')
    setTimeout(() => exporter.batches[0]?.done(undefined), 20)
    await stopping
    assert.ok(Date.now() - started < 2_000, 'returned when answered')
    const stuck = new HeldExporter()
    const slow = new SpanBatcher(stuck, {everyMs: 10_000}, () => undefined)
    slow.add(span(2))
    const before = Date.now()
    await slow.shutdown(50)
    assert.ok(Date.now() - before < 2_000, 'an exporter that never answers does not hold the stop')
    assert.equal(stuck.shutdowns, 1)
  })
})
