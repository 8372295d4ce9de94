// The flags of `synth call` and `smoke` turned into settings and thresholds.
// Every bad value is a usage error (CC_ERR_USAGE, exit 2) that names the flag,
// the value and what it accepts. Pure: no sockets, no DNS.
import {isIP} from 'node:net'
import {CCError} from '../errors.js'
import {isToken} from '../sip/grammar.js'
import {headerKey} from '../sip/headers.js'
import {formatUri, parseSipUri, type SipUri} from '../sip/uri.js'
import type {SynthCodec, SynthSettings, SynthTarget, SynthTransport, Thresholds} from './types.js'

export const SYNTH_CODECS: readonly SynthCodec[] = ['PCMU', 'PCMA']
export const DEFAULT_DURATION_S = 5
export const DEFAULT_COUNT = 1
export const DEFAULT_CONCURRENCY = 10
export const DEFAULT_RATE = 10
export const DEFAULT_RING_TIMEOUT_S = 30
export const DEFAULT_MIN_MOS = 3.5
export const MAX_COUNT = 100_000
export const MAX_CONCURRENCY = 1000
export const MAX_RATE = 1000
export const MAX_DURATION_S = 86_400
/** The environment variable the digest password may come from (kept out of `ps` and CI logs). */
export const PASSWORD_ENV = 'CLUTCHCALL_SYNTH_PASSWORD'

const usage = (flag: string, value: string, accepted: string): CCError =>
  new CCError('CC_ERR_USAGE', {detail: `--${flag} ${JSON.stringify(value)} is not valid: ${accepted}`})

/** A decimal number in [min, max]; undefined stays undefined. */
export const parseNumberFlag = (flag: string, value: string | undefined, min: number, max: number, accepted: string): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  const number = /^\d{1,9}(?:\.\d{1,6})?$/.test(text) ? Number(text) : Number.NaN
  if (!(number >= min && number <= max)) throw usage(flag, value, accepted)
  return number
}

/** A whole number in [min, max]; undefined stays undefined. */
export const parseIntegerFlag = (flag: string, value: string | undefined, min: number, max: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  const number = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN
  if (!(number >= min && number <= max)) throw usage(flag, value, `use a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`)
  return number
}

/**
 * The call target: a sip: URI (user part optional), UDP unless it says
 * `;transport=tcp`. sips: (TLS), other transports, URI headers and a password
 * in the URI are refused: the password belongs in --password or the
 * environment, where `ps` and CI logs do not show it.
 */
export const parseTarget = (input: string, flag = 'target'): SynthTarget => {
  const text = input.trim()
  if (!/^sips?:/i.test(text)) throw usage(flag, input, 'use a sip: URI such as sip:echo@127.0.0.1:5060 or sip:+14155550100@sbc.example;transport=tcp')
  let uri: SipUri
  try {
    uri = parseSipUri(text)
  } catch (error) {
    throw usage(flag, input, `not a SIP URI (${(error as Error).message})`)
  }
  if (uri.scheme === 'sips') throw usage(flag, input, 'sips: needs TLS, which the synthetic caller does not support; use sip: with UDP or ;transport=tcp')
  if (uri.password !== undefined) throw usage(flag, input, `put the digest password in --password or $${PASSWORD_ENV}, not in the URI`)
  if (uri.headers.length > 0) throw usage(flag, input, 'URI headers (?name=value) are not supported; use --header')
  const param = uri.params.get('transport')
  let transport: SynthTransport = 'udp'
  if (param !== undefined) {
    const lower = String(param).toLowerCase()
    if (lower !== 'udp' && lower !== 'tcp') throw usage(flag, input, 'the transport parameter must be udp or tcp')
    transport = lower
  }
  return {uri: formatUri(uri), transport, host: uri.host, port: uri.port ?? 5060}
}

