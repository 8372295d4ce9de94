// The admin protocol: JSON-RPC 2.0, one object per line, over the Unix socket
// in the home directory. This table is the single definition of every method,
// its params (validated by the daemon) and its result type (trusted by the CLI).
import {isIP} from 'node:net'
import * as z from 'zod/mini'
import type {CallEvent, CallSummary} from '../calls/events.js'
import {CALL_SID_PATTERN} from '../cdr/record.js'
import type {TracingCollectorSource, TracingOffReason, TracingProtocol, TracingProtocolSource} from '../config/tracing.js'
import {checkHepEndpoint, HEP_CAPTURE_ID_MAX, HEP_PASSWORD_MAX_LENGTH, HEP_TTL_MAX_S} from '../hep/params.js'

/** Bumped whenever a method's params or result change incompatibly. */
export const ADMIN_PROTOCOL_VERSION = 1

export interface Listener {
  /** What listens: `admin`, `metrics`, `sip`, `rtp`, … */
  readonly name: string
  readonly transport: 'unix' | 'tcp' | 'udp' | 'tls' | 'http'
  /** The address as bound (a wildcard stays `0.0.0.0` / `::`); the socket path for `unix`; the configured address of the RTP range. */
  readonly address: string
  readonly port?: number
  /** The last port of a range (RTP). */
  readonly portEnd?: number
  /** HTTP listeners: the URL to use from this host (loopback for a wildcard bind). */
  readonly url?: string
}

export interface TelemetryStreamState {
  readonly enabled: boolean
  /** Where the stream goes: a URL, `host:port`, or the local store. */
  readonly target: string | null
  /** One word an operator can alert on: `off`, `serving`, `configured`, … */
  readonly state: string
}

/** Tracing says why it is off, or which setting named its collector (docs/telemetry-defaults.md). */
export interface TracingStreamState extends TelemetryStreamState {
  /** `no-collector`, `disabled` (tracing.enabled: false) or `sdk-disabled` (OTEL_SDK_DISABLED=true); null when on. */
  readonly reason: TracingOffReason | null
  /** `tracing.endpoint`, `tracing.enabled`, `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; null when off. */
  readonly configuredBy: TracingCollectorSource | null
  /** `http/protobuf` or `grpc`; null when off (absent from a daemon that predates it). */
  readonly protocol?: TracingProtocol | null
  /** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL` or `tracing.protocol`; null for the default, or when off. */
  readonly protocolSetBy?: TracingProtocolSource | null
}

/** The QUIC listener of SDK clients (docs/quic.md), when quic.enabled. */
export interface QuicStatus {
  /** The bound address, `host:port` (UDP). */
  readonly listen: string
  readonly alpn: string
  /** WebTransport over HTTP/3 (quic.webtransport.enabled): its UDP address and the URL a page opens (append `?access_token=<JWT>`). */
  readonly webtransport: {readonly listen: string; readonly url: string} | null
  /** Connections now, and those of them with a session (session.open succeeded). */
  readonly connections: number
  readonly sessions: number
  readonly certificate: {
    /** SHA-256 of the DER certificate, colon-separated upper-case hex: what clients pin. */
    readonly sha256: string
    /** `configured` (quic.cert) or `generated` (self-signed in the home, renewed before it ends). */
    readonly source: 'configured' | 'generated'
    readonly notAfter: string
    readonly path: string
  }
}

