import {Flags} from '@oclif/core'
import {AdminClient} from '../../src/admin/client.js'
import {BaseCommand} from '../../src/cli/base-command.js'
import {callFilter, callFilterFlags, describeCallFilter} from '../../src/cli/flags.js'
import {onStopSignal} from '../../src/cli/signals.js'
import {CCError} from '../../src/errors.js'

export default class CallsTail extends BaseCommand<void> {
  static override summary = 'Follow live calls and call events as they happen.'
  static override description = `On a terminal: a live view of the active calls (short sid, tenant, trunk, from, to, state, duration, codec, jitter, loss, MOS), redrawn every second, above a log of the latest call events (one line each: time, type, short call sid, and the key facts: numbers on CHANNEL_CREATE, codec on CHANNEL_ANSWER, final status, Q.850 cause, duration and MOS on CHANNEL_HANGUP_COMPLETE). Quality updates refresh the table rather than the log. The short sid (CA and 8 hex digits) is what \`calls hangup\` takes; on a narrow terminal (80 columns) long cells end in … and the table leaves out trunk, codec, jitter, tenant and duration, in that order, as far as needed, rather than wrap. q or Ctrl-C quits.

This is a streaming command: with --json, or when stdout is not a terminal, it prints one JSON object per line (NDJSON), one per call event (CHANNEL_CREATE, CHANNEL_ANSWER, CHANNEL_QUALITY every second per call with media, CHANNEL_HANGUP_COMPLETE with every CDR field), written as each event arrives, with no envelope around the stream. Nothing is printed while no event happens; the calls already up when it starts are in \`calls list\`. SIGINT or SIGTERM ends it with exit 0.

The stream can be cut: when the daemon goes away (stopped, restarted, crashed: CC_ERR_ADMIN_CONNECTION_LOST), or when the reader falls more than admin.max_queued_bytes of events behind and the daemon cuts it off (CC_ERR_ADMIN_SUBSCRIBER_LAGGING). Without --reconnect the tail then fails with that error (exit 1); with --json the error is the JSON envelope on stdout, on one line like the events.

With --reconnect it goes on instead. It says on stderr why the stream was cut and that events may have been missed (calls that started and ended meanwhile are in \`cdr query\`), waits 0.2 s, and subscribes again; while that fails (the daemon not running, a timeout, a daemon draining for a stop) it retries with a backoff that doubles up to 5 s, and goes back to 0.2 s once a subscription succeeds. It prints one stderr line per change of state, not one per attempt: the cut, the first failure of each kind, and "Reconnected" with the daemon's pid and the number of calls up by then; then the events go on as before. With --json each of these is one JSON object per line on stderr ({"diagnostic": "stream_cut" | "daemon_unavailable" | "stream_resumed", "message", "timestamp_ms", …}; stream_cut and daemon_unavailable carry the error as the envelope does), and stdout carries only call events. If the daemon is not running when the tail starts, it waits for it the same way. It retries for as long as it runs; --give-up-after SECONDS makes it fail with CC_ERR_TAIL_GAVE_UP (exit 1) once the stream has been gone that long. Errors that would fail again the same way (a daemon of another admin protocol version, a permission denied) end it with exit 1 even with --reconnect. SIGINT or SIGTERM ends it with exit 0 at any time, also while it waits; on a terminal the live view is closed while the stream is down and opens again, with the calls up then, when it is back. --give-up-after without --reconnect is a usage error (exit 2).`