/** Headers the user agent writes itself: --header may not set them. */
const MANAGED_HEADERS = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'contact', 'content-type', 'content-length', 'max-forwards', 'authorization', 'proxy-authorization', 'allow', 'user-agent'].map(headerKey))

/** `Name: value` (repeatable flag) → [name, value] pairs. */
export const parseHeaders = (values: readonly string[] | undefined): Array<readonly [string, string]> =>
  (values ?? []).map((raw) => {
    const colon = raw.indexOf(':')
    const name = colon === -1 ? '' : raw.slice(0, colon).trim()
    const value = colon === -1 ? '' : raw.slice(colon + 1).trim()
    if (name === '' || !isToken(name)) throw usage('header', raw, "use 'Name: value' with a header name made of letters, digits and -._!%*+`'~")
    if (/[\r\n\0]/.test(value)) throw usage('header', raw, 'the value must be one line')
    if (MANAGED_HEADERS.has(headerKey(name))) throw usage('header', raw, `${name} is written by the user agent itself; set From with --from and credentials with --user/--password`)
    return [name, value] as const
  })

/** `200`, `486`, `200,183`: final SIP statuses that pass. */
export const parseExpectStatus = (values: readonly string[] | undefined): number[] => {
  if (values === undefined || values.length === 0) return [200]
  const statuses = values.flatMap((value) => value.split(',')).map((part) => part.trim())
  return statuses.map((part) => {
    if (!/^[2-6]\d\d$/.test(part)) throw usage('expect-status', part, 'use SIP final statuses from 200 to 699, comma-separated or repeated (e.g. 200 or 486)')
    return Number(part)
  })
}

export const parseCodec = (value: string | undefined): SynthCodec | undefined => {
  if (value === undefined) return undefined
  const upper = value.trim().toUpperCase()
  if (upper !== 'PCMU' && upper !== 'PCMA') throw usage('codec', value, 'PCMU or PCMA')
  return upper
}

