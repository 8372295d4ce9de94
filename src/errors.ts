// The one error registry shared by the CLI and the daemon. Errors cross the
// admin socket as their code plus details, and are rebuilt from this table on
// the other side, so the wording and the exit code live in exactly one place.

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

interface ErrorSpec {
  /** Message template; `{name}` is filled from the error's details. */
  readonly message: string
  /** What the operator can try next. */
  readonly hint: string
  readonly exitCode: typeof EXIT_FAILED | typeof EXIT_USAGE
  /** JSON-RPC error code used when the error crosses the admin socket. */
  readonly rpcCode: number
}

const spec = (message: string, hint: string, rpcCode = -32000, exitCode: 1 | 2 = EXIT_FAILED): ErrorSpec => ({
  message,
  hint,
  exitCode,
  rpcCode,
})

export const ERRORS = {
  CC_ERR_USAGE: spec('{detail}', 'Run the command with --help for its flags and examples.', -32602, EXIT_USAGE),
  CC_ERR_INTERNAL: spec('Internal error: {detail}', 'This is a bug; the daemon log ($CLUTCHCALL_HOME/daemon.log) has the stack trace.', -32603),

  CC_ERR_UNKNOWN_COMMAND: spec('Unknown command `{command}`{suggestion}', 'Run `clutchcall help` for the list of commands, or `clutchcall help TOPIC` for one topic.', -32605, EXIT_USAGE),
  CC_ERR_PERMISSION_DENIED: spec('Permission denied: {action} {path} (as {user}); {blocker} belongs to {owner} with mode {mode}', 'Run the command as {owner} (e.g. `sudo -u {owner} clutchcall …`), or point CLUTCHCALL_HOME at a directory this user owns.', -32018),
  CC_ERR_CONFIG_NOT_FOUND: spec('Config file {file} does not exist', 'Pass an existing file with --config, or unset CLUTCHCALL_CONFIG to run on the built-in defaults.', -32001, EXIT_USAGE),
  CC_ERR_CONFIG_YAML: spec('{file}:{line}:{column}: invalid YAML: {detail}', 'Fix the YAML syntax at that line; `clutchcall config validate FILE` re-checks it.', -32002),
  CC_ERR_CONFIG_INVALID: spec('{file}: {count} config error(s):\n{detail}', 'Fix each key named above; `clutchcall config validate FILE` re-checks it.', -32003),
  CC_ERR_CONFIG_EXISTS: spec('{file} already exists; config init does not overwrite it', 'Pass --force to replace it, give another FILE, or print the sample with `clutchcall config init --stdout`.', -32005, EXIT_USAGE),
  CC_ERR_CONFIG_WRITE: spec('Cannot write the config file {file}: {detail}', 'Check that this user can write to that folder, or give another FILE.', -32006),
  CC_ERR_CONFIG_RELOAD_REFUSED: spec('Config reload refused; the gateway keeps running on its current config. {detail}', 'Fix {file} (`clutchcall config validate {file}` checks it), then run `clutchcall config reload` again.', -32007),
  CC_ERR_ENV_INVALID: spec('Environment variable {name} is invalid: {detail}', 'Fix or unset the variable.', -32004),

  CC_ERR_DAEMON_NOT_RUNNING: spec('The gateway daemon is not running (no daemon answers on {socket})', 'Start it with `clutchcall start`.', -32010),
  CC_ERR_DAEMON_RUNNING: spec('The gateway daemon is already running (pid {pid}, socket {socket})', 'Use `clutchcall status` to inspect it or `clutchcall stop` first.', -32011),
  CC_ERR_DAEMON_START_FAILED: spec('The gateway daemon failed to start: {detail}', 'Read {log} for details, or run `clutchcall start --foreground` to watch it start.', -32012),
  CC_ERR_DAEMON_START_TIMEOUT: spec('The gateway daemon did not report ready within {seconds}s', 'Read {log}; the daemon was stopped.', -32013),
  CC_ERR_STOP_TIMEOUT: spec('The gateway daemon (pid {pid}) did not exit within {seconds}s', 'Retry with a longer --timeout, or `clutchcall stop --force`.', -32014),
  CC_ERR_PORT_IN_USE: spec('Cannot listen on {address}:{port} for {purpose}: the port is already in use', 'Stop whatever holds the port (`ss -ltnup | grep :{port}`) or change {key} in the config.', -32015),
  CC_ERR_LISTEN_FAILED: spec('Cannot listen on {address}:{port} for {purpose}: {detail}', 'Check the address exists on this host and the port is allowed ({key}).', -32016),
  CC_ERR_TLS_FILE: spec('Cannot use {path} as the TLS {what} ({key}): {detail}', 'Check that the file exists, is readable by this user and holds PEM (`openssl x509 -in FILE -noout -subject -dates` shows a certificate); relative paths are relative to the config file\'s folder.', -32019),
  CC_ERR_HOME_UNSAFE: spec('{path} is not safe to use as the ClutchCall home: {detail}', 'Use a directory owned by this user (set CLUTCHCALL_HOME).', -32017),

  CC_ERR_ADMIN_PROTOCOL_MISMATCH: spec('The CLI speaks admin protocol {cli} but the daemon speaks {daemon}', 'Use the clutchcall CLI from the same release as the running daemon, or restart the daemon with this one.', -32020),
  CC_ERR_ADMIN_PARSE: spec('Admin request is not valid JSON: {detail}', 'Send one JSON-RPC 2.0 object per line.', -32700),
  CC_ERR_ADMIN_INVALID_REQUEST: spec('Admin request is not a valid JSON-RPC 2.0 request: {detail}', 'Send {"jsonrpc":"2.0","id":1,"method":"topic.verb","params":{}}.', -32600),
  CC_ERR_ADMIN_UNKNOWN_METHOD: spec('Unknown admin method {method}', 'Known methods: {known}.', -32601),
  CC_ERR_ADMIN_INVALID_PARAMS: spec('Invalid params for {method}: {detail}', 'See the method table in src/admin/protocol.ts.', -32602),
  CC_ERR_ADMIN_HANDSHAKE_REQUIRED: spec('The first admin request must be daemon.hello', 'Send daemon.hello with your protocol version first.', -32021),
  CC_ERR_ADMIN_CONNECTION_LOST: spec('The admin connection to the daemon closed before it answered', 'Check `clutchcall status`; the daemon log says why it went away.', -32022),
  CC_ERR_ADMIN_TIMEOUT: spec('The daemon did not answer {method} within {seconds}s', 'The daemon may be overloaded; check `clutchcall status` and its log.', -32023),
  CC_ERR_ADMIN_SUBSCRIBER_LAGGING: spec('The daemon closed this event stream: it fell behind by more than {max_bytes} bytes of unread events', 'Read the stream as fast as events come (a consumer that blocks stdout stalls it), or raise admin.max_queued_bytes; then start it again.', -32025),
  CC_ERR_TAIL_GAVE_UP: spec('calls tail gave up reconnecting: no event stream from the daemon for {seconds}s ({attempts} attempts; the last failed with {code}: {reason})', 'Check `clutchcall status` and the daemon log; without --give-up-after, `calls tail --reconnect` retries for as long as it runs.', -32026),
  CC_ERR_CALL_NOT_FOUND: spec('No active call {call_sid}', 'List the active calls with `clutchcall calls list`; the call may have ended already.', -32030),
  CC_ERR_CALL_SID_AMBIGUOUS: spec('The SID prefix {prefix} matches {count} {what}: {matches}', 'Give more characters of the SID ({where} shows them in full).', -32031, EXIT_USAGE),
  CC_ERR_RECORDING_NOT_FOUND: spec('No recording {call_sid} in {dir}', 'List the recordings with `clutchcall recordings list`; a call is recorded only when its dialplan runs a record node.', -32032),
  CC_ERR_CDR_DISABLED: spec('CDRs are disabled in the config (cdr.enabled: false)', 'Set cdr.enabled: true and restart the gateway.', -32040),
  CC_ERR_CDR_NO_CLICKHOUSE: spec('{command} needs a ClickHouse server, and none is configured (cdr.clickhouse is absent)', 'Add cdr.clickhouse (url, database, table) to the config; the embedded store in {spool} needs no migration.', -32041, EXIT_USAGE),
  CC_ERR_CLICKHOUSE_UNREACHABLE: spec('Cannot reach ClickHouse at {url}: {detail}', 'Check that clickhouse-server runs and cdr.clickhouse.url is right (`curl {url}/ping` answers Ok.).', -32042),
  CC_ERR_CLICKHOUSE_FAILED: spec('ClickHouse at {url} refused {operation}: {detail}', 'Read the ClickHouse error above; `clutchcall cdr migrate --dry-run` shows the DDL the writer expects.', -32043),
  CC_ERR_CHDB_UNAVAILABLE: spec('The embedded CDR store needs chDB (npm package chdb), which cannot be loaded: {detail}', 'Install it with `npm install chdb` (Linux or macOS, x86-64 or arm64), or configure cdr.clickhouse to query a server instead.', -32045),
  CC_ERR_CDR_QUERY_FAILED: spec('The CDR query failed: {detail}', 'Check the filters; `--json` shows the SQL parameters that were sent.', -32046),
  CC_ERR_CDR_FLUSH_INCOMPLETE: spec('{pending} CDR row(s) are still waiting for ClickHouse after {seconds}s; last error: {detail}', 'Nothing is lost: the rows stay in the spool and are retried. `clutchcall cdr status` shows the retries.', -32047),
  CC_ERR_CDR_SPOOL: spec('The CDR spool in {path} cannot be used: {detail}', 'Check the disk and the permissions of that directory; the daemon log has the details.', -32048),
  CC_ERR_CDR_JOURNAL: spec('The active-call journal in {path} cannot be used: {detail}', 'Check the disk and the permissions of that directory (the daemon needs to create and write it, mode 0700); the daemon log has the details.', -32049),
  CC_ERR_HEP_ENDPOINT_UNRESOLVABLE: spec('Cannot switch HEP capture on: the collector host {host} does not resolve ({detail})', 'Check the name, or give the collector as an IP address: `clutchcall hep enable --endpoint 192.0.2.10:9060`.', -32050),
  CC_ERR_HEP_SOCKET: spec('Cannot switch HEP capture on: no UDP socket towards {endpoint} ({detail})', 'Check that the address family of {endpoint} has a route on this host; the daemon log has the details.', -32051),
  CC_ERR_HEP_NOT_READY: spec('HEP capture cannot be switched yet: the gateway is still starting or already stopping', 'Retry once `clutchcall status` shows the daemon running.', -32052),
  CC_ERR_SYNTH_THRESHOLDS: spec('{failed} of {total} synthetic call(s) to {target} did not pass{note}', 'Each failed call names the threshold it missed (with --json: .error.data.calls[].failures); `clutchcall calls tail` on the gateway shows the calls as it sees them.', -32060),
  CC_ERR_SYNTH_LOCAL: spec('The synthetic caller cannot run here: {detail}', 'Check that this host has a route to the target (or pass --local-address) and that UDP ports 40000-59999 are not all taken.', -32061),
  CC_ERR_SYNTH_JUNIT_WRITE: spec('Cannot write the JUnit report {file}: {detail}', 'Pass a --junit path in a folder this user can write to.', -32062),
  CC_ERR_SMOKE_FAILED: spec('Smoke test failed: {failed} of {total} check(s) failed ({checks})', 'Each FAIL line says what is wrong (with --json: .error.data.checks); `clutchcall status` and the daemon log say more.', -32063),
  CC_ERR_RPC_UNAUTHENTICATED: spec('The SDK client is not authenticated: {reason}', 'Send a JWT (`Authorization: Bearer <JWT>` with a WebRTC offer; `token` of session.open over QUIC) signed by a key of auth.jwt, with its issuer and audience, a tenant claim, and exp/nbf that hold now.', -32070),
  CC_ERR_RPC_BAD_FRAME: spec('The SDK frame cannot be parsed: {detail}', 'A frame is 10 header bytes (version 1, kind, method_id u32, request_id u32, big-endian) and a UTF-8 JSON payload; see docs/sdk-rpc.md.', -32071),
  CC_ERR_RPC_UNKNOWN_METHOD: spec('Unknown SDK method id {method_id}', 'Known method ids: {known}.', -32072),
  CC_ERR_RPC_INVALID_PARAMS: spec('Invalid params for {method}: {detail}', 'See the method table in docs/sdk-rpc.md.', -32073),
  CC_ERR_WEBRTC_OFFER: spec('The WebRTC offer cannot be answered: {detail}', 'POST an SDP offer (Content-Type: application/sdp) with an audio m-line offering PCMU and a DataChannel.', -32074),
  CC_ERR_QUIC_LIMIT: spec('QUIC limit reached: {detail}', 'The limits are quic.limits.* in the config (docs/quic.md); close connections or streams that are no longer needed, or raise the limit.', -32075),
  CC_ERR_QUIC_CERT: spec('The QUIC certificate cannot be used: {detail}', 'Give quic.cert and quic.key as PEM files readable by the daemon (a certificate and its private key), or remove both to use a generated self-signed certificate.', -32076),
  CC_ERR_DRAINING: spec('The gateway is draining and takes no new work', 'Wait for the stop to finish, then start it again.', -32024),
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS
export type ErrorDetails = Record<string, string | number | boolean | undefined>

const fill = (template: string, details: ErrorDetails): string =>
  template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = details[name]
    return value === undefined ? whole : String(value)
  })

