import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {onStopSignal} from '../src/cli/signals.js'
import {callFlags, junitFlag, thresholdFlags} from '../src/cli/synth-flags.js'
import type {SmokeReport} from '../src/smoke/smoke.js'

const SMOKE_DURATION_S = 3
const SMOKE_THRESHOLDS = {minMos: 4, maxLoss: 1, maxJitter: 30, maxPdd: 2000}
const DEFAULT_SETTLE_S = 10

export default class Smoke extends BaseCommand<SmokeReport> {
  static override summary = 'Smoke-test a running gateway: admin socket, metrics, one synthetic call, its CDR, HEP and trace, and a QUIC call.'
  static override description = `The check CI runs after deploying or starting a gateway. It prints one line per check, each ok, FAIL or skip:

daemon: daemon.status answers over the admin socket, and the gateway is not draining.

call: one synthetic call (as \`synth call\`) to --target, by default the gateway's own UDP SIP listener (sip:smoke@ADDRESS:PORT, which the built-in dialplan answers with an echo), meets the thresholds: status 200, MOS ≥ 4 both ways, loss ≤ 1 %, jitter ≤ 30 ms and PDD ≤ 2000 ms unless the flags say otherwise.

metrics: the metrics endpoint serves a valid Prometheus exposition (checked here, no promtool needed) with the ten clutchcall_* families of the design, and clutchcall_calls_total{tenant,trunk,direction,result} counted the call.

cdr: the call's CDR is in ClickHouse (after cdr.flush; this CLI's config must have cdr.clickhouse) or, with the embedded store, in the spool. Skipped when CDRs are off.

hep: with capture on, HEP frames were sent for the call without send errors. Skipped when capture is off.

trace: with tracing on, the OTLP collector acknowledged spans of the call's trace: the INVITE carries a W3C traceparent with a trace id chosen here (a traceparent given with --header is replaced), which the gateway's trace continues, and tracing.trace says how many of its spans the collector took. Waits up to 10 s (or --settle if longer); fails when the export failed or nothing was acknowledged by then. Skipped, saying why, when tracing is off: no collector configured (the default: none of tracing.endpoint, tracing.enabled: true, OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set), tracing.enabled: false, or OTEL_SDK_DISABLED=true. A configured collector that does not acknowledge fails the check.

quic: with the QUIC listener on (quic.enabled) and a JWT given with --quic-token or the environment variable CLUTCHCALL_SMOKE_TOKEN (better: a flag shows in the process list), one SDK call over QUIC (docs/quic.md): the handshake pins the certificate SHA-256 daemon.status shows, session.open with the token, call.create to the same target as the call check, a 440 Hz PCMU tone in QUIC datagrams for --duration, call.hangup; passes when at least half of the tone came back (the echo), the call's CHANNEL_HANGUP_COMPLETE says completed, and its MOS, loss and jitter meet the thresholds. A refused token fails the check with the gateway's reason (e.g. CC_ERR_RPC_UNAUTHENTICATED: token expired at …). Skipped, saying why, when the listener is off or no token is given.

The gateway's record of the call is found by the call's SIP Call-ID (sip_call_id of CHANNEL_CREATE), so --target must reach this gateway directly. Exit 0 when no check failed (skips are fine), 1 otherwise (CC_ERR_SMOKE_FAILED, with the report in .error.data under --json), 2 for a bad flag. --junit writes one test case per check.`

  static override examples = [
    {description: 'Smoke-test the local gateway', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'In CI, with a JUnit report', command: '<%= config.bin %> <%= command.id %> --junit reports/smoke.xml'},
    {description: 'Also place a call over QUIC, with a JWT for the gateway (auth.jwt)', command: 'CLUTCHCALL_SMOKE_TOKEN="$(cat smoke.jwt)" <%= config.bin %> <%= command.id %>'},
    {description: 'Through a trunk number, over TCP, with a looser MOS', command: "<%= config.bin %> <%= command.id %> --target 'sip:+15550000001@10.0.0.5:5060;transport=tcp' --min-mos 3.8"},
  ]

  static override flags = {
    target: Flags.string({summary: "The sip: URI to call (default: the gateway's own UDP SIP listener, sip:smoke@ADDRESS:PORT).", helpValue: 'URI'}),
    ...callFlags({durationS: SMOKE_DURATION_S}),
    ...thresholdFlags(SMOKE_THRESHOLDS),
    settle: Flags.string({summary: `Seconds to wait after the call for the gateway's metrics, CDR, HEP counters and trace to show it (default ${DEFAULT_SETTLE_S}; the trace check waits at least 10).`, helpValue: 'SECONDS'}),
    'quic-token': Flags.string({summary: 'A JWT for the quic check\'s session.open, of any tenant auth.jwt accepts (better in $CLUTCHCALL_SMOKE_TOKEN, out of ps and CI logs); without it the quic check is skipped.', helpValue: 'JWT', env: 'CLUTCHCALL_SMOKE_TOKEN'}),
    ...junitFlag,
  }

  async run(): Promise<SmokeReport> {
    const {flags} = await this.parse(Smoke)
    // Flags first: a bad one is a usage error before anything is tried.
    const {parseCallSettings, parseNumberFlag, parseTarget, parseThresholds} = await import('../src/synth/options.js')
    if (flags.target !== undefined) parseTarget(flags.target)
    const call = parseCallSettings(flags, {durationS: SMOKE_DURATION_S})
    const thresholds = parseThresholds(flags, {minMos: SMOKE_THRESHOLDS.minMos, maxLossPercent: SMOKE_THRESHOLDS.maxLoss, maxJitterMs: SMOKE_THRESHOLDS.maxJitter, maxPddMs: SMOKE_THRESHOLDS.maxPdd})
    const settleS = parseNumberFlag('settle', flags.settle, 0, 600, 'use seconds from 0 to 600') ?? DEFAULT_SETTLE_S
    const loaded = this.loadConfig(flags.config)
    const {runSmoke, smokeFailure, smokeJunitSuite} = await import('../src/smoke/smoke.js')
    const {smokeLine} = await import('../src/cli/output/synth.js')
    const stop = onStopSignal()
    const abort = new AbortController()
    void stop.received.then(() => abort.abort())
    let report: SmokeReport
    try {
      report = await runSmoke({
        socketPath: loaded.socketPath,
        cdrConfig: loaded.config.cdr,
        target: flags.target,
        call,
        thresholds,
        settleMs: settleS * 1000,
        quicToken: flags['quic-token'],
        signal: abort.signal,
        onCheck: this.jsonEnabled() ? undefined : (check) => this.log(smokeLine(check)),
      })
    } finally {
      stop.dispose()
    }
    if (flags.junit !== undefined) {
      const {writeJunit} = await import('../src/synth/junit.js')
      this.note(`JUnit report: ${writeJunit(flags.junit, smokeJunitSuite(report))}`)
    }
    if (!report.passed) throw smokeFailure(report)
    return report
  }
}