/** --from: a sip: URI as it is, or a user part (a number) put on our own address later. */
export const parseFrom = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^sips?:/i.test(text)) {
    try {
      return formatUri(parseSipUri(text))
    } catch (error) {
      throw usage('from', value, `not a SIP URI (${(error as Error).message})`)
    }
  }
  if (!/^[A-Za-z0-9+\-_.!~*'()&=$,;?/]+$/.test(text)) throw usage('from', value, 'use a sip: URI or a user part such as +14155550100')
  return text
}

export interface ThresholdFlags {
  readonly 'expect-status'?: readonly string[] | undefined
  readonly 'min-mos'?: string | undefined
  readonly 'max-loss'?: string | undefined
  readonly 'max-jitter'?: string | undefined
  readonly 'max-pdd'?: string | undefined
}

/** The thresholds from flags; `defaults` fill what the flags leave out (smoke has stricter ones). */
export const parseThresholds = (flags: ThresholdFlags, defaults: Partial<Omit<Thresholds, 'expectStatus'>> = {minMos: DEFAULT_MIN_MOS}): Thresholds => {
  const minMos = parseNumberFlag('min-mos', flags['min-mos'], 0, 5, 'use a MOS from 0 (no limit) to 5, e.g. 3.5') ?? defaults.minMos
  const maxLoss = parseNumberFlag('max-loss', flags['max-loss'], 0, 100, 'use a loss in percent from 0 to 100, e.g. 1 or 0.5') ?? defaults.maxLossPercent
  const maxJitter = parseNumberFlag('max-jitter', flags['max-jitter'], 0, 10_000, 'use a jitter in milliseconds from 0 to 10000, e.g. 30') ?? defaults.maxJitterMs
  const maxPdd = parseNumberFlag('max-pdd', flags['max-pdd'], 0, 600_000, 'use a post-dial delay in milliseconds from 0 to 600000, e.g. 2000') ?? defaults.maxPddMs
  return {
    expectStatus: parseExpectStatus(flags['expect-status']),
    ...(minMos === undefined || minMos === 0 ? {} : {minMos}),
    ...(maxLoss === undefined ? {} : {maxLossPercent: maxLoss}),
    ...(maxJitter === undefined ? {} : {maxJitterMs: maxJitter}),
    ...(maxPdd === undefined ? {} : {maxPddMs: maxPdd}),
  }
}

/** The thresholds in words, for the summary and the JUnit properties. */
export const describeThresholds = (thresholds: Thresholds): string =>
  [
    `status ${thresholds.expectStatus.join('|')}`,
    thresholds.minMos === undefined ? '' : `MOS ≥ ${thresholds.minMos}`,
    thresholds.maxLossPercent === undefined ? '' : `loss ≤ ${thresholds.maxLossPercent} %`,
    thresholds.maxJitterMs === undefined ? '' : `jitter ≤ ${thresholds.maxJitterMs} ms`,
    thresholds.maxPddMs === undefined ? '' : `PDD ≤ ${thresholds.maxPddMs} ms`,
  ]
    .filter(Boolean)
    .join(', ')

export interface CallFlags {
  readonly duration?: string | undefined
  readonly count?: string | undefined
  readonly concurrency?: string | undefined
  readonly rate?: string | undefined
  readonly codec?: string | undefined
  readonly from?: string | undefined
  readonly header?: readonly string[] | undefined
  readonly user?: string | undefined
  readonly password?: string | undefined
  readonly 'ring-timeout'?: string | undefined
  readonly 'local-address'?: string | undefined
}

export type CallSettings = Omit<SynthSettings, 'target' | 'count' | 'concurrency' | 'rate'>

/** How each call is placed, from the flags both commands share. */
export const parseCallSettings = (flags: CallFlags, defaults: {durationS?: number} = {}): CallSettings => {
  const durationS = parseNumberFlag('duration', flags.duration, 0, MAX_DURATION_S, `use seconds from 0 to ${MAX_DURATION_S}, e.g. 5 or 0.5`) ?? defaults.durationS ?? DEFAULT_DURATION_S
  const ringTimeoutS = parseNumberFlag('ring-timeout', flags['ring-timeout'], 1, 600, 'use seconds from 1 to 600') ?? DEFAULT_RING_TIMEOUT_S
  if ((flags.user === undefined) !== (flags.password === undefined)) {
    throw new CCError('CC_ERR_USAGE', {detail: flags.user === undefined ? `--password (or $${PASSWORD_ENV}) needs --user` : `--user needs --password (or $${PASSWORD_ENV})`})
  }
  const localAddress = flags['local-address']?.trim()
  if (localAddress !== undefined && isIP(localAddress) === 0) throw usage('local-address', localAddress, 'use an IP address of this host, e.g. 192.0.2.10')
  return {
    from: parseFrom(flags.from),
    durationS,
    codec: parseCodec(flags.codec),
    headers: parseHeaders(flags.header),
    credentials: flags.user === undefined || flags.password === undefined ? undefined : {username: flags.user, password: flags.password},
    ringTimeoutS,
    localAddress,
  }
}

/** Every setting of `synth call` from its argument and flags. */
export const parseSettings = (uri: string, flags: CallFlags, uriFlag = 'uri'): SynthSettings => {
  const target = parseTarget(uri, uriFlag)
  const count = parseIntegerFlag('count', flags.count, 1, MAX_COUNT) ?? DEFAULT_COUNT
  const concurrency = parseIntegerFlag('concurrency', flags.concurrency, 1, MAX_CONCURRENCY) ?? Math.min(count, DEFAULT_CONCURRENCY)
  const rate = parseNumberFlag('rate', flags.rate, 0.01, MAX_RATE, `use calls per second from 0.01 to ${MAX_RATE}, e.g. 10 or 0.5`) ?? DEFAULT_RATE
  return {...parseCallSettings(flags), target, count, concurrency, rate}
}
