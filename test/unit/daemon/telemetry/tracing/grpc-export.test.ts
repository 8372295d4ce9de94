// What the gRPC export makes of a failed Export (OTLP specification,
// "Failures" of OTLP/gRPC): which status codes are retried, RESOURCE_EXHAUSTED
// only with a google.rpc.RetryInfo, whose delay is read from the
// `grpc-status-details-bin` trailer (encoded here by protobufjs, not by us).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import * as grpc from '@grpc/grpc-js'
import {classifyGrpcFailure, GRPC_STATUS_NAMES, grpcStatusText, retryInfoDelayMs} from '../../../../../daemon/telemetry/tracing/grpc-export.js'
import {retryInfoMetadata, statusWithRetryInfo} from '../../../../helpers/grpc-status-details.js'

const serviceError = (code: grpc.status, metadata = new grpc.Metadata()) => Object.assign(new Error(`${code} ${grpc.status[code]}: x`), {code, details: 'x', metadata})

describe('gRPC export failures', () => {
  it('names the status codes as @grpc/grpc-js does', () => {
    for (const [code, name] of GRPC_STATUS_NAMES.entries()) assert.equal(grpc.status[code], name, `code ${code}`)
    assert.equal(grpcStatusText(grpc.status.UNAVAILABLE), 'UNAVAILABLE (14)')
    assert.equal(grpcStatusText(undefined), 'no gRPC status')
  })

  it('retries exactly the codes the OTLP specification calls retryable', () => {
    const retryable = ['CANCELLED', 'DEADLINE_EXCEEDED', 'ABORTED', 'OUT_OF_RANGE', 'UNAVAILABLE', 'DATA_LOSS']
    for (const [code, name] of GRPC_STATUS_NAMES.entries()) {
      if (code === grpc.status.OK) continue
      assert.equal(classifyGrpcFailure(serviceError(code)).retryable, retryable.includes(name), name)
    }
  })

  it('RESOURCE_EXHAUSTED is retried only when the collector sends RetryInfo, after the delay it asks', () => {
    assert.deepEqual(classifyGrpcFailure(serviceError(grpc.status.RESOURCE_EXHAUSTED)), {code: 8, retryable: false, retryDelayMs: undefined})
    assert.deepEqual(classifyGrpcFailure(serviceError(grpc.status.RESOURCE_EXHAUSTED, retryInfoMetadata(grpc.status.RESOURCE_EXHAUSTED, 1250))), {code: 8, retryable: true, retryDelayMs: 1250})
    // Any retryable status honours the delay too.
    assert.equal(classifyGrpcFailure(serviceError(grpc.status.UNAVAILABLE, retryInfoMetadata(grpc.status.UNAVAILABLE, 3000))).retryDelayMs, 3000)
  })

  it('reads RetryInfo delays, and nothing from bytes that are not a Status with one', () => {
    assert.equal(retryInfoDelayMs(statusWithRetryInfo(grpc.status.RESOURCE_EXHAUSTED, 0)), 0)
    assert.equal(retryInfoDelayMs(statusWithRetryInfo(grpc.status.RESOURCE_EXHAUSTED, 65_432)), 65_432)
    assert.equal(retryInfoDelayMs(Buffer.from([0x08, 0x08, 0x12, 0x01, 0x78])), undefined, 'a Status without details')
    assert.equal(retryInfoDelayMs(Buffer.from([0x1a, 0x7f, 0x00])), undefined, 'truncated')
    assert.equal(retryInfoDelayMs(Buffer.from([0xff, 0xff, 0xff])), undefined, 'garbage')
  })

  it('an error without a gRPC status (never reached the wire) is final', () => {
    assert.deepEqual(classifyGrpcFailure(new Error('Concurrent export limit reached')), {code: undefined, retryable: false, retryDelayMs: undefined})
    assert.deepEqual(classifyGrpcFailure(undefined), {code: undefined, retryable: false, retryDelayMs: undefined})
  })
})
