// Adapts a media shard's stream to the MediaEndpoint that dialplan nodes use.
// Mode changes are messages to the shard; a failed one is logged, never thrown
// into the dialplan (media trouble must not tear down signalling).
import {basename} from 'node:path'
import type {Logger} from 'pino'
import type {StreamCodec} from '../../src/media/codecs.js'
import {ALAW_TO_ULAW, ULAW_TO_ALAW} from '../../src/media/g711.js'
import {eventToDtmfDigit, parseTelephoneEvent} from '../../src/media/telephone-event.js'
import type {MediaQuality} from '../calls/call.js'
import type {MediaEndpoint, PlaySource} from '../calls/leg.js'
import type {MediaStream} from '../media/media-stream.js'

const translate = (table: Uint8Array, payload: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(payload.length)
  for (let index = 0; index < payload.length; index += 1) out[index] = table[payload[index] ?? 0] ?? 0
  return out
}

export class StreamMediaEndpoint implements MediaEndpoint {
  private dtmfHandlers: Array<(digit: string) => void> = []
  private lastDtmfTimestamp: number | undefined
  /**
   * The codec negotiated for this leg. At the tap, `PCMA` is converted to and
   * from µ-law here; G.722 and Opus are already µ-law there (the shard
   * transcodes them).
   */
  codec: StreamCodec = 'PCMU'

  constructor(
    readonly stream: MediaStream,
    private readonly log: Logger,
  ) {}

  silence(): void {
    this.apply(this.stream.setMode({kind: 'silence'}), 'silence')
  }

  echo(): void {
    this.apply(this.stream.setMode({kind: 'echo'}), 'echo')
  }

  async play(source: PlaySource): Promise<void> {
    const playSource = 'tone' in source ? {type: 'tone' as const, frequencyHz: source.tone.frequencyHz, durationMs: source.tone.durationMs} : {type: 'file' as const, path: source.file}
    try {
      await this.stream.setMode({kind: 'play', source: playSource})
    } catch (error) {
      this.log.warn({err: error}, 'play failed')
    }
  }

  /** The engine keeps recordings in its recordings directory; the file's name is what the node chose. */
  record(file: string): void {
    this.apply(this.stream.setMode({kind: 'record', file: basename(file)}), 'record')
  }

  relayWith(other: MediaEndpoint): void {
    if (!(other instanceof StreamMediaEndpoint)) throw new TypeError('can only relay between two shard streams')
    this.apply(this.stream.relayTo(other.stream), 'relay')
  }

  tap(onFrame: (ulaw: Buffer) => void): (ulaw: Buffer) => void {
    this.stream.onTap((frame) => {
      if (frame.telephoneEvent) this.dtmf(frame.payload, frame.timestamp)
      else onFrame(this.codec === 'PCMA' ? translate(ALAW_TO_ULAW, frame.payload) : Buffer.from(frame.payload))
    })
    this.apply(this.stream.setMode({kind: 'tap'}), 'tap')
    return (ulaw) => this.stream.inject(this.codec === 'PCMA' ? translate(ULAW_TO_ALAW, ulaw) : ulaw)
  }

  onDtmf(handler: (digit: string) => void): void {
    this.dtmfHandlers.push(handler)
  }

  quality(): MediaQuality | undefined {
    return this.stream.quality()
  }

  /** One digit per RFC 4733 event: the packets of one key press share a timestamp. */
  private dtmf(payload: Uint8Array, timestamp: number): void {
    const event = parseTelephoneEvent(payload)
    if (!event.ok || timestamp === this.lastDtmfTimestamp) return
    const digit = eventToDtmfDigit(event.event)
    if (digit === undefined) return
    this.lastDtmfTimestamp = timestamp
    for (const handler of this.dtmfHandlers) handler(digit)
  }

  private apply(change: Promise<unknown>, what: string): void {
    change.catch((error: unknown) => this.log.warn({err: error, mode: what}, 'media mode change failed'))
  }
}
