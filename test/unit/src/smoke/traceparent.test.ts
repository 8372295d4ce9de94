import assert from 'node:assert/strict'
import {it} from 'node:test'
import {TRACE_ID_PATTERN} from '../../../../src/admin/protocol.js'
import {newTraceparent} from '../../../../src/smoke/smoke.js'

it("the smoke's traceparent starts a new sampled trace: version 00, random trace and span ids, flags 01", () => {
  const first = newTraceparent()
  const second = newTraceparent()
  assert.match(first.header, /^00-[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-01$/)
  assert.equal(first.header.split('-')[1], first.traceId)
  assert.match(first.traceId, TRACE_ID_PATTERN)
  assert.notEqual(first.traceId, second.traceId)
  assert.notEqual(first.header.split('-')[2], second.header.split('-')[2])
})
