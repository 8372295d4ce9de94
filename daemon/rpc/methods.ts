// The SDK methods of one client session (src/rpc/protocol.ts has the table).
// A client sees only its own tenant: another tenant's call is answered like a
// call that does not exist, so call_sids cannot be probed across tenants.
import type {CallEvent} from '../../src/calls/events.js'
import {CCError} from '../../src/errors.js'
import type {CallRegistry} from '../calls/registry.js'
import type {RpcTransport} from './activity.js'
import type {ClientAudio, ClientAudioLeg} from './client-audio.js'
import {placeSdkCall, type SdkCallServices} from './sdk-call.js'
import type {RpcHandlers} from './session.js'

export interface SessionMethods {
  readonly handlers: RpcHandlers
  /** The client went away: its subscriptions end and its calls are hung up. */
  close(cause: number): Promise<void>
}

const notFound = (callSid: string) => new CCError('CC_ERR_CALL_NOT_FOUND', {call_sid: callSid})

export const createSessionMethods = (services: SdkCallServices, tenant: string, audio: ClientAudio, transport: RpcTransport): SessionMethods => {
  const calls: CallRegistry = services.calls
  /** The calls this session placed, with the client leg that carries their audio. */
  const own = new Map<string, ClientAudioLeg>()
  const subscriptions = new Set<(event: CallEvent) => void>()

  const tenantCall = (callSid: string) => {
    const call = calls.get(callSid)
    if (!call || call.summary().tenant_id !== tenant) throw notFound(callSid)
    return call
  }

  const handlers: RpcHandlers = {
    'call.create': async (params, context) => {
      const {call, leg} = await placeSdkCall(params, {tenant, carrier: context.carrier, audio, transport}, services)
      context.concerns(call.sid)
      own.set(call.sid, leg)
      void call.ended.then(() => own.delete(call.sid))
      return {call_sid: call.sid}
    },
    'call.hangup': async (params, context) => {
      context.concerns(params.call_sid)
      await tenantCall(params.call_sid).hangup(params.cause)
      return {call_sid: params.call_sid}
    },
    'call.dtmf': async (params, context) => {
      context.concerns(params.call_sid)
      tenantCall(params.call_sid)
      // The digits go out on the client's own audio leg, so only the session that placed the call can send them.
      const leg = own.get(params.call_sid)
      if (!leg) throw notFound(params.call_sid)
      await leg.sendDtmf(params.digits, params.duration_ms)
      return {call_sid: params.call_sid, digits: params.digits}
    },
    'events.subscribe': async (params, context) => {
      if (params.call_sid !== undefined) {
        context.concerns(params.call_sid)
        tenantCall(params.call_sid)
      }
      const unsubscribe = (): void => {
        calls.off('event', listener)
        subscriptions.delete(listener)
      }
      const listener = (event: CallEvent): void => {
        if (event.tenant_id !== tenant || (params.call_sid !== undefined && event.call_sid !== params.call_sid)) return
        // A client that can no longer get the events (its channel or stream is gone) is no longer subscribed.
        if (!context.sendEvent({...event})) unsubscribe()
      }
      subscriptions.add(listener)
      calls.on('event', listener)
      void context.replyClosed?.then(unsubscribe)
      return {subscribed: true, ...(params.call_sid === undefined ? {} : {call_sid: params.call_sid})}
    },
  }

  return {
    handlers,
    async close(cause) {
      for (const listener of subscriptions) calls.off('event', listener)
      subscriptions.clear()
      await Promise.all([...own.keys()].map((sid) => calls.get(sid)?.hangup(cause)))
    },
  }
}
