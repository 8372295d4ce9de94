// The active-call journal (format in src/cdr/journal-format.ts): every
// connected call, so that a daemon that dies still gets each one its CDR at
// the next start (journal-recovery.ts).
//
// Cheap on the hot path: an answer is one small write() into the kernel, made
// just before the 200 OK leaves (the `call.answering` stage), so a killed
// daemon keeps it. Durability against power loss comes from group commit: one
// fdatasync, off the event loop, covers every record written since the last,
// so its cost is per round, not per call, and the 200 OK never waits for it.
//
// End records are written at checkpoints, after the CDR spool's fsync: a call
// is dropped from the journal only once its row is on disk.
import {closeSync, constants, fdatasync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, write, writeSync} from 'node:fs'
import {promisify} from 'node:util'
import type {Logger} from 'pino'
import type {ChannelAnswer} from '../../../src/calls/events.js'
import {compactingPath, encodeRecord, journalPath, type JournaledCall, type JournalRecord} from '../../../src/cdr/journal-format.js'
import type {CdrRecord} from '../../../src/cdr/record.js'
import {CCError} from '../../../src/errors.js'
import type {CallRegistry} from '../../calls/registry.js'
import type {CallStage} from '../../calls/stage-events.js'
import type {CdrSpool} from './spool.js'

/** Append mode: every write lands at the end, also after the file is truncated to nothing. */
const CREATE_FOR_APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND

const fdatasyncAsync = promisify(fdatasync)
const fsyncAsync = promisify(fsync)
const writeAsync = promisify(write)

/** The journal is rewritten with only the connected calls once it is this big (or four checkpoints' worth). */
const DEFAULT_COMPACT_BYTES = 1024 * 1024
/** At most one write-failure warning per this interval: a full disk must not flood the log. */
const WARN_EVERY_MS = 60_000

export interface JournalOptions {
  readonly dir: string
  readonly checkpointIntervalMs: number
  readonly calls: CallRegistry
  /** Its fsync comes before any end record: a call leaves the journal only once its CDR row is on disk. */
  readonly spool: CdrSpool
  readonly log: Logger
  readonly compactBytes?: number
  readonly now?: () => number
}

/** A call's journal entry from its CDR so far. */
const journaled = (record: CdrRecord, answerMs: number, lastSeenMs: number, codec = record.codec): JournaledCall => ({
  call_sid: record.call_sid,
  tenant_id: record.tenant_id,
  trunk_id: record.trunk_id,
  direction: record.direction,
  from_number: record.from_number,
  to_number: record.to_number,
  start_timestamp_ms: record.start_timestamp_ms,
  answer_timestamp_ms: answerMs,
  codec: codec,
  packets_sent: record.packets_sent,
  packets_received: record.packets_received,
  packets_lost: record.packets_lost,
  bytes_sent: record.bytes_sent,
  jitter_ms: record.jitter_ms,
  estimated_mos: record.estimated_mos,
  recording_url: record.recording_url,
  agent_id: record.agent_id,
  last_seen_ms: lastSeenMs,
})

interface Round {
  readonly done: Promise<void>
  readonly resolve: () => void
}

const newRound = (): Round => {
  let resolve: () => void = () => {}
  const done = new Promise<void>((settle) => (resolve = settle))
  return {done, resolve}
}

export class ActiveCallJournal {
  /** Journaled calls without an end record yet (connected, or ended with their row not yet known durable). */
  private readonly connected = new Map<string, JournaledCall>()
  /** Calls whose CDR row is in the spool; their end records go out after the spool's next fsync. */
  private endedSinceCommit: string[] = []
  private fd = -1
  private bytes = 0
  private unsynced = false
  private nextRound: Round | undefined
  private running = false
  private checkpointDue = false
  private endsDue = false
  /** While a compaction runs, records also go here, to be copied into the new file before it replaces the old. */
  private compactionTail: Buffer[] | undefined
  private timer: NodeJS.Timeout | undefined
  private lastWarnAt = 0
  private readonly file: string
  private readonly compactBytes: number
  private readonly now: () => number
  /** Figures for the benchmark and the tests. */
  readonly counters = {records: 0, bytes: 0, fsyncs: 0, checkpoints: 0, compactions: 0, writeErrors: 0}

  private readonly onStage = (stage: CallStage) => {
    if (stage.kind === 'call.answering') void this.answered(stage.call_sid, stage.at_ms, stage.codec)
  }

