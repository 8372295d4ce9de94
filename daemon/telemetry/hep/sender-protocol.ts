// The messages between the HEP sink (main thread) and its sender thread.
// Plain data only: it crosses a MessagePort.

/** workerData of the sender thread: the collector, resolved. */
export interface SenderInit {
  readonly address: string
  readonly port: number
}

/** Frames per batch: what each frame is, for the counts (SIP or RTCP). */
export const FRAME_SIP = 0
export const FRAME_RTCP = 1

export type SenderCommand =
  /**
   * Frames back to back in `buffer` (transferred, and transferred back in
   * 'returned' once every frame has left: the buffers are a pool, never
   * allocated per batch); frame i ends at `ends[i]`; `kinds[i]` is FRAME_SIP or FRAME_RTCP.
   */
  | {readonly type: 'batch'; readonly seq: number; readonly buffer: ArrayBuffer; readonly ends: Uint32Array; readonly kinds: Uint8Array}
  /** Send what is queued, report the final counts ('closed'), close the socket. */
  | {readonly type: 'close'}

export interface SenderCounts {
  /** Frames handed to the kernel. */
  readonly sip: number
  readonly rtcp: number
  /** Frames the kernel refused, ICMP errors on the connected socket (a closed collector port), frames dropped for a full send queue. */
  readonly errors: number
  readonly lastError: {readonly at: number; readonly message: string} | null
  /** The last batch sent. */
  readonly seq: number
}

export type SenderEvent =
  | {readonly type: 'ready'}
  | {readonly type: 'failed'; readonly message: string}
  | ({readonly type: 'counts'} & SenderCounts)
  /** A batch's buffer back (every frame in it has left), with the counts. */
  | ({readonly type: 'returned'; readonly buffer: ArrayBuffer} & SenderCounts)
  | ({readonly type: 'closed'} & SenderCounts)