export class CCError extends Error {
  readonly code: ErrorCode
  readonly details: ErrorDetails
  readonly hint: string
  readonly exitCode: number
  /** Structured detail for --json consumers, such as the list of config problems. */
  readonly data: unknown

  constructor(code: ErrorCode, details: ErrorDetails = {}, options?: {cause?: unknown; data?: unknown}) {
    const entry = ERRORS[code]
    super(fill(entry.message, details), options?.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'CCError'
    this.code = code
    this.details = details
    this.data = options?.data
    this.hint = fill(entry.hint, details)
    this.exitCode = entry.exitCode
  }

  get rpcCode(): number {
    return ERRORS[this.code].rpcCode
  }

  toJSON(): {code: ErrorCode; message: string; hint: string; exitCode: number; details: ErrorDetails; data?: unknown} {
    return {code: this.code, message: this.message, hint: this.hint, exitCode: this.exitCode, details: this.details, ...(this.data === undefined ? {} : {data: this.data})}
  }
}

export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && Object.hasOwn(ERRORS, value)

/** Wraps anything thrown into a CCError, keeping CCErrors as they are. */
export const toCCError = (error: unknown): CCError => {
  if (error instanceof CCError) return error
  const detail = error instanceof Error ? error.message : String(error)
  return new CCError('CC_ERR_INTERNAL', {detail}, {cause: error})
}
