// transfer: hands the caller to another destination with a REFER on the
// A-leg (RFC 3515): the caller's side (a carrier, a PBX) places the new call
// and the gateway drops out. A call not answered yet is answered first (a
// REFER needs a dialog). Outcomes: `transferred` (the target answered; the
// gateway has ended its call with a BYE) and `failed` (the REFER was refused,
// the new call failed, or no final word came within timeout_s). The
// destination is the operator's own, so the tenant's transfer policy is not
// consulted (an agent's request is: agent.ts).
import type {DialplanCall} from '../call-context.js'
import type {NodeHandler} from '../executor.js'
import type {LegTransferResult, TransferTargetSpec} from '../../calls/leg.js'

const NORMAL_CLEARING = 16

/**
 * Transfers the call's A-leg to `target` and reports it (CHANNEL_TRANSFER);
 * on success ends the call with normal clearing. Shared by the transfer node
 * and the agent stream's `transfer` message.
 */
export const transferCall = async (ctx: DialplanCall, target: TransferTargetSpec, timeoutS: number, report: (result: LegTransferResult) => void = () => {}): Promise<LegTransferResult> => {
  const {call, leg} = ctx
  const targetText = 'uri' in target ? target.uri : target.number
  if (leg.transfer === undefined) {
    const result = {ok: false, status: 501, reason: 'Leg Cannot Transfer', target: targetText}
    call.transferEvent({refer: 'sent', leg: 'a', target: targetText, result: 'failed', sip_status: 501, reason: result.reason})
    report(result)
    return result
  }
  if (!call.isAnswered) await leg.answer()
  const result = await leg.transfer(target, {timeoutMs: timeoutS * 1000})
  if (call.isEnded()) return result
  call.transferEvent({refer: 'sent', leg: 'a', target: result.target, result: result.ok ? 'completed' : 'failed', sip_status: result.status, reason: result.reason})
  // Told before the hangup, which ends whatever asked (an agent's stream closes with the call).
  report(result)
  if (result.ok) await call.hangup(NORMAL_CLEARING)
  return result
}

export const transferNode: NodeHandler<'transfer', DialplanCall> = async (node, ctx) => {
  const target: TransferTargetSpec = node.uri !== undefined ? {uri: node.uri} : {number: node.to ?? ''}
  const result = await transferCall(ctx, target, node.timeout_s)
  return result.ok ? 'transferred' : 'failed'
}
