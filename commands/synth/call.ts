import {Args} from '@oclif/core'
import {BaseCommand} from '../../src/cli/base-command.js'
import {onStopSignal} from '../../src/cli/signals.js'
import {callFlags, junitFlag, loadFlags, thresholdFlags} from '../../src/cli/synth-flags.js'
import {CCError} from '../../src/errors.js'
import type {SynthProgress, SynthReport} from '../../src/synth/types.js'

/** Runs expected to take longer than this get the live view on a terminal. */
const LONG_RUN_S = 3
/** Event-loop lateness (p99) above which the jitter figures are called into question. */
const LOOP_DELAY_WARNING_MS = 10

export default class SynthCall extends BaseCommand<SynthReport> {
  static override summary = 'Place synthetic calls and measure them: post-dial delay, status, loss, jitter, RTT and MOS both ways.'
  static override description = `Runs in this process as a SIP user agent (UDP, or TCP with ;transport=tcp in the URI; digest auth with --user and --password or $CLUTCHCALL_SYNTH_PASSWORD). Each call offers G.711 (PCMU and PCMA, or --codec), sends a test signal once answered (a 100 ms burst of 1004 Hz at -10 dBm0 every second, over RTP with RTCP every ~1 s), holds --duration seconds, hangs up, and waits up to 2 s for the far end's final RTCP report (its RTCP BYE; 0.25 s when it sent no RTCP during a call of 8 s or more). --ring-timeout gives up on a call not answered in time: CANCEL once it rings, 408 when nothing answered at all.

Per call: PDD (INVITE to the first 18x) and answer delay (INVITE to 200), the final SIP status, duration, codec, packets sent and received, and per direction loss, jitter and the G.107 MOS (src/media/quality.ts, the gateway's own). Inbound is what we received, from our RFC 3550 receiver statistics: against an echo that is the far end's echo of our signal. Outbound is what the far end received of our stream, from the report block about our SSRC in its RTCP; it is "-" when the far end sends no RTCP (SIPp's -rtp_echo). RTT comes from RTCP (our SR, its LSR/DLSR); when the far end echoes, the round trip of the test signal itself is measured too (the burst onsets heard back).

A call passes when its final status is one of --expect-status (default 200) and, if answered: it lasted until we hung up, RTP came back (calls of 1 s or more), and every measured direction meets --min-mos (default 3.5), --max-loss and --max-jitter; --max-pdd applies to every call. Exit 0 only when every call passed; 1 otherwise (CC_ERR_SYNTH_THRESHOLDS, with the whole report in .error.data under --json); 2 for a bad flag. On a terminal a long run shows a live view of the counts; Ctrl-C stops starting calls, hangs up the ones up and reports (the interrupted calls fail).`

  static override examples = [
    {description: "One 5-second call to the gateway's echo dialplan", command: '<%= config.bin %> <%= command.id %> sip:echo@127.0.0.1:5060'},
    {description: '100 calls, 20 at a time, 5 new per second, over TCP, with thresholds', command: "<%= config.bin %> <%= command.id %> 'sip:+14155550100@sbc.example;transport=tcp' --count 100 --concurrency 20 --rate 5 --min-mos 4 --max-loss 1 --max-pdd 2000"},
    {description: 'A trunk that challenges, with the password from the environment', command: 'CLUTCHCALL_SYNTH_PASSWORD=s3cret <%= config.bin %> <%= command.id %> sip:+14155550100@sbc.example --user acme --from +14155550199'},
    {description: 'A number that must be busy', command: '<%= config.bin %> <%= command.id %> sip:busy@gw.example --expect-status 486'},
    {description: 'A JUnit report for CI, and the figures for a script', command: "<%= config.bin %> <%= command.id %> sip:echo@gw.example --count 10 --junit reports/synth.xml --json | jq '.result.summary.mosInbound'"},
  ]

  static override args = {
    uri: Args.string({description: "The sip: URI to call, e.g. sip:echo@127.0.0.1:5060 or 'sip:+14155550100@sbc.example;transport=tcp' (quoted: the shell would take the ; otherwise).", required: true}),
  }

  static override flags = {
    ...loadFlags,
    ...callFlags(),
    ...thresholdFlags(),
    ...junitFlag,
  }

  async run(): Promise<SynthReport> {
    const {args, flags} = await this.parse(SynthCall)
    const {parseSettings, parseThresholds} = await import('../../src/synth/options.js')
    const settings = parseSettings(args.uri, flags)
    const thresholds = parseThresholds(flags)
    const expectedS = Math.ceil(settings.count / settings.concurrency) * (settings.durationS + 1)
    const live = process.stdout.isTTY === true && !this.jsonEnabled() && expectedS > LONG_RUN_S
    // The SIP stack, the media code and (for the live view) ink load only now, for this command only.
    const view = live ? await import('../../src/cli/output/synth-progress.js') : undefined
    const {runSynth} = await import('../../src/synth/runner.js')
    const stop = onStopSignal()
    const abort = new AbortController()
    void stop.received.then(() => abort.abort())
    const initial: SynthProgress = {total: settings.count, started: 0, active: 0, finished: 0, passed: 0, failed: 0, elapsedMs: 0}
    const progress = view?.runSynthProgress(settings.target.uri, initial)
    let report: SynthReport
    try {
      report = await runSynth({settings, thresholds, signal: abort.signal, onProgress: progress?.update})
    } finally {
      await progress?.stop()
      stop.dispose()
    }
    const {loopDelayMs} = report.summary
    if (loopDelayMs.p99 > LOOP_DELAY_WARNING_MS) {
      this.note(`Warning: this process ran late by up to ${loopDelayMs.p99.toFixed(0)} ms (p99; max ${loopDelayMs.max.toFixed(0)} ms) during the run, and the jitter and RTT figures include that: run fewer calls per process, or on a less busy machine.`)
    }
    if (flags.junit !== undefined) {
      const {writeJunit} = await import('../../src/synth/junit.js')
      const {synthJunitSuite} = await import('../../src/synth/report.js')
      const written = writeJunit(flags.junit, synthJunitSuite(report))
      this.note(`JUnit report: ${written}`)
    }
    if (!this.jsonEnabled()) {
      const {synthReportText} = await import('../../src/cli/output/synth.js')
      this.log(synthReportText(report))
    }
    const failed = settings.count - report.summary.passed
    const notPlaced = settings.count - report.calls.length
    const note = notPlaced > 0 ? ` (${notPlaced} not placed: interrupted)` : ''
    if (failed > 0) throw new CCError('CC_ERR_SYNTH_THRESHOLDS', {failed, total: settings.count, target: settings.target.uri, note}, {data: report})
    return report
  }
}
