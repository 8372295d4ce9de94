// Fakes of a call leg and its media for dialplan unit tests (the real ones need SIP and RTP peers).
import type {MediaQuality} from '../../daemon/calls/call.js'
import type {CallLeg, LegEnding, MediaEndpoint, PlaySource} from '../../daemon/calls/leg.js'

export class FakeMedia implements MediaEndpoint {
  mode = 'silence'
  relayedWith: MediaEndpoint | undefined
  recordedTo: string | undefined
  played: PlaySource[] = []
  sentFrames: Buffer[] = []
  private frameHandler: ((ulaw: Buffer) => void) | undefined
  private dtmfHandler: ((digit: string) => void) | undefined
  silence(): void {
    this.mode = 'silence'
  }
  echo(): void {
    this.mode = 'echo'
  }
  async play(source: PlaySource): Promise<void> {
    this.mode = 'play'
    this.played.push(source)
  }
  record(file: string): void {
    this.mode = 'record'
    this.recordedTo = file
  }
  relayWith(other: MediaEndpoint): void {
    this.mode = 'relay'
    this.relayedWith = other
  }
  tap(onFrame: (ulaw: Buffer) => void): (ulaw: Buffer) => void {
    this.mode = 'tap'
    this.frameHandler = onFrame
    return (ulaw) => this.sentFrames.push(Buffer.from(ulaw))
  }
  onDtmf(handler: (digit: string) => void): void {
    this.dtmfHandler = handler
  }
  /** Test side: the caller speaks or presses a key. */
  receive(ulaw: Buffer): void {
    this.frameHandler?.(ulaw)
  }
  pressKey(digit: string): void {
    this.dtmfHandler?.(digit)
  }
  quality(): MediaQuality | undefined {
    return undefined
  }
}

export class FakeLeg implements CallLeg {
  readonly media = new FakeMedia()
  answers = 0
  hangupCause: number | undefined
  private resolveEnded: (ending: LegEnding) => void = () => {}
  readonly ended = new Promise<LegEnding>((resolve) => (this.resolveEnded = resolve))
  constructor(private readonly onAnswer: () => void = () => {}) {}
  async answer(): Promise<void> {
    this.answers += 1
    this.onAnswer()
  }
  async hangup(cause: number): Promise<void> {
    this.hangupCause ??= cause
    this.end(cause)
  }
  /** Test side: the far end hangs up. */
  end(cause = 16): void {
    this.resolveEnded({cause, status: 'completed'})
  }
}