export interface DaemonStatus {
  readonly pid: number
  readonly version: string
  readonly protocol: number
  /** The Node.js version the daemon runs on. */
  readonly node: string
  /** This gateway's name in a fleet (node.name, default the host name; docs/fleet.md). */
  readonly nodeName: string
  readonly startedAt: string
  readonly uptimeSeconds: number
  readonly home: string
  readonly configFile: string | null
  /** When the config was last reloaded (`config reload`, SIGHUP), ISO-8601; null when never since the start. */
  readonly configReloadedAt: string | null
  readonly draining: boolean
  readonly listeners: readonly Listener[]
  readonly calls: {readonly active: number}
  /**
   * SIP load and abuse control: transactions held now (ClutchCall's own state per request), sources
   * banned now, whether new INVITEs are refused for overload; what a load balancer's health probe
   * (OPTIONS) gets (`serving`: 200; `draining`, `overloaded`, `full`: 503) and whether a new INVITE
   * would be taken now (during a drain's grace it is, though probes get 503).
   */
  readonly sip: {
    readonly transactions: number
    readonly bannedSources: number
    readonly overloaded: boolean
    readonly health: 'serving' | 'draining' | 'overloaded' | 'full'
    readonly takingCalls: boolean
    /** With sip.tls: the certificate the TLS listeners present (subject, expiry as ISO 8601) and whether they require client certificates. */
    readonly tls?: {readonly subject: string; readonly validTo: string; readonly verifyClient: boolean}
  }
  /** null when quic.enabled is off. */
  readonly quic: QuicStatus | null
  readonly telemetry: {
    readonly metrics: TelemetryStreamState
    readonly tracing: TracingStreamState
    readonly cdr: TelemetryStreamState
    readonly hep: TelemetryStreamState
  }
}

export interface HelloResult {
  readonly protocol: number
  readonly version: string
  readonly pid: number
}

export interface StopResult {
  readonly pid: number
  readonly activeCalls: number
  readonly timeoutMs: number
  /**
   * How long new INVITEs are still taken while health probes already get 503 (sip.drain_grace_s,
   * applied only while a balancer probes the gateway, never beyond the timeout); 0: refused at once.
   */
  readonly graceMs: number
}

/** What `config reload` (and SIGHUP) did: the file was valid, and these changes are in force or wait for a restart. */
export interface ConfigReloadResult {
  /** The file read (the one the daemon started with); null on the built-in defaults. */
  readonly file: string | null
  readonly reloadedAt: string
  /** Changed keys in force for the calls that start from now on (tenants, trunks, dialplans, security, sip.drain_grace_s). */
  readonly applied: readonly string[]
  /** Changed keys that keep their running value until a restart (listeners, ports, sockets, telemetry, node.name, …). */
  readonly restartRequired: readonly string[]
  /** Calls up during the reload: each finishes on the config it started with. */
  readonly activeCalls: number
}

export interface CallsSubscribeResult {
  /** The calls up at the moment of subscribing; `calls.event` notifications follow on this connection. */
  readonly calls: readonly CallSummary[]
}

/** The CDR pipeline of DESIGN §8 as `clutchcall cdr status` shows it. */
export interface CdrStatus {
  readonly enabled: boolean
  /** `clickhouse`: the spool feeds a server; `embedded`: the spool is the store (queried with chDB). */
  readonly store: 'clickhouse' | 'embedded' | 'off'
  /** The ClickHouse URL and table, or the spool directory. */
  readonly target: string | null
  readonly spoolDir: string
  readonly spool: {readonly segments: number; readonly bytes: number}
  /** Rows in the spool that ClickHouse has not acknowledged (always 0 for the embedded store). */
  readonly pendingRows: number
  /** End time (ISO-8601) of the oldest pending call, null when nothing is pending. */
  readonly oldestPendingAt: string | null
  readonly lastSuccessAt: string | null
  readonly lastError: {readonly at: string; readonly code: string; readonly message: string} | null
  /** When the next retry after a failure is due. */
  readonly nextRetryAt: string | null
  /** Rows acknowledged by ClickHouse (or stored) since the daemon started. */
  readonly rowsWritten: number
  readonly batchesWritten: number
  readonly failedAttempts: number
  /** How a retried batch is kept from being inserted twice (docs/cdr.md, "Delivery"); null until the server was reached. */
  readonly dedup: 'token' | 'verify' | null
  /** Whether the ClickHouse table has the optional `node` column, which then gets node.name in every row (docs/fleet.md); null until the server was reached, and for the embedded store. */
  readonly nodeColumn: boolean | null
  /** The active-call journal (docs/crash-safe-billing.md); absent when cdr.journal.enabled is false. */
  readonly journal?: CdrJournalStatus
}

