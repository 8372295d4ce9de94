import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CCError} from '../../../../src/errors.js'
import {decodeFrame, encodeFrame, knownMethodIds, parseRpcParams, RPC_HEADER_BYTES, RPC_MAX_FRAME_BYTES, RPC_METHODS, rpcMethodName, RpcFrameError} from '../../../../src/rpc/protocol.js'

const header = (version: number, kind: number, methodId: number, requestId: number): Buffer => {
  const bytes = Buffer.alloc(RPC_HEADER_BYTES)
  bytes.writeUInt8(version, 0)
  bytes.writeUInt8(kind, 1)
  bytes.writeUInt32BE(methodId, 2)
  bytes.writeUInt32BE(requestId, 6)
  return bytes
}

const badFrame = (data: Uint8Array, detail: RegExp) =>
  assert.throws(
    () => decodeFrame(data),
    (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_RPC_BAD_FRAME' && detail.test(error.message),
  )

describe('SDK RPC frames', () => {
  it('round-trips every kind with the full unsigned 32-bit range of ids', () => {
    for (const kind of ['request', 'response', 'error', 'event'] as const) {
      const frame = {kind, methodId: 0xffff_ffff, requestId: 7, payload: {to: '+1555', nested: {a: [1, 2]}}}
      assert.deepEqual(decodeFrame(encodeFrame(frame)), frame)
    }
  })

  it('lays the header out big-endian as documented', () => {
    const bytes = encodeFrame({kind: 'event', methodId: 0x01020304, requestId: 0x0a0b0c0d, payload: {}})
    assert.deepEqual([...bytes.subarray(0, RPC_HEADER_BYTES)], [1, 3, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d])
    assert.equal(bytes.subarray(RPC_HEADER_BYTES).toString(), '{}')
  })

  it('takes an empty payload as {} and refuses ids that are not unsigned 32-bit', () => {
    assert.deepEqual(decodeFrame(header(1, 0, 4, 9)).payload, {})
    assert.throws(() => encodeFrame({kind: 'request', methodId: -1, requestId: 0, payload: {}}), RangeError)
    assert.throws(() => encodeFrame({kind: 'request', methodId: 1, requestId: 2 ** 32, payload: {}}), RangeError)
  })

  it('names what is wrong with a bad frame, keeping the header ids when they parsed', () => {
    badFrame(Buffer.from([1, 0, 0]), /3 bytes is shorter than the 10-byte header/)
    badFrame(header(2, 0, 1, 1), /version 2/)
    badFrame(header(1, 9, 1, 1), /unknown frame kind 9/)
    badFrame(Buffer.alloc(RPC_MAX_FRAME_BYTES + 1, 1), /limit/)
    for (const [payload, detail] of [['{not json', /not JSON/], ['[1,2]', /JSON object/], ['null', /JSON object/], ['"text"', /JSON object/]] as const) {
      const data = Buffer.concat([header(1, 0, 3, 42), Buffer.from(payload)])
      badFrame(data, detail)
      assert.throws(
        () => decodeFrame(data),
        (error: unknown) => error instanceof RpcFrameError && error.methodId === 3 && error.requestId === 42,
      )
    }
  })
})

describe('SDK RPC method table', () => {
  it('has unique ids and finds each method by its id', () => {
    const ids = Object.values(RPC_METHODS).map((method) => method.id)
    assert.equal(new Set(ids).size, ids.length)
    for (const [name, spec] of Object.entries(RPC_METHODS)) assert.equal(rpcMethodName(spec.id), name)
    assert.equal(rpcMethodName(99), undefined)
    assert.equal(knownMethodIds(), '1 call.create, 2 call.hangup, 3 call.dtmf, 4 events.subscribe')
  })

  it('applies defaults and refuses bad params naming the field', () => {
    assert.deepEqual(parseRpcParams('call.create', {to: '+1555', trunk: 'a'}), {to: '+1555', trunk: 'a', timeout_s: 30})
    assert.equal(parseRpcParams('call.hangup', {call_sid: `CA${'0'.repeat(32)}`}).cause, 16)
    const refused = (method: Parameters<typeof parseRpcParams>[0], payload: unknown, field: RegExp) =>
      assert.throws(
        () => parseRpcParams(method, payload),
        (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_RPC_INVALID_PARAMS' && field.test(error.message),
      )
    refused('call.create', {to: '+1555', timeout_s: 0}, /timeout_s/)
    refused('call.create', {to: '+1555', extra: true}, /extra|Unrecognized/)
    refused('call.create', {}, /to/)
    refused('call.hangup', {call_sid: 'CA123'}, /call_sid/)
    refused('call.dtmf', {call_sid: `CA${'a'.repeat(32)}`, digits: '12x'}, /digits/)
    refused('call.dtmf', {call_sid: `CA${'a'.repeat(32)}`, digits: '1', duration_ms: 5}, /duration_ms/)
  })
})
