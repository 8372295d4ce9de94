// The main thread's side of HEP sending: frames are encoded straight into a
// batch buffer, and the batch goes to the sender thread (sender-worker.ts)
// every FLUSH_MS or when it is nearly full. The batch buffers are a pool that
// travels between the threads (transferred, never copied, never allocated per
// batch: a fresh 256 KiB allocation costs more than the whole batch's
// encoding). The main thread thus pays the encoding and a share of one
// message per batch; the system calls happen on the sender thread. Nothing
// here blocks or throws into a call: when every buffer is out (the sender is
// behind), frames are dropped and counted.
import {Worker} from 'node:worker_threads'
import {HEP_MAX_FRAME_LENGTH, writeHepFrame, type HepFrameInit} from '../../../src/hep/encoder.js'
import {FRAME_RTCP, FRAME_SIP, type SenderCommand, type SenderCounts, type SenderEvent, type SenderInit} from './sender-protocol.js'

/** A batch leaves at most this long after its first frame. */
export const FLUSH_MS = 10
/** Batch buffer size: room for many frames, and always for one more of the largest (64 KiB). */
const BATCH_BYTES = 256 * 1024
const MAX_FRAMES_PER_BATCH = 1024
/** Buffers in the pool: up to this many batches can be on their way (4 MiB at most). */
const POOL_SIZE = 16
const START_TIMEOUT_MS = 5000

const ZERO: SenderCounts = {sip: 0, rtcp: 0, errors: 0, lastError: null, seq: 0}

export class HepSenderStartError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HepSenderStartError'
  }
}

export class HepSender {
  /** Buffers back from the sender thread, ready for a batch. */
  private readonly free: ArrayBuffer[] = []
  private allocated = 0
  /** The batch being filled; undefined when every buffer is out. */
  private buffer: Buffer | undefined
  private used = 0
  private ends = new Uint32Array(MAX_FRAMES_PER_BATCH)
  private kinds = new Uint8Array(MAX_FRAMES_PER_BATCH)
  private frames = 0
  private flushTimer: NodeJS.Timeout | undefined
  private seq = 0
  private counts: SenderCounts = ZERO
  /** Frames dropped or refused on this side (encoding errors are the caller's). */
  private localErrors = 0
  private localLastError: SenderCounts['lastError'] = null
  private closed = false
  private gone = false
  private markClosed: (counts: SenderCounts) => void = () => {}
  private readonly closedCounts: Promise<SenderCounts> = new Promise((resolve) => (this.markClosed = resolve))

  private constructor(
    private readonly worker: Worker,
    /** Called when the sender thread died on its own (not closed). */
    private readonly onDied: (error: Error) => void,
  ) {}

  /** Starts the sender thread with its socket connected to the collector; rejects when it cannot. */
  static start(init: SenderInit, onDied: (error: Error) => void, workerUrl = new URL('./sender-worker.js', import.meta.url)): Promise<HepSender> {
    const worker = new Worker(workerUrl, {workerData: init, name: 'clutchcall-hep-sender'})
    // The daemon must not wait for capture to exit.
    worker.unref()
    const sender = new HepSender(worker, onDied)
    return new Promise((resolve, reject) => {
      let started = false
      const timer = setTimeout(() => {
        void worker.terminate()
        reject(new HepSenderStartError(`the HEP sender thread did not start within ${START_TIMEOUT_MS} ms`))
      }, START_TIMEOUT_MS)
      worker.on('message', (event: SenderEvent) => {
        switch (event.type) {
          case 'ready':
            started = true
            clearTimeout(timer)
            resolve(sender)
            return
          case 'failed':
            clearTimeout(timer)
            void worker.terminate()
            reject(new HepSenderStartError(event.message))
            return
          case 'counts':
            sender.counts = event
            return
          case 'returned':
            sender.counts = event
            sender.free.push(event.buffer)
            return
          case 'closed':
            sender.counts = event
            sender.markClosed(event)
        }
      })
      worker.on('error', (error) => {
        clearTimeout(timer)
        if (!started) reject(new HepSenderStartError(error.message))
        else sender.died(error)
      })
      worker.on('exit', (code) => {
        clearTimeout(timer)
        if (!started) reject(new HepSenderStartError(`the HEP sender thread exited with code ${code}`))
        else sender.died(new Error(`the HEP sender thread exited with code ${code}`))
      })
    })
  }

  /** Frames sent, errors and the last error: the sender thread's as of its last report, plus this side's drops. */
  get totals(): SenderCounts {
    const {sip, rtcp, errors, lastError, seq} = this.counts
    const local = this.localLastError
    return {sip, rtcp, errors: errors + this.localErrors, lastError: local !== null && (lastError === null || local.at > lastError.at) ? local : lastError, seq}
  }

  /** Encodes a frame into the batch (throws HepEncodeError for a frame that cannot be encoded; nothing is written then). */
  write(init: HepFrameInit, kind: 'sip' | 'rtcp'): void {
    if (this.closed) return
    const buffer = this.buffer ?? this.takeBuffer()
    if (buffer === undefined) {
      this.dropped(`the HEP sender thread is ${POOL_SIZE} batches behind; frame dropped`)
      return
    }
    const length = writeHepFrame(buffer, this.used, init)
    this.used += length
    this.ends[this.frames] = this.used
    this.kinds[this.frames] = kind === 'sip' ? FRAME_SIP : FRAME_RTCP
    this.frames++
    if (this.used > BATCH_BYTES - HEP_MAX_FRAME_LENGTH || this.frames === MAX_FRAMES_PER_BATCH) this.flush()
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS)
  }

  /** Hands the batch to the sender thread now. */
  flush(): void {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    if (this.frames === 0 || this.gone || this.buffer === undefined) return
    // The buffer moves to the sender thread (transferred, not copied) and comes back once its frames have left.
    const buffer = this.buffer.buffer as ArrayBuffer
    const ends = this.ends.slice(0, this.frames)
    const kinds = this.kinds.slice(0, this.frames)
    this.buffer = undefined
    this.used = 0
    this.frames = 0
    this.seq++
    const command: SenderCommand = {type: 'batch', seq: this.seq, buffer, ends, kinds}
    this.worker.postMessage(command, [buffer, ends.buffer as ArrayBuffer, kinds.buffer as ArrayBuffer])
  }

  /** A buffer from the pool (allocated while the pool is not full yet); undefined when all are out. */
  private takeBuffer(): Buffer | undefined {
    let buffer = this.free.pop()
    if (buffer === undefined && this.allocated < POOL_SIZE) {
      buffer = new ArrayBuffer(BATCH_BYTES)
      this.allocated++
    }
    if (buffer === undefined) return undefined
    this.buffer = Buffer.from(buffer)
    this.used = 0
    return this.buffer
  }

  /** Sends what is batched, lets the sender thread drain its queue (up to timeoutMs), and ends it; resolves with the final counts. */
  async close(timeoutMs = 1000): Promise<SenderCounts> {
    if (!this.closed) {
      this.flush()
      this.closed = true
      if (!this.gone) this.worker.postMessage({type: 'close'} satisfies SenderCommand)
    }
    if (!this.gone) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([this.closedCounts, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
      clearTimeout(timer)
      this.gone = true
      await this.worker.terminate()
    }
    return this.totals
  }

  private dropped(message: string): void {
    this.localErrors++
    this.localLastError = {at: Date.now(), message}
  }

  private died(error: Error): void {
    if (this.gone) return
    this.gone = true
    if (!this.closed) this.onDied(error)
  }
}