export interface CdrJournalStatus {
  readonly path: string
  readonly bytes: number
  /**
   * Calls the journal holds: connected, or ended with their row not yet known to be on disk. With the
   * daemon stopped, the calls the next start gives a recovered CDR (unless the spool has their row);
   * null when the journal cannot be read.
   */
  readonly calls: number | null
  /** CDRs the running daemon wrote from the journal when it started; null with the daemon stopped. */
  readonly recoveredAtStart: number | null
}

/** HEPv3 capture (DESIGN §9) as `clutchcall hep status` shows it. Never carries the password. */
export interface HepStatus {
  /** `on`: every SIP message (and RTCP report, with `rtcp`) goes to the collector; `off`: nothing is sent. */
  readonly state: 'on' | 'off'
  /** The collector (HOST:PORT) in use when on; when off, the one `hep enable` would use (from the config). */
  readonly endpoint: string
  /** The address the endpoint resolved to when capture was switched on; null when off. */
  readonly resolvedAddress: string | null
  readonly captureId: number
  /** Whether frames carry an auth key (chunk 0x0e). */
  readonly passwordSet: boolean
  /** Whether RTCP reports go out too (HEP type 5, JSON). */
  readonly rtcp: boolean
  /** What switched capture on: the config at start (`heplify.enabled`) or `hep enable`; null when off. */
  readonly enabledBy: 'config' | 'command' | null
  readonly enabledAt: string | null
  /** When the TTL switches capture off by itself; null without a TTL (or when off). */
  readonly expiresAt: string | null
  /** Seconds until then, rounded up; null without a TTL. */
  readonly timeLeftS: number | null
  /** Frames handed to the kernel since the daemon started, SIP and RTCP. */
  readonly framesSent: number
  readonly sipFramesSent: number
  readonly rtcpFramesSent: number
  /** Frames that could not be sent since the daemon started (collector port closed, no route, frame too large, send queue full). */
  readonly sendErrors: number
  readonly lastError: {readonly at: string; readonly message: string} | null
  /** Why capture went off the last time: `disabled` (hep disable), `ttl` (expired), `stopped`, `failed` (its sender thread died); null if it never went off. */
  readonly lastOffReason: 'disabled' | 'ttl' | 'stopped' | 'failed' | null
}

/** What the collector made of one trace (`tracing.trace`; `clutchcall smoke` asks about its synthetic call's). */
export interface TracingTraceResult {
  /** Whether the daemon exports traces at all (`tracing.enabled`, `OTEL_SDK_DISABLED`). */
  readonly enabled: boolean
  /** The OTLP/HTTP base endpoint spans go to; null when tracing is off. */
  readonly endpoint: string | null
  /** The sink's state, as `clutchcall status` shows it: the last export succeeded, failed, or tracing is off. */
  readonly state: 'exporting' | 'failing' | 'off'
  /** Spans of the trace the collector acknowledged (the daemon remembers the last few thousand traces). */
  readonly exportedSpans: number
  /** Spans of the trace in exports that failed. */
  readonly failedSpans: number
}

/** A source banned by SIP abuse control (docs/sip-abuse-control.md); every request from it is dropped until `until`. */
export interface SecurityBan {
  readonly address: string
  /** `rate_limit` (security.rate_limit) or `auth_failures` (security.auth_failures). */
  readonly reason: 'rate_limit' | 'auth_failures'
  /** ISO-8601. */
  readonly since: string
  readonly until: string
  /** Requests dropped under this ban, the one that caused it included. */
  readonly hits: number
}

