// The flags of `synth call` and `smoke`. Values are plain strings here and are
// checked by src/synth/options.ts, whose errors name the flag, the value and
// what it accepts (CC_ERR_USAGE, exit 2).
import {Flags} from '@oclif/core'
import {DEFAULT_CONCURRENCY, DEFAULT_DURATION_S, DEFAULT_MIN_MOS, DEFAULT_RATE, DEFAULT_RING_TIMEOUT_S, MAX_CONCURRENCY, MAX_COUNT, PASSWORD_ENV} from '../synth/options.js'

/** How each call is placed (both commands). */
export const callFlags = (defaults: {durationS: number} = {durationS: DEFAULT_DURATION_S}) => ({
  duration: Flags.string({summary: `Seconds each answered call stays up before we hang up (default ${defaults.durationS}).`, helpValue: 'SECONDS'}),
  codec: Flags.string({summary: 'Offer only this codec: PCMU or PCMA (default: both, PCMU first).', helpValue: 'CODEC'}),
  from: Flags.string({summary: 'From: a sip: URI, or a user part (a number) put on our own address (default sip:synth@<our address>).', helpValue: 'URI|USER'}),
  header: Flags.string({summary: "An extra INVITE header, 'Name: value'; repeat for several.", helpValue: 'HEADER', multiple: true}),
  user: Flags.string({summary: 'Digest username, for a target that challenges (401/407).', helpValue: 'USER'}),
  password: Flags.string({summary: `Digest password (better in $${PASSWORD_ENV}, out of ps and CI logs).`, helpValue: 'PASSWORD', env: PASSWORD_ENV}),
  'ring-timeout': Flags.string({summary: `Seconds to wait for an answer before giving up: CANCEL if it rang, else 408 (default ${DEFAULT_RING_TIMEOUT_S}).`, helpValue: 'SECONDS'}),
  'local-address': Flags.string({summary: 'Our IP address for SIP, RTP and the SDP (default: the one this host routes to the target from).', helpValue: 'ADDRESS'}),
})

/**
 * 100000 → `100,000`, without Intl: these summaries are built when the CLI
 * loads, for every command, and the first toLocaleString() initialises ICU's
 * number formatting, ~30 ms of every start (`npm run bench:status`).
 */
const withThousands = (value: number): string => String(value).replace(/\B(?=(\d{3})+$)/g, ',')

/** How many calls and how fast (`synth call` only). */
export const loadFlags = {
  count: Flags.string({summary: `Calls to place in all, 1 to ${withThousands(MAX_COUNT)} (default 1).`, helpValue: 'N'}),
  concurrency: Flags.string({summary: `Calls up at the same time, at most, 1 to ${MAX_CONCURRENCY} (default ${DEFAULT_CONCURRENCY}, or --count when lower).`, helpValue: 'N'}),
  rate: Flags.string({summary: `New calls per second, at most (default ${DEFAULT_RATE}).`, helpValue: 'PER_SECOND'}),
}

/** What a call must meet (both commands; smoke has stricter defaults). */
export const thresholdFlags = (defaults: {minMos: number; maxLoss?: number; maxJitter?: number; maxPdd?: number} = {minMos: DEFAULT_MIN_MOS}) => ({
  'expect-status': Flags.string({summary: 'Final SIP status(es) that pass, comma-separated or repeated (default 200).', helpValue: 'STATUS', multiple: true, helpGroup: 'THRESHOLD'}),
  'min-mos': Flags.string({summary: `Lowest estimated MOS in either direction (default ${defaults.minMos}; 0 for no limit).`, helpValue: 'MOS', helpGroup: 'THRESHOLD'}),
  'max-loss': Flags.string({summary: `Highest packet loss in percent in either direction (default ${defaults.maxLoss === undefined ? 'no limit' : defaults.maxLoss}).`, helpValue: 'PERCENT', helpGroup: 'THRESHOLD'}),
  'max-jitter': Flags.string({summary: `Highest interarrival jitter in ms in either direction (default ${defaults.maxJitter === undefined ? 'no limit' : defaults.maxJitter}).`, helpValue: 'MS', helpGroup: 'THRESHOLD'}),
  'max-pdd': Flags.string({summary: `Highest post-dial delay in ms, INVITE to the first 18x (or to the final response) (default ${defaults.maxPdd === undefined ? 'no limit' : defaults.maxPdd}).`, helpValue: 'MS', helpGroup: 'THRESHOLD'}),
})

export const junitFlag = {
  junit: Flags.string({summary: 'Also write a JUnit XML report to this file (one test case per call or check), pass or fail.', helpValue: 'FILE'}),
}