  private readonly onAnswer = (event: ChannelAnswer) => {
    const entry = this.connected.get(event.call_sid)
    // Answered through `call.answering` already: the confirmed answer time goes out with the next checkpoint.
    if (entry) this.connected.set(event.call_sid, {...entry, answer_timestamp_ms: event.timestamp_ms, codec: event.codec || entry.codec})
    else void this.answered(event.call_sid, event.timestamp_ms, event.codec)
  }

  constructor(private readonly options: JournalOptions) {
    this.file = journalPath(options.dir)
    this.compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES
    this.now = options.now ?? Date.now
  }

  /** Starts an empty journal (after recovery has dealt with the old one), atomically, and subscribes. */
  start(): void {
    try {
      mkdirSync(this.options.dir, {recursive: true, mode: 0o700})
      const temporary = compactingPath(this.options.dir)
      const fd = openSync(temporary, CREATE_FOR_APPEND, 0o600)
      // At start only, before any call: blocking is harmless here.
      fsyncSync(fd)
      renameSync(temporary, this.file)
      syncDirectorySync(this.options.dir)
      this.fd = fd
      this.bytes = 0
    } catch (error) {
      throw new CCError('CC_ERR_CDR_JOURNAL', {path: this.options.dir, detail: error instanceof Error ? error.message : String(error)}, {cause: error})
    }
    const {calls, checkpointIntervalMs} = this.options
    calls.on('stage', this.onStage)
    calls.on('CHANNEL_ANSWER', this.onAnswer)
    this.timer = setInterval(() => void this.requestCheckpoint(), checkpointIntervalMs)
    this.timer.unref()
  }

  /** The CDR sink spooled this call's row: it leaves the journal at the next checkpoint. */
  ended(callSid: string): void {
    if (this.connected.has(callSid)) this.endedSinceCommit.push(callSid)
  }

  /** Calls journaled and not yet ended by an end record. */
  get journaledCalls(): number {
    return this.connected.size
  }

  get path(): string {
    return this.file
  }

  get sizeBytes(): number {
    return this.bytes
  }

  /** Writes the end records of every spooled call (after the spool's fsync); resolves when they are durable. */
  commitEnds(): Promise<void> {
    this.endsDue = true
    return this.commit()
  }

  /** A checkpoint now (the timer's job; the tests call it). */
  requestCheckpoint(): Promise<void> {
    this.checkpointDue = true
    this.endsDue = true
    return this.commit()
  }

  /**
   * A graceful stop: end records for every spooled call, then, if nothing is
   * connected any more, an empty journal. Calls still connected stay in it
   * for the next start.
   */
  async stop(): Promise<void> {
    const {calls, log} = this.options
    calls.off('stage', this.onStage)
    calls.off('CHANNEL_ANSWER', this.onAnswer)
    clearInterval(this.timer)
    // The last checkpoint: with every call ended and spooled, it leaves the journal empty.
    await this.requestCheckpoint()
    if (this.fd < 0) return
    if (this.connected.size > 0) log.warn({connectedCalls: this.connected.size, journal: this.path}, 'calls still connected at stop stay in the journal; the next start writes their CDRs')
    closeSync(this.fd)
    this.fd = -1
  }

  /** Journals an answer (in the kernel on return); resolves once it is on disk. */
  private answered(callSid: string, answerMs: number, codec: string): Promise<void> {
    const call = this.options.calls.get(callSid)
    if (!call || this.fd < 0) return Promise.resolve()
    const entry = journaled(call.record, answerMs, answerMs, codec)
    this.connected.set(callSid, entry)
    this.append({kind: 'answer', call: entry})
    return this.commit()
  }

  /** Resolves when everything appended so far is on disk (or its fsync failed, which is logged: calls go on). */
  commit(): Promise<void> {
    const round = (this.nextRound ??= newRound())
    if (!this.running) {
      this.running = true
      // One tick of grace: every answer of this turn of the event loop shares the round.
      setImmediate(() => void this.run())
    }
    return round.done
  }

  private async run(): Promise<void> {
    try {
      while (this.nextRound) {
        const round = this.nextRound
        this.nextRound = undefined
        try {
          await this.commitRound()
        } catch (error) {
          this.writeFailed(error)
        }
        round.resolve()
      }
    } finally {
      this.running = false
    }
  }