  static override examples = [
    {description: 'Watch every call live', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Watch one tenant', command: '<%= config.bin %> <%= command.id %> --tenant acme'},
    {description: 'Final status and cause of every call that ends, as it ends', command: "<%= config.bin %> <%= command.id %> --json | jq -c 'select(.type == \"CHANNEL_HANGUP_COMPLETE\") | {call_sid, status, q850_cause}'"},
    {description: 'Ship events to a file across daemon restarts; why the stream was cut goes to another', command: '<%= config.bin %> <%= command.id %> --json --reconnect >> events.ndjson 2>> tail-diagnostics.ndjson'},
    {description: 'Follow, but fail if the daemon stays away for more than 5 minutes', command: '<%= config.bin %> <%= command.id %> --reconnect --give-up-after 300'},
  ]

  static override flags = {
    ...callFilterFlags,
    reconnect: Flags.boolean({
      summary: 'When the stream is cut (daemon stopped or restarted, reader too slow), say why on stderr and subscribe again instead of failing.',
    }),
    'give-up-after': Flags.integer({
      summary: 'With --reconnect: fail (CC_ERR_TAIL_GAVE_UP, exit 1) once the stream has been gone this many seconds. Default: retry for as long as it runs.',
      helpValue: 'SECONDS',
      min: 1,
    }),
  }

  /** The stream is NDJSON, so its error envelope is one line too: a reader parsing line by line gets it whole. */
  override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json)}\n`)
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(CallsTail)
    const reconnect = flags.reconnect === true
    if (flags['give-up-after'] !== undefined && !reconnect) {
      throw new CCError('CC_ERR_USAGE', {detail: '--give-up-after needs --reconnect: without it the tail does not retry, and fails as soon as the stream is cut'})
    }
    const loaded = this.loadConfig(flags.config)
    const filter = callFilter(flags)
    const json = this.jsonEnabled()
    const stop = onStopSignal()
    const stopped = new AbortController()
    void stop.received.then(() => stopped.abort())
    try {
      const live = process.stdout.isTTY === true && !json
      // ink and React load here, for this view only; before connecting, so no event waits on them.
      const view = live ? await import('../../src/cli/output/tail-view.js') : undefined
      const feeds = view ? await import('../../src/cli/calls-state.js') : undefined
      const {ndjsonLine} = await import('../../src/cli/output/calls.js')
      const {followCalls} = await import('../../src/cli/follow-calls.js')
      const {tailNoticeLine} = await import('../../src/cli/output/tail-notice.js')
      // A reader that goes away (`| head -1`) ends the stream like a signal would.
      if (!view) process.stdout.once('error', () => stopped.abort())
      // Diagnostics are best effort: a stderr nobody reads any more does not stop the events.
      process.stderr.on('error', () => {})

      const open = async () => {
        const client = await AdminClient.connect(loaded.socketPath, {client: 'clutchcall calls tail'})
        try {
          // The daemon may say why it closed the stream (a tail that fell behind: CC_ERR_ADMIN_SUBSCRIBER_LAGGING).
          const lost = client.closed().then(() => client.closeReason ?? new CCError('CC_ERR_ADMIN_CONNECTION_LOST'))
          const pid = client.hello?.pid ?? 0
          if (view && feeds) {
            const feed = feeds.createEventFeed()
            const calls = await client.subscribeCalls(filter, (event) => feed.push(event))
            // Events wait in the feed until the view mounts (start), after any stderr line about the reconnection.
            let tail: {done: Promise<void>; stop: () => void} | undefined
            return {
              pid,
              activeCalls: calls.length,
              start: () => {
                const mounted = view.runTailView({calls, subscribe: feed.subscribe, filter: describeCallFilter(filter)})
                tail = mounted
                return Promise.race([lost, mounted.done.then(() => 'quit' as const)])
              },
              close: async () => {
                tail?.stop()
                await tail?.done
                client.close()
              },
            }
          }
          const calls = await client.subscribeCalls(filter, (event) => {
            // A full stdout stops the reading of events: the daemon, not this process, holds what is behind (and says when it is too much).
            if (!process.stdout.write(ndjsonLine(event))) client.pauseUntilDrained(process.stdout)
          })
          return {pid, activeCalls: calls.length, start: () => lost, close: async () => client.close()}
        } catch (error) {
          client.close()
          throw error
        }
      }

      await followCalls({
        open,
        reconnect,
        giveUpAfterS: flags['give-up-after'],
        signal: stopped.signal,
        // stderr only: stdout carries call events and nothing else.
        notice: (notice) => process.stderr.write(tailNoticeLine(notice, json)),
      })
    } finally {
      stop.dispose()
    }
  }
}
