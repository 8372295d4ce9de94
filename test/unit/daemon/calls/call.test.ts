import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import pino from 'pino'
import type {CallEvent} from '../../../../src/calls/events.js'
import {CALL_SID_PATTERN, CDR_COLUMNS} from '../../../../src/cdr/record.js'
import {Call, type MediaQuality} from '../../../../daemon/calls/call.js'
import {CallRegistry} from '../../../../daemon/calls/registry.js'

const silent = pino({level: 'silent'})
const init = {tenant: 'acme', trunk: 'carrier-a', direction: 'inbound' as const, from: '+14155550100', to: '+14155550199', sipCallId: 'abc@host'}
const quality: MediaQuality = {codec: 'PCMU', packetsSent: 500, packetsReceived: 490, packetsLost: 10, bytesSent: 86_000, lossRatio: 0.02, jitterMs: 3.14159, rttMs: 12, estimatedMos: 4.2345}

const recordEvents = (registry: CallRegistry): CallEvent[] => {
  const events: CallEvent[] = []
  registry.on('event', (event) => events.push(event))
  return events
}

describe('Call', () => {
  it('publishes create, answer, quality and hangup-complete in order, carrying every CDR field', async () => {
    const registry = new CallRegistry()
    const events = recordEvents(registry)
    const call = new Call(init, registry, silent)
    assert.match(call.sid, CALL_SID_PATTERN)
    assert.equal(registry.activeCount, 1)
    call.answered('PCMU')
    call.qualityUpdate(quality)
    call.finish({cause: 16, status: 'completed'}, quality)
    const record = await call.ended
    assert.deepEqual(events.map((event) => event.type), ['CHANNEL_CREATE', 'CHANNEL_ANSWER', 'CHANNEL_QUALITY', 'CHANNEL_HANGUP_COMPLETE'])
    const hangup = events[3]
    assert.ok(hangup?.type === 'CHANNEL_HANGUP_COMPLETE')
    for (const column of CDR_COLUMNS) assert.ok(column in hangup, `CHANNEL_HANGUP_COMPLETE carries ${column}`)
    assert.equal(hangup.call_sid, call.sid)
    assert.equal(record.status, 'completed')
    assert.equal(record.codec, 'PCMU')
    assert.equal(record.packets_lost, 10)
    assert.equal(record.jitter_ms, 3.142)
    assert.equal(record.estimated_mos, 4.23)
    assert.ok(record.answer_timestamp_ms !== null && record.answer_timestamp_ms >= record.start_timestamp_ms)
    assert.ok(record.end_timestamp_ms >= (record.answer_timestamp_ms ?? 0))
    assert.equal(registry.activeCount, 0)
  })

  it('an unanswered call keeps the status its transport gives and lasts 0 s', async () => {
    const registry = new CallRegistry()
    const call = new Call(init, registry, silent)
    call.finish({cause: 17, status: 'busy'})
    const record = await call.ended
    assert.equal(record.status, 'busy')
    assert.equal(record.q850_cause, 17)
    assert.equal(record.duration_seconds, 0)
    assert.equal(record.answer_timestamp_ms, null)
  })

  it('before its first packet a call reports no MOS (null), live and final alike; the CDR stores that none as 0', async () => {
    const registry = new CallRegistry()
    const events = recordEvents(registry)
    const call = new Call(init, registry, silent)
    call.answered('PCMU')
    // What a stream reports before any packet arrived: the E-model of nothing lost would say 4.4.
    const silentStream: MediaQuality = {...quality, packetsSent: 50, packetsReceived: 0, packetsLost: 0, lossRatio: 0, jitterMs: 0, estimatedMos: 4.41}
    call.qualityUpdate(silentStream)
    assert.equal(call.summary().estimated_mos, null, 'calls list')
    const live = events.find((event) => event.type === 'CHANNEL_QUALITY')
    assert.ok(live?.type === 'CHANNEL_QUALITY')
    assert.equal(live.estimated_mos, null, 'CHANNEL_QUALITY')
    call.qualityUpdate({...silentStream, packetsReceived: 10})
    assert.equal(call.summary().estimated_mos, 4.41, 'rated once a packet arrived')
    call.finish({cause: 16, status: 'completed'}, silentStream)
    const record = await call.ended
    assert.equal(record.estimated_mos, 0)
    assert.equal(record.jitter_ms, 0)
  })

  it('an unanswered call has no codec in its CDR and events, even when its stream reported one while ringing', async () => {
    const registry = new CallRegistry()
    const events = recordEvents(registry)
    const call = new Call(init, registry, silent)
    const ringing: MediaQuality = {...quality, codec: 'PCMA', packetsSent: 0, packetsReceived: 3, packetsLost: 0}
    call.qualityUpdate(ringing)
    assert.equal(call.summary().codec, '', 'calls list shows no codec while ringing')
    const live = events.find((event) => event.type === 'CHANNEL_QUALITY')
    assert.equal(live?.type === 'CHANNEL_QUALITY' && live.codec, 'PCMA', 'the quality report names its packets\' encoding')
    // Packets after the last report: one more report with their encoding, then the end.
    call.finish({cause: 127, status: 'canceled'}, {...ringing, packetsReceived: 7})
    const record = await call.ended
    assert.equal(record.codec, '')
    assert.equal(record.packets_received, 7)
    assert.deepEqual(events.map((event) => event.type), ['CHANNEL_CREATE', 'CHANNEL_QUALITY', 'CHANNEL_QUALITY', 'CHANNEL_HANGUP_COMPLETE'])
    const last = events[2]
    assert.equal(last?.type === 'CHANNEL_QUALITY' && last.packets_received, 7)
  })

  it('an answered call is completed whatever cause ends it', async () => {
    const registry = new CallRegistry()
    const call = new Call(init, registry, silent)
    call.answered('PCMA')
    call.finish({cause: 41, status: 'failed'})
    assert.equal((await call.ended).status, 'completed')
    assert.equal((await call.ended).q850_cause, 41)
  })

  it('hangup goes through the transport, and ends the call even if the transport does not', async () => {
    Call.hangupGraceMs = 20
    const registry = new CallRegistry()
    const call = new Call(init, registry, silent)
    const causes: number[] = []
    call.onHangupRequest(async (cause) => {
      causes.push(cause)
    })
    await call.hangup(21)
    assert.deepEqual(causes, [21])
    assert.equal(call.isEnded(), true)
    assert.equal((await call.ended).q850_cause, 21)
    assert.equal((await call.ended).status, 'canceled')
  })

  it('hangup returns once the call has ended, without waiting for the transport (a BYE to a peer that is gone)', async () => {
    Call.hangupGraceMs = 60_000
    const registry = new CallRegistry()
    const call = new Call(init, registry, silent)
    call.answered('PCMU')
    // The leg ends the call at once, but its BYE's answer never comes.
    call.onHangupRequest((cause) => {
      call.finish({cause, status: 'completed'})
      return new Promise<void>(() => {})
    })
    const began = Date.now()
    await call.hangup(16)
    assert.ok(Date.now() - began < 1000, `hangup took ${Date.now() - began} ms`)
    assert.equal((await call.ended).status, 'completed')
  })

  it('a transport that fails to end the call does not fail the hangup: the call still ends after the grace', async () => {
    Call.hangupGraceMs = 20
    const registry = new CallRegistry()
    const call = new Call(init, registry, silent)
    call.onHangupRequest(async () => {
      throw new Error('socket closed')
    })
    await call.hangup(16)
    assert.equal(call.isEnded(), true)
    assert.equal(registry.activeCount, 0)
  })

  it('finish is idempotent and events after the end are ignored', async () => {
    const registry = new CallRegistry()
    const events = recordEvents(registry)
    const call = new Call(init, registry, silent)
    call.finish({cause: 16, status: 'failed'})
    call.finish({cause: 17, status: 'busy'})
    call.qualityUpdate(quality)
    call.answered('PCMU')
    assert.deepEqual(events.map((event) => event.type), ['CHANNEL_CREATE', 'CHANNEL_HANGUP_COMPLETE'])
    assert.equal((await call.ended).q850_cause, 16)
  })
})
