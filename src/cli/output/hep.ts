// `hep enable|disable|status` for a human: one key/value block.
import type {HepStatus} from '../../admin/protocol.js'
import {formatDuration, keyValues} from './format.js'

export const hepStatusBlock = (status: HepStatus): string => {
  const on = status.state === 'on'
  const pairs: Array<readonly [string, string | number]> = [
    ['State', on ? 'on' : `off${status.lastOffReason === 'ttl' ? ' (the TTL expired)' : status.lastOffReason === 'disabled' ? ' (hep disable)' : ''}`],
    ['Endpoint', on ? `${status.endpoint}${status.resolvedAddress !== null && status.resolvedAddress !== status.endpoint ? ` (${status.resolvedAddress})` : ''}` : `${status.endpoint} (when switched on without --endpoint)`],
    ['Capture id', status.captureId],
    ['Auth key', status.passwordSet ? 'set' : 'none'],
    ['RTCP', status.rtcp ? 'on (HEP type 5, JSON)' : 'off'],
  ]
  if (on) {
    pairs.push(
      ['Since', `${status.enabledAt ?? '-'} (${status.enabledBy === 'config' ? 'heplify.enabled in the config' : 'hep enable'})`],
      ['Time left', status.timeLeftS === null ? 'no TTL: until `hep disable` or a restart' : `${formatDuration(status.timeLeftS)} (off at ${status.expiresAt ?? '-'})`],
    )
  }
  pairs.push(
    ['Frames sent', `${status.framesSent} since start (${status.sipFramesSent} SIP, ${status.rtcpFramesSent} RTCP)`],
    ['Send errors', status.sendErrors],
    ['Last error', status.lastError ? `${status.lastError.at} ${status.lastError.message}` : 'none'],
  )
  return keyValues(pairs)
}
