// The shapes of the synthetic caller (`clutchcall synth call`, `clutchcall
// smoke`): what to call and how, the thresholds a call must meet, and what is
// measured per call and over a run. Everything here is plain data: it goes
// into the --json envelope and the JUnit report as it is.
import type {CallStatus} from '../sip/q850.js'

export type SynthCodec = 'PCMU' | 'PCMA'
export type SynthTransport = 'udp' | 'tcp'

/** What to call, parsed and checked (src/synth/options.ts). */
export interface SynthTarget {
  /** The Request-URI as given (minus any password, which is refused). */
  readonly uri: string
  readonly transport: SynthTransport
  readonly host: string
  readonly port: number
}

export interface SynthSettings {
  readonly target: SynthTarget
  /** From URI; default `sip:synth@<local address>`. */
  readonly from?: string | undefined
  /** Seconds each answered call stays up before we send BYE. */
  readonly durationS: number
  readonly count: number
  /** Calls up at the same time, at most. */
  readonly concurrency: number
  /** New calls per second, at most. */
  readonly rate: number
  /** Offer only this codec; both (PCMU first) when absent. */
  readonly codec?: SynthCodec | undefined
  /** Extra INVITE headers, checked (no header the user agent manages). */
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly credentials?: {readonly username: string; readonly password: string} | undefined
  /** Seconds to wait for a final response before we CANCEL. */
  readonly ringTimeoutS: number
  /** Our address for SIP, RTP and the SDP; default the one the system routes to the target from. */
  readonly localAddress?: string | undefined
}

export interface Thresholds {
  /** Final SIP statuses that pass; default [200]. */
  readonly expectStatus: readonly number[]
  /** Lowest MOS in either measured direction. */
  readonly minMos?: number | undefined
  /** Highest loss, percent, in either measured direction. */
  readonly maxLossPercent?: number | undefined
  /** Highest interarrival jitter, ms, in either measured direction. */
  readonly maxJitterMs?: number | undefined
  /** Highest post-dial delay, ms: INVITE → first 18x (→ the final response when no 18x came). */
  readonly maxPddMs?: number | undefined
}

/** The threshold names, as flags spell them; `status` stands for --expect-status, `media` and `dropped` are always checked. */
export type ThresholdName = 'status' | 'min-mos' | 'max-loss' | 'max-jitter' | 'max-pdd' | 'media' | 'dropped'

export interface ThresholdFailure {
  readonly threshold: ThresholdName
  readonly message: string
}

/** What we received: our own RFC 3550 receiver statistics of the far end's stream (the echo, when it echoes). */
export interface InboundQuality {
  readonly packetsReceived: number
  readonly packetsExpected: number
  readonly packetsLost: number
  readonly lossPercent: number
  readonly jitterMs: number
  /** G.107 estimate (src/media/quality.ts); 0 when nothing was received. */
  readonly mos: number
}

/**
 * What the far end received of our stream, from the report block about our
 * SSRC in its last RTCP SR/RR. All null when the far end sent no report about
 * us (SIPp's RTP echo sends no RTCP; a call shorter than the far end's first
 * report interval, without a final report, has none either).
 */
export interface OutboundQuality {
  readonly packetsSent: number
  readonly source: 'rtcp' | 'none'
  readonly packetsLost: number | null
  readonly lossPercent: number | null
  readonly jitterMs: number | null
  readonly mos: number | null
}

export interface SyntheticCallResult {
  /** 1-based, in the order the calls were started. */
  readonly index: number
  readonly callId: string
  readonly startedAt: string
  /** Final SIP status: the response's, or the one standing for what happened here (408 no response, 503 transport error, 487 cancelled after --ring-timeout). */
  readonly sipStatus: number
  readonly sipReason: string
  /** `response`, `timeout`, `transport-error` or `cancel` (our CANCEL after --ring-timeout). */
  readonly statusSource: string
  /** DESIGN §5 final status. */
  readonly result: CallStatus
  readonly q850Cause: number
  /** INVITE → first 18x, ms; null when none came. */
  readonly pddMs: number | null
  /** INVITE → 2xx, ms; null when not answered. */
  readonly answerMs: number | null
  /** INVITE → the final response (or the local failure), ms. */
  readonly finalMs: number | null
  /** Answer → end of the call, seconds; 0 when not answered. */
  readonly durationS: number
  /** Who ended an answered call: we (after --duration), the far end, or the SIP stack; null when not answered. */
  readonly endedBy: 'local' | 'remote' | 'stack' | null
  readonly codec: string | null
  /** Round trip from RTCP (RFC 3550 §6.4.1: our SR, the far end's LSR/DLSR); null when not measured. */
  readonly rttMs: number | null
  /** Round trip of the test signal itself: the tone bursts we send, heard back; null when no echo of them was recognised. */
  readonly audioDelayMs: number | null
  readonly inbound: InboundQuality | null
  readonly outbound: OutboundQuality | null
  readonly passed: boolean
  readonly failures: readonly ThresholdFailure[]
}

export interface Distribution {
  readonly count: number
  readonly min: number | null
  readonly mean: number | null
  readonly p50: number | null
  readonly p95: number | null
  readonly max: number | null
}

export interface SynthSummary {
  readonly calls: number
  readonly passed: number
  readonly failed: number
  /** Calls per DESIGN §5 final status. */
  readonly results: Readonly<Record<string, number>>
  /** Calls per final SIP status code. */
  readonly statuses: Readonly<Record<string, number>>
  readonly pddMs: Distribution
  readonly answerMs: Distribution
  readonly mosInbound: Distribution
  readonly mosOutbound: Distribution
  readonly lossPercentInbound: Distribution
  readonly lossPercentOutbound: Distribution
  readonly jitterMsInbound: Distribution
  readonly jitterMsOutbound: Distribution
  readonly rttMs: Distribution
  /** Wall time of the whole run, seconds. */
  readonly elapsedS: number
  /** How late this process's event loop ran during the run (p99 and max, ms): the measured jitter and RTT include it. */
  readonly loopDelayMs: {readonly p99: number; readonly max: number}
}

export interface SynthReport {
  readonly target: string
  readonly transport: SynthTransport
  readonly localAddress: string
  readonly settings: {
    readonly durationS: number
    readonly count: number
    readonly concurrency: number
    readonly rate: number
    readonly codecs: readonly SynthCodec[]
    readonly from: string
    readonly ringTimeoutS: number
  }
  readonly thresholds: Thresholds
  readonly startedAt: string
  readonly summary: SynthSummary
  readonly calls: readonly SyntheticCallResult[]
}

/** Live counts for the progress view. */
export interface SynthProgress {
  readonly total: number
  readonly started: number
  readonly active: number
  readonly finished: number
  readonly passed: number
  readonly failed: number
  readonly elapsedMs: number
  readonly last?: SyntheticCallResult | undefined
}
