// What a dialplan node runs against: the call record, its A-leg, and the
// gateway services a node may use. Built per call by the engine.
import type {Logger} from 'pino'
import type {TransferPolicy} from '../../src/config/schema.js'
import type {Call} from '../calls/call.js'
import type {CallLeg, Dialer} from '../calls/leg.js'
import type {ExecutableCall} from './executor.js'

export interface DialplanCall extends ExecutableCall {
  readonly call: Call
  readonly leg: CallLeg
  readonly dialer: Dialer
  readonly recordingsDir: string
  readonly log: Logger
  /** The tenant's transfer policy (tenants[].transfer): where an AI agent may send the call. */
  readonly transferPolicy: TransferPolicy | undefined
  /** Lets a leg of the call take transfer requests (SIP: REFER) under the tenant's policy; legs that cannot are left alone. */
  readonly acceptTransfers: (leg: CallLeg, name: 'a' | 'b') => void
}

export interface DialplanServices {
  readonly dialer: Dialer
  readonly recordingsDir: string
  readonly transferPolicy?: TransferPolicy | undefined
  readonly acceptTransfers?: (leg: CallLeg, name: 'a' | 'b') => void
}

export const dialplanCall = (call: Call, leg: CallLeg, services: DialplanServices): DialplanCall => ({
  call,
  leg,
  dialer: services.dialer,
  recordingsDir: services.recordingsDir,
  transferPolicy: services.transferPolicy,
  acceptTransfers: services.acceptTransfers ?? (() => {}),
  log: call.log,
  ended: call.ended,
  isEnded: () => call.isEnded(),
  hangup: (cause) => call.hangup(cause),
})

/** Resolves after ms, or never when ms is undefined (the executor's race with the call's end stops the wait). */
export const waitFor = (ms: number | undefined): Promise<void> =>
  ms === undefined ? new Promise<void>(() => {}) : new Promise((resolve) => setTimeout(resolve, ms))
