// The daemon's logger: pino JSON lines to daemon.log, or stdout in the
// foreground. Calls get child loggers carrying call_sid, sip_call_id and trace_id.
import pino, {type Logger} from 'pino'

export const createLogger = (options: {readonly foreground: boolean; readonly logFile: string; readonly level?: string}): Logger =>
  pino(
    {
      level: options.level ?? 'info',
      base: {pid: process.pid},
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: secrets are redacted from config before logging, and these paths never print.
      redact: {paths: ['*.password', '*.*.password', 'password', 'authorization'], censor: '********'},
    },
    options.foreground ? pino.destination({dest: 1, sync: true}) : pino.destination({dest: options.logFile, sync: true, mkdir: true}),
  )
