// What each config key means, keyed by its path in the schema (src/config/reference.ts
// spells the paths). Kept apart from schema.ts so the schema stays readable;
// scripts/gen-docs.js joins the two into docs/configuration.md, and a unit test
// fails when a schema key has no entry here or an entry names no schema key.

export interface KeyDescription {
  /** Markdown; one or two sentences: what it does, and what follows from it. */
  readonly text: string
  /** A YAML value for the key, when its default does not already show one. */
  readonly example?: string
}

const NODE = 'dialplans.<plan>.nodes.<node>'
const NEXT: KeyDescription = {
  text: 'The node to run after this one: one node id, or a map from this node\'s outcome to a node id (`default` catches the other outcomes). Without it the call hangs up with cause 16.',
  example: '{ answered: bye, busy: bye, default: fallback }',
}

export const CONFIG_DESCRIPTIONS: Readonly<Record<string, KeyDescription>> = {
  sip: {text: 'SIP signalling listeners.'},
  'sip.listen': {text: 'Where the gateway takes SIP: one entry per transport, address and port. Port 0 asks the OS for a free port; `clutchcall status` shows the one bound.'},
  'sip.listen[].transport': {text: 'The transport: UDP or TCP (TLS is not supported).', example: 'udp'},
  'sip.listen[].address': {text: 'The local address to bind; `0.0.0.0` or `::` for every interface.', example: '127.0.0.1'},
  'sip.listen[].port': {text: 'The port to bind; 0 for any free port.', example: '5060'},
  'sip.user_agent': {text: 'The `User-Agent` of the SIP requests the gateway sends and the `Server` of its responses; `""` sends neither, so scanners learn nothing ([security.md](security.md)). Printable ASCII, at most 200 characters.', example: '""'},

  rtp: {text: 'RTP media: the address and port range of media streams and the worker threads that carry them.'},
  'rtp.address': {text: 'The local address media streams bind and advertise in SDP.'},
  'rtp.port_min': {text: 'The lowest RTP port. Each stream takes an even port for RTP and the next odd one for RTCP. Must be below `rtp.port_max`.'},
  'rtp.port_max': {text: 'The highest RTP port.'},
  'rtp.shards': {text: 'Media worker threads, each owning its sockets and streams; `auto` runs one per CPU core.', example: '2'},

  tenants: {text: 'The tenants, each with the dialplan its calls run. Without trunks every inbound call goes to the first tenant. The default is one tenant `default` on the built-in echo dialplan.'},
  'tenants[].id': {text: 'The tenant id: the `tenant` label of metrics, the CDR `tenant_id`, the `tenant.id` span attribute.', example: 'acme'},
  'tenants[].dialplan': {text: 'The dialplan (a key of `dialplans`, or `default`) that the tenant\'s inbound calls run.', example: 'acme-main'},

  trunks: {text: 'SIP trunks: which callers a tenant takes calls from (`inbound`) and where its bridged calls go (`outbound`). Once any trunk has an `inbound` section, only callers matching a trunk are admitted.'},
  'trunks[].id': {text: 'The trunk id: the `trunk` label of metrics and the CDR `trunk_id` (`none` for calls through no trunk). Unique.', example: 'carrier-a'},
  'trunks[].tenant': {text: 'The tenant (an id under `tenants`) whose dialplan runs the trunk\'s inbound calls.', example: 'acme'},
  'trunks[].inbound': {text: 'Admission of inbound calls: a caller is taken by the trunk when its source address is in `cidrs` and the called number matches `numbers`. Unknown source: 403; no number match: 404.'},
  'trunks[].inbound.cidrs': {text: 'Source addresses or networks the trunk accepts. Empty with `auth`: any source, on credentials alone.', example: '[203.0.113.0/24, 198.51.100.7]'},
  'trunks[].inbound.numbers': {text: 'Called-number patterns (the Request-URI user part): digits with an optional leading `+`; a trailing `*` is a prefix match, `*` alone any number.', example: '["+1415555*"]'},
  'trunks[].inbound.auth': {text: 'Digest authentication of callers: the gateway challenges with 401 (MD5 offered first, then SHA-256).'},
  'trunks[].inbound.auth.username': {text: 'The user name callers must authenticate with.', example: 'acme'},
  'trunks[].inbound.auth.password': {text: 'The password callers must authenticate with. A secret: never shown by `config show`, logs or admin answers.', example: 'change-me'},
  'trunks[].outbound': {text: 'Where `bridge` nodes naming this trunk send calls.'},
  'trunks[].outbound.uri': {text: 'The carrier\'s SIP URI; its host, port and `transport=` parameter say where INVITEs go (DNS A/AAAA only, no SRV).', example: 'sip:sbc.carrier-a.example:5060;transport=udp'},
  'trunks[].outbound.auth': {text: 'Credentials for the carrier\'s digest challenge (401 or 407; one retry).'},
  'trunks[].outbound.auth.username': {text: 'The user name the gateway authenticates with.', example: 'acme'},
  'trunks[].outbound.auth.password': {text: 'The password the gateway authenticates with. A secret: never shown.', example: 'change-me'},

  dialplans: {text: 'Dialplans by name: graphs of nodes a call walks from `start`. The built-in `default` (answer, echo, hang up with cause 16) is always there; defining a dialplan named `default` replaces it.'},
  'dialplans.<plan>.start': {text: 'The first node of the plan (a key of its `nodes`).', example: 'answer'},
  'dialplans.<plan>.nodes': {text: 'The plan\'s nodes by id. Each node\'s outcome picks the next one; a plan that runs out of edges hangs up with cause 16; no call walks more than 256 nodes.'},
  [NODE]: {text: 'One step of the plan; `type` says which, and which other keys it takes.'},
  [`${NODE}.type`]: {text: 'What the node does: `answer` (200 OK, waits for the ACK), `echo` (sends the caller\'s audio back), `play` (a tone or a WAV file), `record` (the caller\'s audio to a WAV file), `bridge` (a B-leg to a trunk or URI, media relayed), `agent` (the call streamed to an AI agent over a WebSocket), `hangup`. Nodes that need media answer first.', example: 'bridge'},
  [`${NODE}[type=answer].next`]: {...NEXT, text: `${NEXT.text} Outcome: \`answered\`.`, example: 'agent'},
  [`${NODE}[type=echo].max_duration_s`]: {text: 'Stop echoing after this many seconds (else at the end of the call). Outcome: `completed`.', example: '60'},
  [`${NODE}[type=echo].next`]: {...NEXT, text: `${NEXT.text} Outcome: \`completed\`.`, example: 'bye'},
  [`${NODE}[type=play].tone`]: {text: 'Play a tone. Give `tone` or `file`.'},
  [`${NODE}[type=play].tone.frequency_hz`]: {text: 'The tone\'s frequency.', example: '440'},
  [`${NODE}[type=play].tone.duration_ms`]: {text: 'How long the tone plays.', example: '1000'},
  [`${NODE}[type=play].file`]: {text: 'Play an 8 kHz mono WAV file (PCM16, µ-law or A-law). Outcome `failed` when it cannot be read.', example: '/var/lib/clutchcall/prompts/welcome.wav'},
  [`${NODE}[type=play].next`]: {...NEXT, text: `${NEXT.text} Outcomes: \`completed\`, \`failed\`.`, example: 'bridge'},
  [`${NODE}[type=record].max_duration_s`]: {text: 'Record the caller\'s audio to `$CLUTCHCALL_HOME/recordings/<call_sid>.wav` for at most this many seconds; the CDR\'s `recording_url` is its `file://` URL. Outcome: `completed`.'},
  [`${NODE}[type=record].next`]: {...NEXT, text: `${NEXT.text} Outcome: \`completed\`.`, example: 'bye'},
  [`${NODE}[type=bridge].trunk`]: {text: 'Place the B-leg through this trunk (its `outbound` URI and credentials). Give `trunk` or `uri`.', example: 'carrier-a'},
  [`${NODE}[type=bridge].uri`]: {text: 'Place the B-leg to this SIP URI directly, through no trunk.', example: 'sip:+14155550100@192.0.2.20:5060'},
  [`${NODE}[type=bridge].to`]: {text: 'The number to call through the trunk; without it, the number the caller called.', example: '"+14155550100"'},
  [`${NODE}[type=bridge].timeout_s`]: {text: 'How long the B-leg may ring before the outcome is `no-answer`. The caller is answered only when the B-leg answers.'},
  [`${NODE}[type=bridge].next`]: {...NEXT, text: `${NEXT.text} Outcomes: \`answered\` (after the bridged call ended), \`busy\`, \`no-answer\`, \`failed\`.`},
  [`${NODE}[type=agent].url`]: {text: 'The agent\'s WebSocket URL; the call\'s audio goes there in the Twilio Media Streams framing ([agent-stream.md](agent-stream.md)).', example: 'wss://agents.example/voice'},
  [`${NODE}[type=agent].agent_id`]: {text: 'The agent\'s id: sent to the agent in `start.customParameters` and written to the CDR\'s `agent_id`.', example: 'support-bot'},
  [`${NODE}[type=agent].next`]: {...NEXT, text: `${NEXT.text} Outcomes: \`completed\` (the agent closed the socket), \`failed\` (no stream could start).`, example: '{ completed: bye, failed: fallback }'},
  [`${NODE}[type=hangup].cause`]: {text: 'The Q.850 cause to end the call with; before answer the caller gets the matching SIP status (17 → 486, 19 → 480).'},

  metrics: {text: 'The Prometheus endpoint ([metrics.md](metrics.md)).'},
  'metrics.enabled': {text: 'Serve `/metrics`.'},
  'metrics.listen': {text: 'Where `/metrics` listens; port 0 for any free port. The scrape has no authentication: bind a non-loopback address only where Prometheus needs it.', example: '0.0.0.0:9091'},

  tracing: {text: 'OTLP traces of every call and SDK RPC ([traces.md](traces.md)). Off unless a collector is configured. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as given) or `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`) override the endpoint and switch tracing on, `OTEL_SDK_DISABLED=true` switches it off; the whole rule is in [telemetry-defaults.md](telemetry-defaults.md).'},
  'tracing.enabled': {text: '`false` switches tracing off whatever else is set; `true` without an endpoint exports to `http://localhost:4318`. Left out, tracing runs only when a collector is configured (`tracing.endpoint` or the `OTEL_EXPORTER_OTLP_*` variables).', example: 'true'},
  'tracing.endpoint': {text: 'The collector\'s OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces` as protobuf. Setting it switches tracing on.', example: 'http://otel-collector.example:4318'},

  cdr: {text: 'Call Detail Records, one per call, through a durable spool ([cdr.md](cdr.md)).'},
  'cdr.enabled': {text: 'Write CDRs.'},
  'cdr.clickhouse': {text: 'A ClickHouse server to send CDRs to. Absent: the spool is the store (the embedded store, queried with chDB).'},
  'cdr.clickhouse.url': {text: 'The ClickHouse HTTP interface.'},
  'cdr.clickhouse.database': {text: 'The database of the CDR table.'},
  'cdr.clickhouse.table': {text: 'The CDR table (`clutchcall cdr migrate` creates it).'},
  'cdr.clickhouse.username': {text: 'The ClickHouse user.'},
  'cdr.clickhouse.password': {text: 'The ClickHouse password. A secret: never shown.', example: 'change-me'},
  'cdr.batch_size': {text: 'Rows per INSERT: a batch leaves when this many rows are pending or the oldest has waited `flush_interval_ms`. Raise it to catch up faster after an outage.', example: '10000'},
  'cdr.flush_interval_ms': {text: 'The longest a CDR waits in the spool before its batch is sent.'},
  'cdr.retention_days': {text: 'How long the embedded store keeps spool segments.'},
  'cdr.journal': {text: 'Crash-safe billing: connected calls are journaled so that a daemon that dies still writes their CDRs at its next start (status `failed`, cause 41); see [crash-safe-billing.md](crash-safe-billing.md).'},
  'cdr.journal.enabled': {text: 'Journal connected calls (one checksummed line at answer, synced in the background, a checkpoint of every connected call each interval).'},
  'cdr.journal.checkpoint_interval_ms': {text: 'How often every connected call\'s last-known time and media counters are saved; a recovered CDR ends at the last checkpoint, so its duration is short by less than one interval.', example: '2000'},

  heplify: {text: 'HEPv3 capture of every SIP message (and RTCP report) to Homer / heplify-server or sngrep ([hep.md](hep.md)); `clutchcall hep enable|disable` switch it at runtime.'},
  'heplify.enabled': {text: 'Capture from the start.'},
  'heplify.endpoint': {text: 'The collector, `HOST:PORT` (UDP); a host name is resolved when capture goes on.', example: '192.0.2.10:9060'},
  'heplify.capture_id': {text: 'The capture agent id (HEP chunk 0x0c).'},
  'heplify.password': {text: 'The auth key (HEP chunk 0x0e), sent when not empty. A secret: never shown.', example: 'change-me'},

  admin: {text: 'The admin socket the CLI talks to ([admin-protocol.md](admin-protocol.md)).'},
  'admin.socket': {text: 'The socket path; default `$CLUTCHCALL_HOME/admin.sock`. `~/` is expanded.', example: '/run/clutchcall/admin.sock'},
  'admin.max_queued_bytes': {text: 'Bytes of answers and events one connection may leave unread (16 KiB to 1 GiB). Past it the daemon stops reading that connection\'s requests, and an event subscriber (`calls tail`) is disconnected with `CC_ERR_ADMIN_SUBSCRIBER_LAGGING` ([security.md](security.md)).'},

  security: {text: 'SIP abuse control: which requests are admitted, per-source rate limits and bans ([sip-abuse-control.md](sip-abuse-control.md)). `clutchcall security bans` lists the banned sources.'},
  'security.unknown_sources': {text: 'What a request from an unknown source gets once trunks with `inbound` sections are configured: `drop` (no answer, no transaction state; scanners learn nothing) or `reject` (a stateless 403). INVITEs still reach the digest challenge when a trunk admits callers by credentials alone.', example: 'reject'},
  'security.trusted_cidrs': {text: 'Sources never screened: never rate-limited nor banned, and admitted for every method (monitoring, your own proxies; loopback by default, `[]` screens loopback too). Their INVITEs still go through trunk admission (403/404) and digest as before.', example: '[127.0.0.1/32, 10.0.0.0/8]'},
  'security.rate_limit': {text: 'Per-source request limit (like Kamailio pike): a source sending more than `requests` SIP requests within `window_ms` is banned for `ban_s`.'},
  'security.rate_limit.enabled': {text: 'Limit the request rate of each source.'},
  'security.rate_limit.requests': {text: 'Requests a source may send per window; the one beyond bans it.', example: '500'},
  'security.rate_limit.window_ms': {text: 'The length of the counting window, in milliseconds.'},
  'security.rate_limit.ban_s': {text: 'How long a source over the limit stays banned: every request from it is dropped.'},
  'security.rate_limit.trunk_sources': {text: '`exempt`: sources inside a trunk\'s `inbound.cidrs` are never rate-limited (a carrier sending 200 calls/s is not banned by a default); `limited`: they are limited like everyone else.', example: 'limited'},
  'security.auth_failures': {text: 'Digest failures per source (like fail2ban): `max` wrong credentials within `window_s` ban the source for `ban_s`.'},
  'security.auth_failures.enabled': {text: 'Ban sources that keep presenting wrong credentials.'},
  'security.auth_failures.max': {text: 'Wrong credentials a source may present per window; the one reaching it bans the source.', example: '10'},
  'security.auth_failures.window_s': {text: 'The length of the counting window, in seconds.'},
  'security.auth_failures.ban_s': {text: 'How long a source with too many wrong credentials stays banned.'},
  'security.overload': {text: 'Global overload control: while the SIP thread falls behind, new INVITEs get `503` with `Retry-After`; established calls and their BYEs go on, and recovery is automatic (checked every 500 ms).'},
  'security.overload.enabled': {text: 'Refuse new INVITEs while overloaded.'},
  'security.overload.max_event_loop_lag_ms': {text: 'Overloaded while the worst event-loop delay of the last 500 ms is above this.', example: '250'},
  'security.overload.max_event_loop_utilization': {text: 'Overloaded while the SIP thread was busy more than this share (0 to 1) of each of the last two 500 ms intervals: requests are then queuing up in the socket buffer faster than it takes them. Not counted while the abuse guard turned away at least 10 requests for each one it admitted (a flood, which refusing calls would not relieve). `1` switches this measure off.', example: '0.9'},
  'security.overload.max_transactions': {text: 'Overloaded while more SIP transactions than this are held (`clutchcall status` shows the count).', example: '50000'},
  'security.overload.retry_after_s': {text: 'The `Retry-After` of the 503, in seconds.'},
  'security.max_tracked_sources': {text: 'The most sources counted (and, separately, banned) at once; beyond it the least recently seen source is forgotten, so memory stays bounded under a spoofed-address flood.'},

  webrtc: {text: 'The WebRTC endpoint for SDK clients ([sdk-rpc.md](sdk-rpc.md)). Needs `auth.jwt`.'},
  'webrtc.enabled': {text: 'Serve the WHIP-style offer endpoint `POST /v1/webrtc`.', example: 'true'},
  'webrtc.listen': {text: 'Where the offer endpoint listens (HTTP).'},
  'webrtc.codecs': {text: 'Client audio codecs in order of preference. Opus is transcoded to G.711 on the main thread (about 0.5 ms per 20 ms frame), so gateways with many browser calls should list `PCMU` first.', example: '[PCMU]'},

  auth: {text: 'Authentication of SDK clients.'},
  'auth.jwt': {text: 'JWT verification of SDK clients (with `jose`). Give exactly one of `jwks_url` and `keys`.'},
  'auth.jwt.jwks_url': {text: 'Fetch the verification keys from this JWKS URL (cached; 5 s timeout).', example: 'https://auth.example/.well-known/jwks.json'},
  'auth.jwt.keys': {text: 'The verification keys as JWKs: public keys, or `oct` secrets for HS* algorithms. Private key members and `k` are secrets, never shown.'},
  'auth.jwt.keys[].kty': {text: 'The JWK key type; the other JWK members (`crv`, `x`, `y`, `n`, `e`, `k`, `kid`, …) are passed on as given.', example: 'EC'},
  'auth.jwt.issuer': {text: 'The required `iss` claim.', example: 'https://auth.example/'},
  'auth.jwt.audience': {text: 'The required `aud` claim.', example: 'clutchcall'},
  'auth.jwt.algorithms': {text: 'The algorithms a token may be signed with; `none` can never be listed.'},
  'auth.jwt.tenant_claim': {text: 'The claim naming the client\'s tenant, which must be a configured tenant.'},
  'auth.jwt.clock_tolerance_s': {text: 'Leeway for `exp`, `nbf` and `iat`, in seconds; an `iat` further in the future is refused.'},
  'auth.jwt.require_exp': {text: 'Refuse tokens without `exp`, which would be good forever. Turn off only for issuers whose keys you can rotate.'},
  'auth.jwt.max_token_lifetime_s': {text: 'The longest lifetime a token may claim, in seconds (1 s to a year): `exp - iat`, or `exp - now` for a token without `iat`.', example: '3600'},
}
