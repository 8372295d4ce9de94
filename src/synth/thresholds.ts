// Whether one synthetic call met its thresholds, and in what it failed. A
// call passes when its final status is expected and, if it was answered:
// it was held until we hung up, audio came back (when held 1 s or more), and
// each direction that was measured is within --min-mos, --max-loss and
// --max-jitter. The outbound direction is measured only when the far end
// reported on our stream in RTCP; --max-pdd applies to every call.
import type {SyntheticCallResult, ThresholdFailure, Thresholds} from './types.js'

/** An answered call held at least this long must have received RTP. */
export const MEDIA_REQUIRED_AFTER_S = 1

export type MeasuredCall = Omit<SyntheticCallResult, 'passed' | 'failures'>

const fixed = (value: number, digits: number): string => value.toFixed(digits)

/** The post-dial delay a threshold compares: INVITE → first 18x, or → the final response when no 18x came. */
export const pddForThreshold = (call: MeasuredCall): number | null => call.pddMs ?? call.finalMs

export const evaluateCall = (call: MeasuredCall, thresholds: Thresholds, plannedDurationS: number, interrupted: boolean): ThresholdFailure[] => {
  const failures: ThresholdFailure[] = []
  if (!thresholds.expectStatus.includes(call.sipStatus)) {
    failures.push({threshold: 'status', message: `final status ${call.sipStatus} ${call.sipReason}, expected ${thresholds.expectStatus.join(' or ')}`})
  }
  const pdd = pddForThreshold(call)
  if (thresholds.maxPddMs !== undefined && pdd !== null && pdd > thresholds.maxPddMs) {
    failures.push({threshold: 'max-pdd', message: `post-dial delay ${fixed(pdd, 0)} ms > ${thresholds.maxPddMs} ms`})
  }
  const answered = call.sipStatus >= 200 && call.sipStatus < 300
  if (!answered) return failures
  if (interrupted) {
    failures.push({threshold: 'dropped', message: `interrupted after ${fixed(call.durationS, 1)} s of ${plannedDurationS} s`})
  } else if (call.endedBy !== 'local') {
    const who = call.endedBy === 'remote' ? 'the far end hung up' : 'the call was lost (no ACK, transport failure or a refused re-INVITE)'
    failures.push({threshold: 'dropped', message: `${who} after ${fixed(call.durationS, 1)} s of ${plannedDurationS} s`})
  }
  const inbound = call.inbound
  const noMedia = inbound === null || inbound.packetsReceived === 0
  if (noMedia && call.durationS >= MEDIA_REQUIRED_AFTER_S) {
    failures.push({threshold: 'media', message: 'no RTP received from the far end'})
  }
  const outbound = call.outbound
  const check = (threshold: ThresholdFailure['threshold'], what: string, unit: string, inValue: number | null | undefined, outValue: number | null | undefined, bad: (value: number) => boolean, limit: string): void => {
    if (inValue !== null && inValue !== undefined && !noMedia && bad(inValue)) failures.push({threshold, message: `inbound ${what} ${fixed(inValue, 2)}${unit} ${limit}`})
    if (outValue !== null && outValue !== undefined && bad(outValue)) failures.push({threshold, message: `outbound ${what} ${fixed(outValue, 2)}${unit} ${limit} (far end's RTCP)`})
  }
  const {minMos, maxLossPercent, maxJitterMs} = thresholds
  if (minMos !== undefined) check('min-mos', 'MOS', '', inbound?.mos, outbound?.mos, (value) => value < minMos, `< ${minMos}`)
  if (maxLossPercent !== undefined) check('max-loss', 'loss', ' %', inbound?.lossPercent, outbound?.lossPercent, (value) => value > maxLossPercent, `> ${maxLossPercent} %`)
  if (maxJitterMs !== undefined) check('max-jitter', 'jitter', ' ms', inbound?.jitterMs, outbound?.jitterMs, (value) => value > maxJitterMs, `> ${maxJitterMs} ms`)
  return failures
}