/** One trunk as `clutchcall trunks status` shows it (docs/sip-trunks.md). Never carries a password. */
export interface TrunkStatus {
  readonly id: string
  readonly tenant: string
  /** outbound.uri; null for an inbound-only trunk. */
  readonly uri: string | null
  /** outbound.failover: the trunks its new calls try next, in order. */
  readonly failover: readonly string[]
  readonly registration: {
    /** `none`: no outbound.register; `registering`: the first REGISTER is under way; `registered`; `failed` (retrying with backoff); `unregistered` (stopped). */
    readonly state: 'none' | 'registering' | 'registered' | 'failed' | 'unregistered'
    readonly registrar: string | null
    readonly aor: string | null
    /** The Contact bound (or to be bound). */
    readonly contact: string | null
    /** Where the last REGISTER went: `udp:203.0.113.5:5060`. */
    readonly sentTo: string | null
    /** Seconds until the binding ends, while registered. */
    readonly expiresInS: number | null
    /** The interval the registrar granted last. */
    readonly grantedS: number | null
    /** When the last REGISTER succeeded, ISO-8601. */
    readonly registeredAt: string | null
    /** Seconds until the next REGISTER (a refresh, or a retry after a failure). */
    readonly nextAttemptInS: number | null
    /** Failed attempts since the last success. */
    readonly failures: number
    readonly lastError: {readonly at: string; readonly message: string; readonly status: number | null} | null
  }
  readonly reachability: {
    /** `off`: no outbound.keepalive (taken as up); `unknown`: no probe finished yet (taken as up); `up`; `down`. */
    readonly state: 'off' | 'unknown' | 'up' | 'down'
    /** When the state last changed, ISO-8601. */
    readonly since: string | null
    readonly lastProbeAt: string | null
    /** The final status of the last probe; null when it got none (timeout, transport error). */
    readonly lastStatus: number | null
    /** Round-trip time of the last answered probe, ms. */
    readonly lastRttMs: number | null
    readonly consecutiveFailures: number
    readonly consecutiveSuccesses: number
    readonly lastError: {readonly at: string; readonly message: string} | null
    /** Probes sent since the keepalive started (a reload that changes it starts it again). */
    readonly probes: number
  }
}

/** A W3C trace id: 32 lowercase hex digits, not all zero. */
export const TRACE_ID_PATTERN = /^(?!0{32})[0-9a-f]{32}$/

/** The notification sent on a connection that called `calls.subscribe`. */
export const CALLS_EVENT_NOTIFICATION = 'calls.event'
export type CallsEventNotification = CallEvent
/**
 * The last notification on a connection the daemon is about to close for a
 * reason of its own (a subscriber that fell behind: CC_ERR_ADMIN_SUBSCRIBER_LAGGING).
 * Its params are a JSON-RPC error object, as in an error response.
 */
export const STREAM_ERROR_NOTIFICATION = 'stream.error'

const callSid = z.string().check(z.regex(CALL_SID_PATTERN, 'must be CA followed by 32 lowercase hex digits'))
const callFilter = z.prefault(z.strictObject({tenant: z.optional(z.string()), trunk: z.optional(z.string())}), {})

/** Declares one method: its params schema and, by type only, its result (curried so Params is inferred). */
const method =
  <Result>() =>
  <Params extends z.ZodMiniType>(params: Params) => ({params, result: undefined as unknown as Result})