  /** One group commit: end records (after the spool's fsync), a checkpoint when due, one fdatasync. */
  private async commitRound(): Promise<void> {
    if (this.endsDue) {
      this.endsDue = false
      const ended = this.endedSinceCommit
      this.endedSinceCommit = []
      if (ended.length > 0) {
        try {
          await this.options.spool.sync()
        } catch (error) {
          // Not on disk yet: they stay in the journal and are tried again at the next checkpoint.
          this.endedSinceCommit.push(...ended)
          throw error
        }
        for (const sid of ended) this.connected.delete(sid)
        this.append({kind: 'end', call_sids: ended})
      }
    }
    if (this.checkpointDue) {
      this.checkpointDue = false
      await this.checkpoint()
    }
    if (this.unsynced && this.fd >= 0) {
      this.unsynced = false
      try {
        await fdatasyncAsync(this.fd)
        this.counters.fsyncs += 1
      } catch (error) {
        this.unsynced = true
        throw error
      }
    }
  }

  /** Every journaled call with its figures as of now; the journal is compacted instead when it has grown. */
  private async checkpoint(): Promise<void> {
    if (this.connected.size === 0) {
      // Nothing to recover: an empty file says so, and an idle gateway writes and fsyncs nothing.
      if (this.bytes > 0 && this.fd >= 0) {
        ftruncateSync(this.fd, 0)
        this.bytes = 0
        this.unsynced = true
      }
      return
    }
    const now = this.now()
    for (const [sid, entry] of this.connected) {
      const call = this.options.calls.get(sid)
      // A call that has ended keeps its last figures: its row is in the spool, its end record comes soon.
      if (!call) continue
      const record = call.record
      this.connected.set(sid, journaled(record, entry.answer_timestamp_ms, now, record.codec || entry.codec))
    }
    const line = encodeRecord({kind: 'checkpoint', at_ms: now, calls: [...this.connected.values()]})
    this.counters.checkpoints += 1
    if (this.bytes + line.length > Math.max(this.compactBytes, 4 * line.length)) await this.compact(line)
    else this.appendLine(line)
  }

  /**
   * Rewrites the journal as this one checkpoint (which holds every connected
   * call) plus whatever is appended meanwhile, then renames it over the old
   * file. Records keep going to the old file until the rename, so a crash at
   * any point leaves a complete journal; recovery reads both if both exist.
   */
  private async compact(checkpoint: Buffer): Promise<void> {
    const {dir} = this.options
    const temporary = compactingPath(dir)
    const fd = openSync(temporary, CREATE_FOR_APPEND, 0o600)
    this.compactionTail = []
    let size = checkpoint.length
    try {
      await writeFully(fd, checkpoint)
      await fdatasyncAsync(fd)
      for (;;) {
        const tail = this.compactionTail
        if (tail.length === 0) break
        this.compactionTail = []
        const bytes = Buffer.concat(tail)
        await writeFully(fd, bytes)
        size += bytes.length
        await fdatasyncAsync(fd)
      }
      // Synchronous from the empty-tail check to the switch: no record can fall between the two files.
      renameSync(temporary, this.file)
      const old = this.fd
      this.fd = fd
      this.bytes = size
      this.compactionTail = undefined
      closeSync(old)
    } catch (error) {
      this.compactionTail = undefined
      closeSync(fd)
      rmSync(temporary, {force: true})
      throw error
    }
    this.counters.compactions += 1
    await syncDirectory(dir)
  }

  private append(record: JournalRecord): void {
    this.appendLine(encodeRecord(record))
  }

  /** Into the kernel now (a killed daemon keeps it); on disk at the next fdatasync. */
  private appendLine(line: Buffer): void {
    if (this.fd < 0) return
    try {
      let written = 0
      while (written < line.length) written += writeSync(this.fd, line, written)
    } catch (error) {
      this.writeFailed(error)
      return
    }
    this.bytes += line.length
    this.unsynced = true
    this.counters.records += 1
    this.counters.bytes += line.length
    this.compactionTail?.push(line)
  }

  /** Calls go on whatever the disk does; the log says what is at risk. */
  private writeFailed(error: unknown): void {
    this.counters.writeErrors += 1
    const now = Date.now()
    if (now - this.lastWarnAt < WARN_EVERY_MS) return
    this.lastWarnAt = now
    this.options.log.error({err: error, journal: this.file, connectedCalls: this.connected.size}, 'the active-call journal cannot be written: calls connected now would get no CDR if the daemon died')
  }
}

const writeFully = async (fd: number, bytes: Buffer): Promise<void> => {
  let written = 0
  while (written < bytes.length) written += (await writeAsync(fd, bytes, written, bytes.length - written)).bytesWritten
}

/** A rename is durable once its directory is fsync'd. */
const syncDirectory = async (dir: string): Promise<void> => {
  const fd = openSync(dir, 'r')
  try {
    await fsyncAsync(fd)
  } finally {
    closeSync(fd)
  }
}

const syncDirectorySync = (dir: string): void => {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
