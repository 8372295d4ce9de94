// bridge: places a B-leg through a trunk or to a SIP URI and relays media
// between the legs until one of them hangs up; the callee's early media is
// relayed to the caller before the answer (a 183 to the caller). Outcomes: answered (the bridge
// happened and the B-leg ended first), busy, no-answer, failed.
import type {MediaEndpoint} from '../../calls/leg.js'
import type {DialplanCall} from '../call-context.js'
import type {NodeHandler} from '../executor.js'

const NORMAL_CLEARING = 16

export const bridgeNode: NodeHandler<'bridge', DialplanCall> = async (node, ctx) => {
  const {call} = ctx
  // The callee's early media (carrier ringback, announcements) reaches the unanswered caller through a 183.
  let relayingEarly = false
  const onEarlyMedia = (bMedia: MediaEndpoint): void => {
    if (call.isAnswered || call.isEnded() || ctx.leg.earlyMedia === undefined) return
    void ctx.leg.earlyMedia().then((open) => {
      if (!open || call.isEnded()) return
      relayingEarly = true
      ctx.leg.media.relayWith(bMedia)
    })
  }
  const result = await ctx.dialer.dial({
    trunk: node.trunk,
    uri: node.uri,
    to: node.to ?? call.init.to,
    from: call.init.from,
    timeoutS: node.timeout_s,
    aLeg: ctx.leg,
    callSid: call.sid,
    log: call.log,
    onEarlyMedia,
  })
  ctx.log.info({outcome: result.outcome, cause: result.cause, early_media: relayingEarly}, 'bridge dial finished')
  if (result.outcome !== 'answered' || !result.leg) {
    // The callee's early media stops with the attempt; the caller is still unanswered.
    if (relayingEarly) ctx.leg.media.silence()
    return result.outcome === 'canceled' ? 'failed' : result.outcome
  }
  const bLeg = result.leg
  if (call.isEnded()) {
    await bLeg.hangup(NORMAL_CLEARING)
    return 'answered'
  }
  if (!call.isAnswered) await ctx.leg.answer()
  // The callee may hand the caller on (a REFER on the B-leg): the tenant's transfer policy decides.
  ctx.acceptTransfers(bLeg, 'b')
  ctx.leg.media.relayWith(bLeg.media)
  const first = await Promise.race([bLeg.ended.then(() => 'b' as const), ctx.leg.ended.then(() => 'a' as const)])
  if (first === 'a') await bLeg.hangup(NORMAL_CLEARING)
  else ctx.leg.media.silence()
  return 'answered'
}
