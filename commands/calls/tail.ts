import {AdminClient} from '../../src/admin/client.js'
import {BaseCommand} from '../../src/cli/base-command.js'
import {callFilter, callFilterFlags, describeCallFilter} from '../../src/cli/flags.js'
import {onStopSignal} from '../../src/cli/signals.js'
import {CCError} from '../../src/errors.js'

type Ending = 'quit' | 'lost'

export default class CallsTail extends BaseCommand<void> {
  static override summary = 'Follow live calls and call events as they happen.'
  static override description = `On a terminal: a live view of the active calls (short sid, tenant, trunk, from, to, state, duration, codec, jitter, loss, MOS), redrawn every second, above a log of the latest call events (one line each: time, type, short call sid, and the key facts: numbers on CHANNEL_CREATE, codec on CHANNEL_ANSWER, final status, Q.850 cause, duration and MOS on CHANNEL_HANGUP_COMPLETE). Quality updates refresh the table rather than the log. The short sid (CA and 8 hex digits) is what \`calls hangup\` takes; on a narrow terminal (80 columns) long cells end in … and the table leaves out trunk, codec, jitter, tenant and duration, in that order, as far as needed, rather than wrap. q or Ctrl-C quits.

This is a streaming command: with --json, or when stdout is not a terminal, it prints one JSON object per line (NDJSON), one per call event (CHANNEL_CREATE, CHANNEL_ANSWER, CHANNEL_QUALITY every second per call with media, CHANNEL_HANGUP_COMPLETE with every CDR field), written as each event arrives, with no envelope around the stream. Nothing is printed while no event happens; the calls already up when it starts are in \`calls list\`. SIGINT or SIGTERM ends it with exit 0. If the daemon goes away it fails with CC_ERR_ADMIN_CONNECTION_LOST (exit 1), and if the reader falls more than admin.max_queued_bytes of events behind the daemon cuts it off and it fails with CC_ERR_ADMIN_SUBSCRIBER_LAGGING (exit 1); with --json the error is the JSON envelope on stdout, on one line like the events.`

  static override examples = [
    {description: 'Watch every call live', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Watch one tenant', command: '<%= config.bin %> <%= command.id %> --tenant acme'},
    {description: 'Final status and cause of every call that ends, as it ends', command: "<%= config.bin %> <%= command.id %> --json | jq -c 'select(.type == \"CHANNEL_HANGUP_COMPLETE\") | {call_sid, status, q850_cause}'"},
  ]

  static override flags = {...callFilterFlags}

  /** The stream is NDJSON, so its error envelope is one line too: a reader parsing line by line gets it whole. */
  override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json)}\n`)
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(CallsTail)
    const loaded = this.loadConfig(flags.config)
    const filter = callFilter(flags)
    const stop = onStopSignal()
    try {
      const live = process.stdout.isTTY === true && !this.jsonEnabled()
      // ink and React load here, for this view only; before connecting, so no event waits on them.
      const view = live ? await import('../../src/cli/output/tail-view.js') : undefined
      const client = await AdminClient.connect(loaded.socketPath, {client: 'clutchcall calls tail'})
      let ending: Ending
      try {
        const lost = client.closed().then((): Ending => 'lost')
        const quit = stop.received.then((): Ending => 'quit')
        if (view) {
          const {createEventFeed} = await import('../../src/cli/calls-state.js')
          const feed = createEventFeed()
          const calls = await client.subscribeCalls(filter, (event) => feed.push(event))
          const tail = view.runTailView({calls, subscribe: feed.subscribe, filter: describeCallFilter(filter)})
          ending = await Promise.race([lost, quit, tail.done.then((): Ending => 'quit')])
          tail.stop()
          await tail.done
        } else {
          // A reader that goes away (`| head -1`) ends the stream like a signal would.
          const readerGone = new Promise<Ending>((resolve) => process.stdout.once('error', () => resolve('quit')))
          const {ndjsonLine} = await import('../../src/cli/output/calls.js')
          await client.subscribeCalls(filter, (event) => {
            // A full stdout stops the reading of events: the daemon, not this process, holds what is behind (and says when it is too much).
            if (!process.stdout.write(ndjsonLine(event))) client.pauseUntilDrained(process.stdout)
          })
          ending = await Promise.race([lost, quit, readerGone])
        }
      } finally {
        client.close()
      }
      // The daemon may have said why it closed the stream (a tail that fell behind: CC_ERR_ADMIN_SUBSCRIBER_LAGGING).
      if (ending === 'lost') throw client.closeReason ?? new CCError('CC_ERR_ADMIN_CONNECTION_LOST')
    } finally {
      stop.dispose()
    }
  }
}
