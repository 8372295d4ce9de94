// `tracing.trace` {trace_id}: the params the method table accepts, and what
// the admin server answers (invalid params, -32602) for the rest over a real socket.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import pino from 'pino'
import {createAdminHandlers} from '../../../../daemon/admin/handlers.js'
import {AdminServer} from '../../../../daemon/admin/server.js'
import type {Gateway} from '../../../../daemon/gateway.js'
import {AdminClient} from '../../../../src/admin/client.js'
import {ADMIN_METHODS, type TracingTraceResult} from '../../../../src/admin/protocol.js'
import {CCError} from '../../../../src/errors.js'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const params = ADMIN_METHODS['tracing.trace'].params

describe('tracing.trace params', () => {
  it('accepts a W3C trace id: 32 lowercase hex digits', () => {
    assert.deepEqual(params.safeParse({trace_id: TRACE_ID}).data, {trace_id: TRACE_ID})
  })

  it('refuses anything else', () => {
    for (const bad of [
      {},
      {trace_id: ''},
      {trace_id: TRACE_ID.toUpperCase()},
      {trace_id: TRACE_ID.slice(1)},
      {trace_id: `${TRACE_ID}0`},
      {trace_id: `00-${TRACE_ID}-00f067aa0ba902b7-01`},
      {trace_id: '0'.repeat(32)},
      {trace_id: 'g'.repeat(32)},
      {trace_id: 42},
      {trace_id: TRACE_ID, extra: true},
      null,
    ]) {
      assert.equal(params.safeParse(bad).success, false, JSON.stringify(bad))
    }
  })
})

describe('tracing.trace over the admin socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-'))
  const socketPath = join(dir, 'admin.sock')
  const asked: string[] = []
  const answer: TracingTraceResult = {enabled: true, endpoint: 'http://127.0.0.1:4318', state: 'exporting', exportedSpans: 5, failedSpans: 0}
  const gateway = {
    tracingTrace: (traceId: string) => {
      asked.push(traceId)
      return answer
    },
  } as unknown as Gateway
  const server = new AdminServer({socketPath, version: 'test', handlers: createAdminHandlers(gateway), onRequest: () => {}, log: pino({level: 'silent'})})
  let client: AdminClient

  before(async () => {
    await server.start()
    client = await AdminClient.connect(socketPath, {client: 'test'})
  })
  after(async () => {
    client.close()
    await server.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it("answers with the gateway's counts for the trace", async () => {
    assert.deepEqual(await client.call('tracing.trace', {trace_id: TRACE_ID}), answer)
    assert.deepEqual(asked, [TRACE_ID])
  })

  it('an invalid trace_id is the invalid-params error (-32602), and the handler is not called', async () => {
    asked.length = 0
    for (const bad of ['4BF92F3577B34DA6A3CE929D0E0E4736', 'abc', '0'.repeat(32)]) {
      const error = await client.call('tracing.trace', {trace_id: bad}).then(
        () => assert.fail(`${bad} was accepted`),
        (failure: unknown) => failure,
      )
      assert.ok(error instanceof CCError)
      assert.equal(error.code, 'CC_ERR_ADMIN_INVALID_PARAMS')
      assert.equal(error.rpcCode, -32602)
      assert.match(error.message, /^Invalid params for tracing\.trace: trace_id: must be a W3C trace id: 32 lowercase hex digits, not all zero/)
    }
    assert.deepEqual(asked, [])
  })
})
