// The daemon's logger: pino JSON lines to daemon.log, or stdout in the
// foreground. Every line carries the node name (node.name) once the config is
// loaded, so the logs of a fleet can be merged; calls get child loggers
// carrying call_sid, sip_call_id and trace_id.
import {mkdirSync, openSync, writeSync} from 'node:fs'
import {dirname} from 'node:path'
import pino, {type DestinationStream, type Logger} from 'pino'

/**
 * daemon.log's destination: the lines of one event-loop turn leave in one
 * write, at the end of the turn (setImmediate), and whatever is pending on
 * exit is written then. A write per line, synchronous as pino's file
 * destination makes it, was 4–5 % of the SIP thread at 400 call setups a
 * second (three lines a call). A line is on disk within the turn that logged
 * it, before the daemon reads its next datagram; only a SIGKILL in the middle
 * of a turn loses that turn's lines.
 */
export class TurnBatchedLogFile implements DestinationStream {
  private pending = ''
  private scheduled = false
  private readonly fd: number

  constructor(file: string) {
    mkdirSync(dirname(file), {recursive: true})
    this.fd = openSync(file, 'a', 0o600)
    process.on('exit', () => this.flushSync())
  }

  write(line: string): void {
    this.pending += line
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flushSync())
  }

  /** Writes what is pending now (pino's logger.flush() comes here too). */
  flushSync(): void {
    this.scheduled = false
    if (this.pending === '') return
    let bytes = Buffer.from(this.pending)
    this.pending = ''
    // A regular file takes all of it at once; the loop is for the rare short write.
    while (bytes.length > 0) bytes = bytes.subarray(writeSync(this.fd, bytes))
  }

  flush(callback?: (error?: Error) => void): void {
    this.flushSync()
    callback?.()
  }
}

export const createLogger = (options: {readonly foreground: boolean; readonly logFile: string; readonly level?: string; readonly node?: string}): Logger =>
  pino(
    {
      level: options.level ?? 'info',
      base: options.node === undefined ? {pid: process.pid} : {pid: process.pid, node: options.node},
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: secrets are redacted from config before logging, and these paths never print.
      redact: {paths: ['*.password', '*.*.password', 'password', 'authorization'], censor: '********'},
    },
    // stdout may be a pipe that is full (EAGAIN): pino's own destination handles that.
    options.foreground ? pino.destination({dest: 1, sync: true}) : new TurnBatchedLogFile(options.logFile),
  )
