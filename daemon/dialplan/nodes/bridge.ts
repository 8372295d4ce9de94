// bridge: places a B-leg through a trunk or to a SIP URI and relays media
// between the legs until one of them hangs up. Outcomes: answered (the bridge
// happened and the B-leg ended first), busy, no-answer, failed.
import type {DialplanCall} from '../call-context.js'
import type {NodeHandler} from '../executor.js'

const NORMAL_CLEARING = 16

export const bridgeNode: NodeHandler<'bridge', DialplanCall> = async (node, ctx) => {
  const {call} = ctx
  const result = await ctx.dialer.dial({
    trunk: node.trunk,
    uri: node.uri,
    to: node.to ?? call.init.to,
    from: call.init.from,
    timeoutS: node.timeout_s,
    aLeg: ctx.leg,
    callSid: call.sid,
    log: call.log,
  })
  ctx.log.info({outcome: result.outcome, cause: result.cause}, 'bridge dial finished')
  if (result.outcome !== 'answered' || !result.leg) return result.outcome === 'canceled' ? 'failed' : result.outcome
  const bLeg = result.leg
  if (call.isEnded()) {
    await bLeg.hangup(NORMAL_CLEARING)
    return 'answered'
  }
  if (!call.isAnswered) await ctx.leg.answer()
  ctx.leg.media.relayWith(bLeg.media)
  const first = await Promise.race([bLeg.ended.then(() => 'b' as const), ctx.leg.ended.then(() => 'a' as const)])
  if (first === 'a') await bLeg.hangup(NORMAL_CLEARING)
  else ctx.leg.media.silence()
  return 'answered'
}
