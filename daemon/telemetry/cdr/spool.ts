// The durable local spool of CDR lines (layout in src/cdr/spool-files.ts).
//
// A line is written to the active segment synchronously, inside the hangup
// event, so by the time anyone else hears that a call ended its CDR is in the
// kernel and survives the daemon being killed. fsync is batched: `sync()` runs
// before any line is sent to ClickHouse, so a row is on disk before it leaves.
import {closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, rmSync, statSync, writeSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {promisify} from 'node:util'
import {countLines, listSegments, peekLine, segmentPath, type SpoolPosition} from '../../../src/cdr/spool-files.js'

export type {SpoolPosition}
import {CCError} from '../../../src/errors.js'

const fdatasyncAsync = promisify(fdatasync)


export interface SpoolRead {
  /** Whole lines, newline-terminated, exactly as spooled. */
  readonly body: Buffer
  readonly rows: number
  readonly start: SpoolPosition
  readonly end: SpoolPosition
}

export interface SpoolOptions {
  /** A new segment starts when the active one would grow past this size. */
  readonly segmentMaxBytes?: number
  /** …or when the UTC day changes, so retention and trimming work on whole days. */
  readonly now?: () => number
}

const DEFAULT_SEGMENT_MAX_BYTES = 64 * 1024 * 1024
const NEWLINE = 0x0a

/** The lines of a spool read, each with its newline. */
export const splitLines = (body: Buffer): string[] => {
  const lines: string[] = []
  for (let start = 0, newline = body.indexOf(NEWLINE); newline !== -1; start = newline + 1, newline = body.indexOf(NEWLINE, start)) {
    lines.push(body.toString('utf8', start, newline + 1))
  }
  return lines
}

const dayOf = (ms: number): number => Math.floor(ms / 86_400_000)

export class CdrSpool {
  private activeSegment = 0
  private activeFd = -1
  private activeBytes = 0
  private activeDay = 0
  private dirty = false
  /** The fdatasync under way: a second caller waits for it rather than returning before the lines are on disk. */
  private syncing: Promise<void> | undefined
  private readonly segmentMaxBytes: number
  private readonly now: () => number

  constructor(
    readonly dir: string,
    options: SpoolOptions = {},
  ) {
    this.segmentMaxBytes = options.segmentMaxBytes ?? DEFAULT_SEGMENT_MAX_BYTES
    this.now = options.now ?? Date.now
  }

  /** Opens the newest segment for appending, after cutting off a line a crash left half-written. */
  open(): void {
    try {
      mkdirSync(this.dir, {recursive: true, mode: 0o700})
      const segments = listSegments(this.dir)
      const last = segments.at(-1)
      if (last === undefined) return this.startSegment(1)
      const path = segmentPath(this.dir, last)
      const repair = openSync(path, 'r+')
      let kept: number
      try {
        const size = fstatSync(repair).size
        kept = completeLength(repair, size)
        if (kept !== size) ftruncateSync(repair, kept)
      } finally {
        closeSync(repair)
      }
      this.activeSegment = last
      // Append mode: every write lands at the end, whatever the file position.
      this.activeFd = openSync(path, 'a', 0o600)
      this.activeBytes = kept
      this.activeDay = dayOf(statSync(path).birthtimeMs || this.now())
    } catch (error) {
      throw spoolError(this.dir, error)
    }
  }

  get active(): SpoolPosition {
    return {segment: this.activeSegment, offset: this.activeBytes}
  }

  /** Appends whole lines (each ending in a newline), synchronously. */
  append(lines: string): void {
    const bytes = Buffer.from(lines)
    if (this.activeBytes > 0 && (this.activeBytes + bytes.length > this.segmentMaxBytes || dayOf(this.now()) !== this.activeDay)) this.rotate()
    let written = 0
    while (written < bytes.length) written += writeSync(this.activeFd, bytes, written)
    this.activeBytes += bytes.length
    this.dirty = true
  }

  /** Makes every appended line durable (fdatasync, off the event loop). */
  async sync(): Promise<void> {
    // Two callers (the writer before a batch, the journal before its end records) share one fdatasync;
    // lines appended while one runs need the next.
    while (this.dirty || this.syncing) {
      if (this.syncing) {
        await this.syncing
        continue
      }
      this.dirty = false
      this.syncing = fdatasyncAsync(this.activeFd).then(
        () => {
          this.syncing = undefined
        },
        (error: unknown) => {
          this.syncing = undefined
          this.dirty = true
          throw spoolError(this.dir, error)
        },
      )
      await this.syncing
    }
  }

  /** The same, blocking: only at start, before any call is taken (journal recovery). */
  syncNow(): void {
    if (!this.dirty) return
    try {
      fdatasyncSync(this.activeFd)
      this.dirty = false
    } catch (error) {
      throw spoolError(this.dir, error)
    }
  }

  /**
   * Up to `maxLines` complete lines from `start`, within one segment (moving on to the next
   * segment at the end of one), as the bytes on disk: a batch is sent exactly as it was spooled.
   */
  async read(start: SpoolPosition, maxLines: number): Promise<SpoolRead> {
    let position = start
    for (;;) {
      const size = this.segmentSize(position.segment)
      if (position.offset < size || position.segment >= this.activeSegment) break
      const next = listSegments(this.dir).find((segment) => segment > position.segment)
      if (next === undefined) break
      position = {segment: next, offset: 0}
    }
    const size = this.segmentSize(position.segment)
    if (position.offset >= size) return {body: Buffer.alloc(0), rows: 0, start: position, end: position}
    const handle = await open(segmentPath(this.dir, position.segment), 'r')
    try {
      const chunks: Buffer[] = []
      let rows = 0
      let length = 0
      let offset = position.offset
      const chunkSize = Math.min(8 * 1024 * 1024, Math.max(64 * 1024, maxLines * 600))
      while (rows < maxLines && offset < size) {
        const chunk = Buffer.allocUnsafe(Math.min(chunkSize, size - offset))
        const {bytesRead} = await handle.read(chunk, 0, chunk.length, offset)
        if (bytesRead === 0) break
        offset += bytesRead
        // Count whole lines in this chunk, stopping at the one that completes the batch.
        let usable = 0
        for (let newline = chunk.indexOf(NEWLINE); newline !== -1 && newline < bytesRead && rows < maxLines; newline = chunk.indexOf(NEWLINE, newline + 1)) {
          rows += 1
          usable = newline + 1
        }
        const last = rows >= maxLines || offset >= size
        // A chunk that ends mid-line keeps its tail: the next chunk completes the line.
        const keep = last ? usable : bytesRead
        chunks.push(chunk.subarray(0, keep))
        length += keep
        if (last) break
      }
      const body = Buffer.concat(chunks, length)
      const complete = body.lastIndexOf(NEWLINE) + 1
      return {body: body.subarray(0, complete), rows, start: position, end: {segment: position.segment, offset: position.offset + complete}}
    } finally {
      await handle.close()
    }
  }

  /** The first complete line at or after `position`. */
  peekLine(position: SpoolPosition): string | undefined {
    return peekLine(this.dir, position)
  }

  /** Complete lines from `from` to the end of the spool (the pending depth after a restart). */
  countLines(from: SpoolPosition): number {
    return countLines(this.dir, from)
  }

  /** True when a closed segment older than `segment` is still on disk (removeSegmentsBefore would remove it). */
  hasSegmentsBefore(segment: number): boolean {
    const oldest = listSegments(this.dir)[0]
    return oldest !== undefined && oldest < segment && oldest < this.activeSegment
  }

  /** Removes every segment before `segment` (their rows are acknowledged, or past retention). */
  removeSegmentsBefore(segment: number): number {
    let removed = 0
    for (const old of listSegments(this.dir)) {
      if (old >= segment || old >= this.activeSegment) continue
      rmSync(segmentPath(this.dir, old), {force: true})
      removed += 1
    }
    return removed
  }

  /** Removes closed segments last written before `cutoffMs` (the embedded store's retention). */
  removeSegmentsOlderThan(cutoffMs: number): number {
    let removed = 0
    for (const segment of listSegments(this.dir)) {
      if (segment >= this.activeSegment) continue
      const path = segmentPath(this.dir, segment)
      if (statSync(path).mtimeMs < cutoffMs) {
        rmSync(path, {force: true})
        removed += 1
      }
    }
    return removed
  }

  /** Total bytes and segment count on disk. */
  usage(): {segments: number; bytes: number} {
    const segments = listSegments(this.dir)
    return {segments: segments.length, bytes: segments.reduce((total, segment) => total + this.segmentSize(segment), 0)}
  }

  segmentSize(segment: number): number {
    if (segment === this.activeSegment) return this.activeBytes
    try {
      return statSync(segmentPath(this.dir, segment)).size
    } catch {
      return 0
    }
  }

  close(): void {
    if (this.activeFd >= 0) closeSync(this.activeFd)
    this.activeFd = -1
  }

  private rotate(): void {
    // sync() only reaches the active segment: the one being closed must be on disk first. Once per
    // segment (64 MiB or a UTC day), so a blocking fdatasync here costs calls nothing that shows.
    const closing = this.activeFd
    if (this.dirty) fdatasyncSync(closing)
    this.dirty = false
    // An fdatasync still running on the threadpool must not find its descriptor closed (or reused).
    const close = () => closeSync(closing)
    if (this.syncing) void this.syncing.then(close, close)
    else close()
    this.startSegment(this.activeSegment + 1)
  }

  private startSegment(segment: number): void {
    this.activeFd = openSync(segmentPath(this.dir, segment), 'a', 0o600)
    this.activeSegment = segment
    this.activeBytes = 0
    this.activeDay = dayOf(this.now())
  }
}

/** The length of the file up to and including its last newline. */
const completeLength = (fd: number, size: number): number => {
  const buffer = Buffer.allocUnsafe(64 * 1024)
  let end = size
  while (end > 0) {
    const length = Math.min(buffer.length, end)
    const bytesRead = readSync(fd, buffer, 0, length, end - length)
    const index = buffer.subarray(0, bytesRead).lastIndexOf(NEWLINE)
    if (index !== -1) return end - length + index + 1
    end -= length
  }
  return 0
}

const spoolError = (dir: string, error: unknown): CCError =>
  error instanceof CCError ? error : new CCError('CC_ERR_CDR_SPOOL', {path: dir, detail: error instanceof Error ? error.message : String(error)}, {cause: error})
