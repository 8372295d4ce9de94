// The config schema of DESIGN §4. Every section is optional; what is absent
// takes the embedded default that makes `clutchcall start` a working gateway.
// Keys are snake_case and unknown keys are errors (a typo must not silently
// fall back to a default).
//
// zod/mini rather than zod: the same engine with a functional API, 12 KB in
// the CLI bundle instead of 450 KB, which is most of a command's start-up.
import {isIP} from 'node:net'
import * as z from 'zod/mini'
import en from 'zod/v4/locales/en.js'
import {grpcEndpointProblem, HTTP_JSON_REFUSED, TRACING_PROTOCOLS, type TracingProtocol} from './tracing.js'

z.config(en())

const integer = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max))
const port = integer(0, 65_535)
const ipAddress = z.string().check(z.refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address'))
const nonEmpty = z.string().check(z.minLength(1))
const pattern = (regex: RegExp, message: string) => z.string().check(z.regex(regex, message))
const withDefault = <T extends z.core.SomeType>(schema: T, value: z.core.util.NoUndefined<z.output<T>>) => z._default(schema, value)

/** Where the scrape endpoint listens when metrics.listen is not set. */
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9091'

/** Where the QUIC listener binds (UDP) when quic.listen is not set: 4433, the port QUIC test servers commonly use, next to HTTPS's 443. */
export const DEFAULT_QUIC_LISTEN = '127.0.0.1:4433'

/** Where WebTransport (HTTP/3) listens when quic.webtransport.listen is not set: the port after the SDK's QUIC one. */
export const DEFAULT_WEBTRANSPORT_LISTEN = '127.0.0.1:4434'

/** `host:port` or `[v6]:port`; port 0 asks the OS for a free one. */
const hostPortPattern = /^(?:\[(?<v6>[0-9a-fA-F:.]+)\]|(?<host>[^:\s[\]]+)):(?<port>\d{1,5})$/
export const parseHostPort = (value: string): {host: string; port: number} | undefined => {
  const groups = hostPortPattern.exec(value)?.groups
  if (!groups) return undefined
  const portNumber = Number(groups.port)
  if (portNumber > 65_535) return undefined
  return {host: groups.v6 ?? groups.host ?? '', port: portNumber}
}
const hostPort = z.string().check(z.refine((value) => parseHostPort(value) !== undefined, 'must be HOST:PORT (IPv6 as [ADDR]:PORT)'))

const httpUrl = z.string().check(
  z.refine((value) => {
    try {
      const url = new URL(value)
      return url.protocol === 'http:' || url.protocol === 'https:'
    } catch {
      return false
    }
  }, 'must be an http:// or https:// URL'),
)

/** What our SIP messages call us unless sip.user_agent says otherwise. */
export const SIP_USER_AGENT_DEFAULT = 'ClutchCall'

/** JWT algorithms a key may be verified with (RFC 7518, RFC 8037); `none` is deliberately absent. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512'] as const

/** The ids of tenants, trunks, dialplans and nodes (exported for the config reference, which names it once). */
export const identifier = pattern(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit')
const sipUri = pattern(/^sips?:/, 'must be a sip: or sips: URI')
/**
 * A node name (node.name): what names this gateway in a fleet, in `clutchcall status`, the
 * `service.instance.id` of its spans, its log lines and the CDR `node` column. A host name's
 * characters, at most 64 of them (Linux's HOST_NAME_MAX), so the default (the host name) fits.
 */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
export const NODE_NAME_RULE = 'must be 1-64 characters of A-Z, a-z, 0-9, ., _ and -, starting with a letter or digit'
const nodeName = pattern(NODE_NAME_PATTERN, NODE_NAME_RULE)

/** How long a drain keeps taking new INVITEs after health probes turned 503, when a balancer probes the gateway (docs/fleet.md). */
export const DRAIN_GRACE_S_DEFAULT = 10

const clickhouseIdentifier = pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain ClickHouse identifier')

const sipListen = z.strictObject({
  transport: z.enum(['udp', 'tcp', 'tls']),
  address: ipAddress,
  port,
})

/** A file path; relative paths are relative to the config file's folder (the home on the embedded defaults), `~/` is the user's home. */
const filePath = nonEmpty
const tlsVersion = z.enum(['TLSv1.2', 'TLSv1.3'])

/** What the TLS listeners present, and whom they ask for a client certificate. */
const sipTls = z.strictObject({
  cert: filePath,
  key: filePath,
  ca: z.optional(filePath),
  verify_client: withDefault(z.boolean(), false),
  min_version: withDefault(tlsVersion, 'TLSv1.2'),
})

/** Whether a SIP URI is carried over TLS: sips:, or transport=tls. */
export const isTlsUri = (uri: string): boolean => /^sips:/i.test(uri) || /;transport=tls(?:[;?]|$)/i.test(uri)

const isCidr = (value: string): boolean => {
  const [address, bits, extra] = value.split('/')
  if (extra !== undefined || address === undefined) return false
  const family = isIP(address)
  if (family === 0) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}
const cidr = z.string().check(z.refine(isCidr, 'must be an IP address or CIDR such as 203.0.113.0/24'))

const credentials = z.strictObject({username: nonEmpty, password: z.string()})

/** The user part of the Contact a registering trunk binds: unreserved characters only, so it never needs escaping. */
export const CONTACT_USER_PATTERN = /^[A-Za-z0-9\-_.!~*+]{1,64}$/
/** How many trunks one trunk's failover list may name. */
export const MAX_FAILOVER_TRUNKS = 8

/** Audio codecs of SIP legs in order of preference (docs/codecs.md), each at most once. */
const audioCodecs = z.array(z.enum(['PCMU', 'PCMA', 'G722', 'opus'])).check(
  z.minLength(1),
  z.refine((names) => new Set(names).size === names.length, 'lists a codec twice'),
)
export const DEFAULT_RTP_CODECS = ['PCMU', 'PCMA'] as const

const trunk = z.strictObject({
  id: identifier,
  tenant: identifier,
  /** SRTP with SDES keys (RFC 4568) on the trunk's calls, both directions (src/sip/sdp-srtp.ts). */
  media_encryption: withDefault(z.enum(['none', 'optional', 'required']), 'none'),
  /** The trunk's codecs, in order of preference; absent: rtp.codecs. */
  codecs: z.optional(audioCodecs),
  inbound: z.optional(
    z.strictObject({
      cidrs: withDefault(z.array(cidr), []),
      numbers: withDefault(z.array(pattern(/^\+?[0-9*#]*\*?$/, 'must be digits with an optional leading + and trailing *')), ['*']),
      auth: z.optional(credentials),
      /** Admit the trunk's callers only over TLS with a client certificate that sip.tls.ca verified. */
      require_client_cert: withDefault(z.boolean(), false),
    }),
  ),
  outbound: z.optional(
    z.strictObject({
      uri: sipUri,
      auth: z.optional(credentials),
      tls: z.optional(
        z.strictObject({
          ca: z.optional(filePath),
          verify_server: withDefault(z.boolean(), true),
          cert: z.optional(filePath),
          key: z.optional(filePath),
          server_name: z.optional(nonEmpty),
          min_version: withDefault(tlsVersion, 'TLSv1.2'),
        }),
      ),
      /** Outbound registration (RFC 3261 §10, docs/sip-trunks.md): the gateway keeps a binding of its Contact at the carrier's registrar. */
      register: z.optional(
        z.strictObject({
          username: z.optional(nonEmpty),
          password: z.optional(z.string()),
          realm: z.optional(nonEmpty),
          registrar: z.optional(sipUri),
          domain: z.optional(nonEmpty),
          contact_user: z.optional(pattern(CONTACT_USER_PATTERN, 'must be 1-64 characters of A-Z, a-z, 0-9 and -_.!~*+')),
          expires_s: withDefault(integer(10, 86_400), 3600),
          retry_min_s: withDefault(integer(1, 3600), 5),
          retry_max_s: withDefault(integer(1, 86_400), 300),
        }),
      ),
      /** OPTIONS pings to the trunk (docs/sip-trunks.md): the trunk is down after down_after failures in a row, up again after up_after answers. */
      keepalive: z.optional(
        z.strictObject({
          interval_s: withDefault(integer(1, 3600), 30),
          timeout_ms: withDefault(integer(100, 32_000), 5000),
          down_after: withDefault(integer(1, 100), 3),
          up_after: withDefault(integer(1, 100), 2),
        }),
      ),
      /** Trunks a new call tries next, in order, when this one is down or answers its INVITE with 503 or 408. */
      failover: withDefault(z.array(identifier).check(z.maxLength(MAX_FAILOVER_TRUNKS)), []),
    }),
  ),
})

/** `next` is either one node id or a map from the node's outcome to a node id. */
const next = z.optional(z.union([identifier, z.record(z.string(), identifier)]))
const positive = z.number().check(z.positive())

const dialplanNode = z.discriminatedUnion('type', [
  z.strictObject({type: z.literal('answer'), next}),
  z.strictObject({type: z.literal('echo'), max_duration_s: z.optional(positive), next}),
  z.strictObject({
    type: z.literal('play'),
    tone: z.optional(z.strictObject({frequency_hz: z.number().check(z.positive(), z.lte(4000)), duration_ms: integer(1, 3_600_000)})),
    file: z.optional(z.string()),
    /** Play before the answer, as early media (a 183 Session Progress), leaving the call unanswered. */
    early: z.optional(z.boolean()),
    next,
  }),
  z.strictObject({type: z.literal('record'), max_duration_s: withDefault(positive, 3600), next}),
  z.strictObject({
    type: z.literal('bridge'),
    trunk: z.optional(identifier),
    uri: z.optional(sipUri),
    to: z.optional(z.string()),
    timeout_s: withDefault(positive, 30),
    next,
  }),
  z.strictObject({type: z.literal('agent'), url: pattern(/^wss?:\/\//, 'must be a ws:// or wss:// URL'), agent_id: nonEmpty, next}),
  z.strictObject({
    type: z.literal('transfer'),
    /** A number: the Refer-To is sip:<to>@ the caller's host. */
    to: z.optional(pattern(/^\+?[0-9*#]{1,32}$/, 'must be a number: digits, *, # with an optional leading +')),
    uri: z.optional(pattern(/^(?:sips?|tel):[^\s<>"]+$/, 'must be a sip:, sips: or tel: URI')),
    timeout_s: withDefault(integer(1, 600), 30),
    next,
  }),
  z.strictObject({type: z.literal('hangup'), cause: withDefault(integer(1, 127), 16)}),
])

const dialplan = z.strictObject({start: identifier, nodes: z.record(identifier, dialplanNode)})

/**
 * A transfer destination pattern (docs/sip-transfer.md): a number (`+1415555*`, `*` any run of
 * characters) matched against the target's number, or a sip:, sips: or tel: URI pattern
 * (`sip:*@pbx.example.com`) matched against the target URI without its parameters.
 */
export const TRANSFER_DESTINATION_PATTERN = /^(?:[+0-9*#]+|(?:sips?|tel):[^\s<>"]+)$/
const transferDestination = pattern(TRANSFER_DESTINATION_PATTERN, 'must be a number pattern (+1415555*) or a sip:, sips: or tel: URI pattern (sip:*@pbx.example.com)')

/** A tenant's transfer policy: whether its callers' REFERs are carried out, and where transfers may go. */
const transferPolicy = z.strictObject({
  accept_refer: withDefault(z.boolean(), false),
  destinations: withDefault(z.array(transferDestination).check(z.maxLength(1000)), []),
  trunk: z.optional(identifier),
  timeout_s: withDefault(integer(1, 600), 30),
})
export type TransferPolicy = z.output<typeof transferPolicy>
export type Dialplan = z.output<typeof dialplan>
export type DialplanNode = z.output<typeof dialplanNode>

/** The built-in `default` dialplan answers and echoes; defining one named `default` replaces it. */
export const BUILTIN_ECHO_DIALPLAN: Dialplan = {
  start: 'answer',
  nodes: {
    answer: {type: 'answer', next: 'echo'},
    echo: {type: 'echo', next: 'bye'},
    bye: {type: 'hangup', cause: 16},
  },
}

/** A section that may be absent: absent parses as `{}`, so every inner default applies. */
const section = <Shape extends z.core.$ZodLooseShape>(shape: Shape) => z.prefault(z.strictObject(shape), {} as z.input<ReturnType<typeof z.strictObject<Shape>>>)

const rtp = z.prefault(
  z.strictObject({
    address: withDefault(ipAddress, '127.0.0.1'),
    port_min: withDefault(integer(1024, 65_535), 20_000),
    port_max: withDefault(integer(1024, 65_535), 30_000),
    shards: withDefault(z.union([z.literal('auto'), integer(1, 64)]), 'auto'),
    /** The codecs of SIP legs through no trunk, or a trunk without codecs of its own. */
    codecs: withDefault(audioCodecs, [...DEFAULT_RTP_CODECS]),
  }).check(z.refine((value) => value.port_min < value.port_max, {message: 'port_min must be below port_max', path: ['port_min']})),
  {},
)

/** Session timers (RFC 4028, docs/sip-extensions.md): the interval we ask for and grant at most, and the shortest we accept. */
const sessionTimers = z.prefault(
  z.strictObject({
    enabled: withDefault(z.boolean(), true),
    expires_s: withDefault(integer(1, 86_400), 1800),
    // RFC 4028 §4 puts the floor at 90 s; lower values exist for tests that must see a session expire.
    min_se_s: withDefault(integer(1, 86_400), 90),
  }).check(z.refine((value) => value.min_se_s <= value.expires_s, {message: 'min_se_s must not be above expires_s', path: ['min_se_s']})),
  {},
)

/** A DNS server: an IP address, or `ip:port` / `[v6]:port`. */
const dnsServer = z.string().check(
  z.refine((value) => isIP(value) !== 0 || (parseHostPort(value) !== undefined && isIP(parseHostPort(value)?.host ?? '') !== 0 && parseHostPort(value)?.port !== 0), 'must be an IP address, IP:PORT or [IPv6]:PORT'),
)

/** RFC 3263 resolution of trunk hosts and failover across their targets (docs/sip-dns.md). */
const sipDns = section({
  servers: withDefault(z.array(dnsServer).check(z.maxLength(8)), []),
  timeout_ms: withDefault(integer(50, 30_000), 2000),
  tries: withDefault(integer(1, 5), 2),
  naptr: withDefault(z.boolean(), true),
  cache_entries: withDefault(integer(16, 1_000_000), 10_000),
  max_ttl_s: withDefault(integer(0, 604_800), 3600),
  srv_ttl_s: withDefault(integer(0, 86_400), 60),
  negative_ttl_s: withDefault(integer(0, 3600), 30),
  stale_s: withDefault(integer(0, 86_400), 300),
  max_targets: withDefault(integer(1, 32), 8),
  target_timeout_ms: withDefault(integer(0, 64_000), 5000),
})

const baseSchema = z.strictObject({
  sip: section({
    listen: withDefault(z.array(sipListen).check(z.minLength(1)), [
      {transport: 'udp', address: '127.0.0.1', port: 5060},
      {transport: 'tcp', address: '127.0.0.1', port: 5060},
    ]),
    /** The User-Agent of our requests and the Server of our responses; '' sends neither (no product banner for scanners). */
    user_agent: withDefault(z.string().check(z.maxLength(200), z.regex(/^[\x20-\x7e]*$/, 'must be printable ASCII on one line')), SIP_USER_AGENT_DEFAULT),
    /** Certificate and key of the TLS listeners (required with one), and client-certificate verification. */
    tls: z.optional(sipTls),
    session_timers: sessionTimers,
    /** Reliable provisional responses (RFC 3262): off, when the caller requires them, or whenever the caller supports them. */
    reliable_provisionals: withDefault(z.enum(['off', 'supported', 'preferred']), 'supported'),
    /** How trunk hosts are resolved (NAPTR, SRV, A/AAAA) and when an INVITE moves on to the next target. */
    dns: sipDns,
    /** Seconds a drain still takes new INVITEs after OPTIONS turned 503 (only while a balancer probes the gateway). */
    drain_grace_s: withDefault(integer(0, 3600), DRAIN_GRACE_S_DEFAULT),
  }),
  // No default here: the host name is the default, resolved by load.ts, so docs and `config init` do not carry one machine's name.
  node: section({
    name: z.optional(nodeName),
  }),
  rtp,
  tenants: withDefault(z.array(z.strictObject({id: identifier, dialplan: identifier, transfer: z.optional(transferPolicy)})), [{id: 'default', dialplan: 'default'}]),
  trunks: withDefault(z.array(trunk), []),
  dialplans: z.pipe(
    withDefault(z.record(identifier, dialplan), {}),
    z.transform((plans: Record<string, Dialplan>): Record<string, Dialplan> => ({default: BUILTIN_ECHO_DIALPLAN, ...plans})),
  ),
  metrics: section({
    enabled: withDefault(z.boolean(), true),
    // Loopback, like SIP: the scrape has no authentication (docs/telemetry-defaults.md).
    listen: withDefault(hostPort, DEFAULT_METRICS_LISTEN),
  }),
  // No defaults here: whether each key was written decides whether a collector is configured (tracing.ts).
  tracing: z.prefault(
    z.strictObject({
      enabled: z.optional(z.boolean()),
      endpoint: z.optional(httpUrl),
      protocol: z.optional(z.enum(TRACING_PROTOCOLS, {error: (issue) => (issue.input === 'http/json' ? HTTP_JSON_REFUSED : `must be ${TRACING_PROTOCOLS.join(' or ')}`)})),
    }).check(
      z.superRefine((value, context) => {
        const problem = value.protocol === 'grpc' && value.endpoint !== undefined ? grpcEndpointProblem(value.endpoint) : undefined
        if (problem !== undefined) context.addIssue({code: 'custom', message: `with protocol grpc, ${problem}`, path: ['endpoint'], input: value.endpoint})
      }),
    ),
    {},
  ),
  cdr: section({
    enabled: withDefault(z.boolean(), true),
    clickhouse: z.optional(
      z.strictObject({
        url: withDefault(httpUrl, 'http://localhost:8123'),
        database: withDefault(clickhouseIdentifier, 'default'),
        table: withDefault(clickhouseIdentifier, 'telephony_cdrs'),
        username: withDefault(z.string(), 'default'),
        password: withDefault(z.string(), ''),
      }),
    ),
    batch_size: withDefault(integer(1, 1_000_000), 1000),
    flush_interval_ms: withDefault(integer(10, 3_600_000), 1000),
    retention_days: withDefault(integer(1, 36_500), 90),
    /** Crash-safe billing: connected calls are journaled so a daemon that dies still writes their CDRs. */
    journal: section({
      enabled: withDefault(z.boolean(), true),
      /** How often every connected call's last-known time and media counters are saved (a recovered CDR ends at the last one). */
      checkpoint_interval_ms: withDefault(integer(100, 600_000), 5000),
    }),
  }),
  heplify: section({
    enabled: withDefault(z.boolean(), false),
    endpoint: withDefault(hostPort, '127.0.0.1:9060'),
    /** A number, or `node`: the CRC-32 of node.name (src/hep/params.ts), the same on every start of the node. */
    capture_id: withDefault(z.union([integer(0, 4_294_967_295), z.literal('node')]), 2001),
    password: withDefault(z.string(), ''),
  }),
  admin: section({
    socket: z.optional(nonEmpty),
    /**
     * Bytes of answers and events queued for one connection that its client has
     * not read yet: past it the daemon stops reading that client's requests, and
     * an event subscriber is disconnected (CC_ERR_ADMIN_SUBSCRIBER_LAGGING).
     */
    max_queued_bytes: withDefault(integer(16 * 1024, 1024 * 1024 * 1024), 1024 * 1024),
  }),
  // SIP abuse control (docs/sip-abuse-control.md): admission of every request, per-source limits, bans.
  security: section({
    unknown_sources: withDefault(z.enum(['drop', 'reject']), 'drop'),
    // Loopback by default: the embedded default gateway listens there, and local tools, proxies and load tests run there.
    trusted_cidrs: withDefault(z.array(cidr), ['127.0.0.1/32', '::1/128']),
    rate_limit: section({
      enabled: withDefault(z.boolean(), true),
      requests: withDefault(integer(1, 1_000_000), 100),
      window_ms: withDefault(integer(10, 3_600_000), 1000),
      ban_s: withDefault(integer(1, 604_800), 300),
      trunk_sources: withDefault(z.enum(['exempt', 'limited']), 'exempt'),
    }),
    auth_failures: section({
      enabled: withDefault(z.boolean(), true),
      max: withDefault(integer(1, 1_000_000), 5),
      window_s: withDefault(integer(1, 86_400), 60),
      ban_s: withDefault(integer(1, 604_800), 900),
    }),
    max_tracked_sources: withDefault(integer(1000, 10_000_000), 100_000),
    overload: section({
      enabled: withDefault(z.boolean(), true),
      max_event_loop_lag_ms: withDefault(integer(10, 60_000), 500),
      max_event_loop_utilization: withDefault(z.number().check(z.gt(0), z.lte(1)), 0.95),
      max_transactions: withDefault(integer(1, 10_000_000), 100_000),
      retry_after_s: withDefault(integer(1, 3600), 5),
    }),
    // Hard caps on what remote parties can make the gateway hold, whatever the load (docs/sip-abuse-control.md, "Hard limits").
    limits: section({
      max_transactions: withDefault(integer(100, 10_000_000), 150_000),
      max_dialogs: withDefault(integer(1, 10_000_000), 20_000),
      max_tcp_connections: withDefault(integer(1, 1_000_000), 10_000),
      max_tcp_connections_per_source: withDefault(integer(1, 1_000_000), 128),
      tcp_send_buffer_bytes: withDefault(integer(64 * 1024, 1024 * 1024 * 1024), 1024 * 1024),
      tcp_message_timeout_ms: withDefault(integer(0, 3_600_000), 10_000),
      // Bounded: a handshake holds a connection slot, so it cannot be left open for long.
      tls_handshake_timeout_ms: withDefault(integer(100, 60_000), 5_000),
    }),
  }),
  webrtc: section({
    // Off unless asked for: the endpoint admits only clients with a JWT, so it needs auth.jwt.
    enabled: withDefault(z.boolean(), false),
    listen: withDefault(hostPort, '127.0.0.1:8089'),
    /** Client audio codecs in order of preference; Opus is transcoded to the G.711 of the media engine. */
    codecs: withDefault(z.array(z.enum(['opus', 'PCMU'])).check(z.minLength(1)), ['opus', 'PCMU']),
  }),
  // The SDK over QUIC (docs/quic.md): off unless asked for; like webrtc it admits only clients with a JWT.
  quic: section({
    enabled: withDefault(z.boolean(), false),
    listen: withDefault(hostPort, DEFAULT_QUIC_LISTEN),
    /** PEM files; both absent: a self-signed ECDSA P-256 certificate is generated into the home. */
    cert: z.optional(nonEmpty),
    key: z.optional(nonEmpty),
    /** What one hostile peer can make the gateway hold (docs/quic.md, "Limits"). */
    limits: section({
      max_connections: withDefault(integer(1, 1_000_000), 1000),
      max_connections_per_source: withDefault(integer(1, 1_000_000), 10),
      max_streams_per_connection: withDefault(integer(1, 10_000), 16),
      max_stream_buffer_bytes: withDefault(integer(4096, 16 * 1024 * 1024), 64 * 1024),
      handshake_timeout_ms: withDefault(integer(100, 60_000), 5000),
      idle_timeout_ms: withDefault(integer(1000, 3_600_000), 30_000),
      auth_timeout_ms: withDefault(integer(100, 600_000), 5000),
    }),
    /** WebTransport over HTTP/3 for browsers (docs/quic.md, "WebTransport"): a second UDP listener, same certificate and limits. */
    webtransport: section({
      enabled: withDefault(z.boolean(), false),
      listen: withDefault(hostPort, DEFAULT_WEBTRANSPORT_LISTEN),
      path: withDefault(pattern(/^\/[\w./-]*$/, 'must be an absolute path such as /v1/rpc'), '/v1/rpc'),
    }),
  }),
  auth: section({
    jwt: z.optional(
      z.strictObject({
        jwks_url: z.optional(httpUrl),
        /** Public JWKs (or `oct` shared secrets) when there is no JWKS URL. */
        keys: z.optional(z.array(z.looseObject({kty: nonEmpty}))),
        issuer: nonEmpty,
        audience: nonEmpty,
        /** The allow-list; `none` can never be on it. */
        algorithms: withDefault(z.array(z.enum(JWT_ALGORITHMS)).check(z.minLength(1)), ['RS256', 'ES256', 'EdDSA']),
        tenant_claim: withDefault(nonEmpty, 'tenant'),
        clock_tolerance_s: withDefault(integer(0, 300), 30),
        /** A token without `exp` would be good forever: refused unless this is switched off. */
        require_exp: withDefault(z.boolean(), true),
        /** Longest lifetime a token may claim: exp - iat, or exp - now when it has no iat (default 24 h). */
        max_token_lifetime_s: withDefault(integer(1, 31_536_000), 86_400),
      }),
    ),
  }),
})

type ParsedConfig = z.output<typeof baseSchema>

/** Cross-references: every tenant, trunk and node a config names must be defined in it. */
const checkReferences = (config: ParsedConfig, ctx: z.core.$RefinementCtx<ParsedConfig>): void => {
  const problem = (path: PropertyKey[], message: string) => ctx.addIssue({code: 'custom', path, message, input: config})
  const tenantIds = new Set(config.tenants.map((tenant) => tenant.id))
  config.tenants.forEach((tenant, index) => {
    if (!(tenant.dialplan in config.dialplans)) problem(['tenants', index, 'dialplan'], `dialplan "${tenant.dialplan}" is not defined under dialplans`)
  })
  const tlsListener = config.sip.listen.findIndex((listen) => listen.transport === 'tls')
  if (tlsListener !== -1 && config.sip.tls === undefined) problem(['sip', 'listen', tlsListener, 'transport'], 'a TLS listener needs a certificate and key: set sip.tls.cert and sip.tls.key')
  if (config.sip.tls?.verify_client === true && config.sip.tls.ca === undefined) problem(['sip', 'tls', 'verify_client'], 'verifying client certificates needs the CA that signs them: set sip.tls.ca')
  config.trunks.forEach((entry, index) => {
    if (entry.inbound?.require_client_cert !== true) return
    if (tlsListener === -1 || config.sip.tls?.ca === undefined) problem(['trunks', index, 'inbound', 'require_client_cert'], 'client certificates are checked on a TLS listener against sip.tls.ca: add both')
  })
  // Our Via and Contact over TLS name the TLS listener: a call placed over TLS needs one.
  const needsTlsListener = (path: PropertyKey[], uri: string): void => {
    if (tlsListener === -1 && isTlsUri(uri)) problem(path, 'a call over TLS (sips: or transport=tls) needs a TLS listener in sip.listen for its Via and Contact')
  }
  const trunkIds = new Set<string>()
  const contactUsers = new Map<string, string>()
  config.trunks.forEach((entry, index) => {
    if (trunkIds.has(entry.id)) problem(['trunks', index, 'id'], `trunk id "${entry.id}" is used twice`)
    trunkIds.add(entry.id)
    if (!tenantIds.has(entry.tenant)) problem(['trunks', index, 'tenant'], `tenant "${entry.tenant}" is not defined under tenants`)
    const outbound = entry.outbound
    if (outbound === undefined) return
    needsTlsListener(['trunks', index, 'outbound', 'uri'], outbound.uri)
    if (outbound.tls !== undefined && !isTlsUri(outbound.uri)) problem(['trunks', index, 'outbound', 'tls'], 'outbound.tls applies to TLS only: make the uri sips: or add ;transport=tls')
    if (outbound.tls !== undefined && (outbound.tls.cert === undefined) !== (outbound.tls.key === undefined)) problem(['trunks', index, 'outbound', 'tls'], 'a client certificate needs both cert and key')
    const register = outbound.register
    if (register !== undefined) {
      if ((register.username ?? outbound.auth?.username) === undefined) problem(['trunks', index, 'outbound', 'register', 'username'], 'registering needs a username: set register.username (or outbound.auth)')
      if ((register.password ?? outbound.auth?.password) === undefined) problem(['trunks', index, 'outbound', 'register', 'password'], 'registering needs a password: set register.password (or outbound.auth)')
      if (register.registrar !== undefined) needsTlsListener(['trunks', index, 'outbound', 'register', 'registrar'], register.registrar)
      if (register.retry_min_s > register.retry_max_s) problem(['trunks', index, 'outbound', 'register', 'retry_min_s'], 'retry_min_s must not be above retry_max_s')
      const contactUser = register.contact_user ?? register.username ?? outbound.auth?.username
      if (register.contact_user === undefined && contactUser !== undefined && !CONTACT_USER_PATTERN.test(contactUser)) {
        problem(['trunks', index, 'outbound', 'register'], `the username "${contactUser}" cannot be the contact user (1-64 characters of A-Z, a-z, 0-9 and -_.!~*+): set register.contact_user`)
      }
      // Calls for a contact user route to one trunk.
      if (contactUser !== undefined && contactUsers.has(contactUser)) problem(['trunks', index, 'outbound', 'register'], `contact user "${contactUser}" is already bound by trunk "${contactUsers.get(contactUser) ?? ''}": set register.contact_user`)
      if (contactUser !== undefined) contactUsers.set(contactUser, entry.id)
    }
  })
  config.trunks.forEach((entry, index) => {
    const failover = entry.outbound?.failover ?? []
    failover.forEach((id, position) => {
      const path = ['trunks', index, 'outbound', 'failover', position]
      if (id === entry.id) problem(path, 'a trunk cannot be its own failover')
      else if (!trunkIds.has(id)) problem(path, `trunk "${id}" is not defined under trunks`)
      else if (config.trunks.find((other) => other.id === id)?.outbound === undefined) problem(path, `trunk "${id}" has no outbound section: calls cannot be placed on it`)
      else if (failover.indexOf(id) !== position) problem(path, `trunk "${id}" is named twice`)
    })
  })
  config.tenants.forEach((tenant, index) => {
    const transferTrunk = tenant.transfer?.trunk
    if (transferTrunk === undefined) return
    const found = config.trunks.find((entry) => entry.id === transferTrunk)
    if (found?.outbound === undefined) problem(['tenants', index, 'transfer', 'trunk'], found === undefined ? `trunk "${transferTrunk}" is not defined under trunks` : `trunk "${transferTrunk}" has no outbound section to place transfers through`)
  })
  const jwt = config.auth.jwt
  if (jwt && (jwt.jwks_url === undefined) === (jwt.keys === undefined)) problem(['auth', 'jwt'], 'give exactly one of jwks_url and keys')
  if (config.webrtc.enabled && !jwt) problem(['webrtc', 'enabled'], 'the WebRTC endpoint admits only SDK clients with a JWT: configure auth.jwt')
  if (config.quic.enabled && !jwt) problem(['quic', 'enabled'], 'the QUIC listener admits only SDK clients with a JWT: configure auth.jwt')
  if (config.quic.webtransport.enabled && !config.quic.enabled) problem(['quic', 'webtransport', 'enabled'], 'WebTransport runs beside the QUIC listener (same certificate and limits): set quic.enabled too')
  if ((config.quic.cert === undefined) !== (config.quic.key === undefined)) problem(['quic', config.quic.cert === undefined ? 'cert' : 'key'], 'give both quic.cert and quic.key, or neither (a self-signed certificate is generated then)')
  for (const [name, plan] of Object.entries(config.dialplans)) {
    if (!(plan.start in plan.nodes)) problem(['dialplans', name, 'start'], `start node "${plan.start}" is not defined under nodes`)
    for (const [nodeId, node] of Object.entries(plan.nodes)) {
      const targets = !('next' in node) || node.next === undefined ? [] : typeof node.next === 'string' ? [node.next] : Object.values(node.next)
      for (const target of targets) {
        if (!(target in plan.nodes)) problem(['dialplans', name, 'nodes', nodeId, 'next'], `next node "${target}" is not defined under nodes`)
      }
      if (node.type === 'transfer' && (node.to === undefined) === (node.uri === undefined)) problem(['dialplans', name, 'nodes', nodeId], 'a transfer needs exactly one of to and uri')
      if (node.type === 'bridge' && node.uri !== undefined) needsTlsListener(['dialplans', name, 'nodes', nodeId, 'uri'], node.uri)
      if (node.type === 'bridge' && node.uri === undefined && !trunkIds.has(node.trunk ?? '')) {
        problem(['dialplans', name, 'nodes', nodeId], node.trunk ? `trunk "${node.trunk}" is not defined under trunks` : 'a bridge needs trunk or uri')
      }
    }
  }
}

export const configSchema = baseSchema.check(z.superRefine(checkReferences))

/** The config file as written, checked: `tracing` still says only what the file said. */
export type ConfigFile = z.output<typeof configSchema>
/**
 * The effective config: tracing resolved by the rule of tracing.ts (file and environment), the
 * node name resolved (node.name, else the host name).
 */
export type Config = Omit<ConfigFile, 'tracing' | 'node'> & {
  readonly tracing: {readonly enabled: boolean; readonly endpoint: string; readonly protocol: TracingProtocol}
  readonly node: {readonly name: string}
}
export type ConfigInput = z.input<typeof configSchema>
export type SipListen = z.output<typeof sipListen>
export type SipTlsConfig = z.output<typeof sipTls>
export type Trunk = z.output<typeof trunk>
export type ConfigIssue = z.core.$ZodIssue
