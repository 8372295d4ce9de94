import assert from 'node:assert/strict'
import {test} from 'node:test'
import type {QUICStream} from '@matrixai/quic'
import {encodeFrame} from '../../../../src/rpc/protocol.js'
import {ToneGenerator} from '../../../../src/media/tone.js'
import {RpcStream, tonePayload} from '../../../../src/quic/rpc-client.js'
import {encodeStreamFrame} from '../../../../src/rpc/stream-frames.js'

/** A stand-in for the library's stream: what the gateway sends comes from `readable`; writes are kept. */
const fakeStream = (readable: ReadableStream<Uint8Array>): QUICStream => ({readable, writable: new WritableStream<Uint8Array>()}) as unknown as QUICStream

test('a stream reset before any reply rejects with the reset and its cause, not only "ended"', async () => {
  const reset = new Error('Peer reset the readable stream', {cause: new Error('application error 7')})
  const stream = new RpcStream(fakeStream(new ReadableStream({start: (controller) => controller.error(reset)})))
  await assert.rejects(stream.reply(2000), /ended without a reply \(0 frames; Peer reset the readable stream: application error 7\)/)
  assert.equal(stream.ended, true)
})

test('an orderly end without a reply says so with no reason; a reply before the end resolves', async () => {
  const empty = new RpcStream(fakeStream(new ReadableStream({start: (controller) => controller.close()})))
  await assert.rejects(empty.reply(2000), (error: Error) => error.message === 'the stream ended without a reply (0 frames)')
  const answered = new RpcStream(
    fakeStream(
      new ReadableStream({
        start: (controller) => {
          controller.enqueue(new Uint8Array(encodeStreamFrame(encodeFrame({kind: 'response', methodId: 2, requestId: 1, payload: {ok: true}}))))
          controller.close()
        },
      }),
    ),
  )
  assert.deepEqual(await answered.reply(2000), {kind: 'response', payload: {ok: true}})
})

test('the reason is one line of printable text, at most 300 characters, whatever the error says', async () => {
  const hostile = new Error(`closed\u001b[2J\r\n${'x'.repeat(1000)}`)
  const stream = new RpcStream(fakeStream(new ReadableStream({start: (controller) => controller.error(hostile)})))
  const error = await stream.reply(2000).then(
    () => assert.fail('resolved'),
    (rejected: Error) => rejected,
  )
  const reason = stream.endReason ?? ''
  assert.equal(reason.length, 300)
  assert.match(reason, /^closed\?\[2J\?\?x+$/)
  assert.ok(error.message.endsWith(`; ${reason})`))
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(error.message, /[\u0000-\u001f]/)
})

test('the tone table gives, for every packet, the frame a continuous 440 Hz tone generator makes for it', () => {
  const generator = new ToneGenerator({frequencyHz: 440})
  for (let packet = 0; packet < 500; packet++) {
    assert.deepEqual(Buffer.from(tonePayload(packet * 160)), generator.nextUlawFrame(), `packet ${packet}`)
  }
  // A tone, not silence or a constant: µ-law silence is 0xff/0x7f.
  assert.ok(new Set(tonePayload(0)).size > 50)
})
