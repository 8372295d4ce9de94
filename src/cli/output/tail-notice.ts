// What `calls tail --reconnect` says on stderr when its stream is cut, while
// it cannot reconnect, and when it follows again: a sentence for a person, or
// (with --json) one JSON object per line. The objects carry `diagnostic`, never
// `type`, so even a merged 2>&1 stream cannot be mistaken for call events.
import {RECONNECT_MAX_DELAY_MS, type TailNotice} from '../follow-calls.js'

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

/** The notice as one line of text, without the newline. */
export const tailNoticeText = (notice: TailNotice): string => {
  switch (notice.kind) {
    case 'cut':
      return `Event stream cut (${notice.reason.code}): ${notice.reason.message}. Events may have been missed (calls that ended meanwhile are in \`clutchcall cdr query\`); reconnecting in ${seconds(notice.retryInMs)}.`
    case 'unavailable': {
      const until = notice.giveUpAfterS === undefined ? 'for as long as it takes' : `for up to ${notice.giveUpAfterS} s`
      return `Cannot reconnect yet (${notice.reason.code}): ${notice.reason.message}. Retrying, at most ${seconds(RECONNECT_MAX_DELAY_MS)} apart, ${until}.`
    }
    case 'resumed':
      return `Reconnected to the daemon (pid ${notice.pid}) after ${seconds(notice.downMs)} and ${notice.attempts} attempt${notice.attempts === 1 ? '' : 's'}; following again, ${notice.activeCalls} call${notice.activeCalls === 1 ? '' : 's'} up now.`
  }
}

/** The notice as the JSON object of `--json` mode. */
export const tailNoticeJson = (notice: TailNotice): Record<string, unknown> => {
  const common = {message: tailNoticeText(notice), timestamp_ms: notice.atMs}
  switch (notice.kind) {
    case 'cut':
      return {diagnostic: 'stream_cut', ...common, error: notice.reason.toJSON(), events_may_be_missed: true, retry_in_ms: notice.retryInMs}
    case 'unavailable':
      return {diagnostic: 'daemon_unavailable', ...common, error: notice.reason.toJSON(), retry_max_interval_ms: RECONNECT_MAX_DELAY_MS, give_up_after_s: notice.giveUpAfterS ?? null}
    case 'resumed':
      return {diagnostic: 'stream_resumed', ...common, pid: notice.pid, active_calls: notice.activeCalls, attempts: notice.attempts, down_ms: notice.downMs}
  }
}

/** The stderr line of a notice, newline included. */
export const tailNoticeLine = (notice: TailNotice, json: boolean): string => `${json ? JSON.stringify(tailNoticeJson(notice)) : tailNoticeText(notice)}\n`