const ipAddressParam = z.string().check(z.refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address'))

const noParams = z.prefault(z.strictObject({}), {})

/** A check of src/hep/params.ts as a zod refinement, so the daemon refuses what the CLI refuses, with the same words. */
const checked = <T>(check: (value: string) => {ok: true; value: T} | {ok: false; problem: string}) =>
  z.string().check(
    z.superRefine((value, ctx) => {
      const result = check(value)
      if (!result.ok) ctx.issues.push({code: 'custom', message: result.problem, input: value})
    }),
  )
const hepEnableParams = z.prefault(
  z.strictObject({
    endpoint: z.optional(checked(checkHepEndpoint)),
    capture_id: z.optional(z.int().check(z.gte(0), z.lte(HEP_CAPTURE_ID_MAX))),
    password: z.optional(z.string().check(z.maxLength(HEP_PASSWORD_MAX_LENGTH))),
    ttl_s: z.optional(z.int().check(z.gte(1), z.lte(HEP_TTL_MAX_S))),
    rtcp: z._default(z.boolean(), true),
  }),
  {},
)

export const ADMIN_METHODS = {
  /** Must be the first request on a connection: checks both ends speak one protocol version. */
  'daemon.hello': method<HelloResult>()(z.object({protocol: z.int(), client: z.string().check(z.maxLength(200))})),
  'daemon.status': method<DaemonStatus>()(noParams),
  /** Starts the drain of DESIGN §3 and answers at once; the connection closes when the process exits. */
  'daemon.stop': method<StopResult>()(z.prefault(z.strictObject({timeout_ms: z._default(z.int().check(z.gte(0), z.lte(3_600_000)), 30_000)}), {})),
  'calls.list': method<{readonly calls: readonly CallSummary[]}>()(callFilter),
  'calls.get': method<CallSummary>()(z.strictObject({call_sid: callSid})),
  /** Hangs up with a Q.850 cause (default 16); answers once the call has ended. */
  'calls.hangup': method<{readonly call_sid: string; readonly q850_cause: number}>()(
    z.strictObject({call_sid: callSid, cause: z._default(z.int().check(z.gte(1), z.lte(127)), 16)}),
  ),
  /** Streams `calls.event` notifications (filtered by tenant/trunk) until the connection closes. */
  'calls.subscribe': method<CallsSubscribeResult>()(callFilter),
  'cdr.status': method<CdrStatus>()(noParams),
  /** Sends every pending row now and answers when ClickHouse has acknowledged them all (or fails with CC_ERR_CDR_FLUSH_INCOMPLETE). */
  'cdr.flush': method<CdrStatus>()(z.prefault(z.strictObject({timeout_ms: z._default(z.int().check(z.gte(0), z.lte(600_000)), 30_000)}), {})),
  /** Switches HEP capture on (or re-targets it when on); params override the config's heplify values for this capture only. */
  'hep.enable': method<HepStatus>()(hepEnableParams),
  /** Switches HEP capture off; answers with the status (idempotent). */
  'hep.disable': method<HepStatus>()(noParams),
  'hep.status': method<HepStatus>()(noParams),
  /** How many spans of one trace the collector acknowledged (or lost in failed exports). */
  'tracing.trace': method<TracingTraceResult>()(z.strictObject({trace_id: z.string().check(z.regex(TRACE_ID_PATTERN, 'must be a W3C trace id: 32 lowercase hex digits, not all zero'))})),
  /**
   * Re-reads the config file the daemon started with and validates it with the config schema: a bad
   * file is refused (CC_ERR_CONFIG_RELOAD_REFUSED) and the running config stays; a good one applies
   * its trunks, tenants, dialplans and security to new calls, and lists what needs a restart.
   */
  'config.reload': method<ConfigReloadResult>()(noParams),
  /** Each trunk in config order: its registration and OPTIONS keepalive state (docs/sip-trunks.md). */
  'trunks.status': method<{readonly trunks: readonly TrunkStatus[]}>()(noParams),
  /** The sources banned now, oldest ban first. */
  'security.bans': method<{readonly bans: readonly SecurityBan[]}>()(noParams),
  /** Lifts the ban on one address, or on every source with `all`; answers with the addresses let back in. */
  'security.unban': method<{readonly unbanned: readonly string[]}>()(
    z.strictObject({address: z.optional(ipAddressParam), all: z._default(z.boolean(), false)}).check(
      z.refine((params) => (params.address === undefined) === params.all, 'give exactly one of address and all'),
    ),
  ),
} as const

export type AdminMethod = keyof typeof ADMIN_METHODS
export type AdminParams<M extends AdminMethod> = z.input<(typeof ADMIN_METHODS)[M]['params']>
export type AdminParsedParams<M extends AdminMethod> = z.output<(typeof ADMIN_METHODS)[M]['params']>
export type AdminResult<M extends AdminMethod> = (typeof ADMIN_METHODS)[M]['result']

export const isAdminMethod = (name: string): name is AdminMethod => Object.hasOwn(ADMIN_METHODS, name)
export const ADMIN_METHOD_NAMES = Object.keys(ADMIN_METHODS) as AdminMethod[]
