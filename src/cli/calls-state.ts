// The state behind `clutchcall calls tail`'s live view: the calls up now and
// the latest events, kept by a pure reducer so it can be tested without ink.
// The view (src/cli/output/tail-view.tsx) only renders what this computes.
import type {CallEvent, CallSummary} from '../calls/events.js'

/** How many events the live view keeps (it shows as many of them as fit). */
export const TAIL_LOG_SIZE = 15

export interface TailState {
  /** Active calls by call_sid, in the order they started. */
  readonly calls: ReadonlyMap<string, CallSummary>
  /** The latest events worth a log line, oldest first, at most `logSize`. */
  readonly log: readonly CallEvent[]
  readonly logSize: number
}

export const initialTailState = (calls: readonly CallSummary[], logSize = TAIL_LOG_SIZE): TailState => ({
  calls: new Map([...calls].sort((a, b) => a.start_timestamp_ms - b.start_timestamp_ms).map((call) => [call.call_sid, call])),
  log: [],
  logSize,
})

/**
 * Applies one call event. CHANNEL_CREATE adds a call, CHANNEL_ANSWER marks it
 * answered, CHANNEL_QUALITY updates codec/jitter/loss/MOS, CHANNEL_HANGUP_COMPLETE
 * removes it. An event for a call the view does not know (it started before the
 * subscription and has ended since, or arrives out of order) leaves the table
 * alone: a late event never brings an ended call back. Quality updates arrive
 * every second per call; they refresh the table and stay out of the log.
 */
export const reduceTail = (state: TailState, event: CallEvent): TailState => {
  const calls = applyToCalls(state.calls, event)
  const log = event.type === 'CHANNEL_QUALITY' ? state.log : [...state.log, event].slice(-state.logSize)
  if (calls === state.calls && log === state.log) return state
  return {...state, calls, log}
}

const applyToCalls = (calls: ReadonlyMap<string, CallSummary>, event: CallEvent): ReadonlyMap<string, CallSummary> => {
  const known = calls.get(event.call_sid)
  switch (event.type) {
    case 'CHANNEL_CREATE': {
      if (known) return calls
      const call: CallSummary = {
        call_sid: event.call_sid,
        sip_call_id: event.sip_call_id,
        tenant_id: event.tenant_id,
        trunk_id: event.trunk_id,
        direction: event.direction,
        from_number: event.from_number,
        to_number: event.to_number,
        state: 'ringing',
        start_timestamp_ms: event.timestamp_ms,
        answer_timestamp_ms: null,
        codec: '',
        jitter_ms: 0,
        loss_ratio: 0,
        estimated_mos: null,
        node: null,
      }
      return new Map(calls).set(call.call_sid, call)
    }
    case 'CHANNEL_ANSWER':
      if (!known) return calls
      return new Map(calls).set(known.call_sid, {...known, state: 'answered', answer_timestamp_ms: known.answer_timestamp_ms ?? event.timestamp_ms, codec: event.codec || known.codec})
    case 'CHANNEL_QUALITY':
      if (!known) return calls
      return new Map(calls).set(known.call_sid, {
        ...known,
        codec: event.codec || known.codec,
        jitter_ms: event.jitter_ms,
        loss_ratio: event.loss_ratio,
        estimated_mos: event.estimated_mos,
      })
    case 'CHANNEL_HANGUP_COMPLETE': {
      if (!known) return calls
      const rest = new Map(calls)
      rest.delete(known.call_sid)
      return rest
    }
    default:
      // An event type this CLI does not know (a newer daemon): nothing to apply.
      return calls
  }
}

/**
 * Hands events from the admin connection to the view. Events pushed before the
 * view subscribes are kept and replayed to it, in order, so none is lost while
 * the view mounts.
 */
export interface EventFeed {
  push(event: CallEvent): void
  subscribe(listener: (event: CallEvent) => void): () => void
}

export const createEventFeed = (): EventFeed => {
  const pending: CallEvent[] = []
  let listener: ((event: CallEvent) => void) | undefined
  return {
    push: (event) => {
      if (listener) listener(event)
      else pending.push(event)
    },
    subscribe: (next) => {
      listener = next
      for (const event of pending.splice(0)) next(event)
      return () => {
        if (listener === next) listener = undefined
      }
    },
  }
}
