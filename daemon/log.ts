// The daemon's logger: pino JSON lines to daemon.log, or stdout in the
// foreground. Every line carries the node name (node.name) once the config is
// loaded, so the logs of a fleet can be merged; calls get child loggers
// carrying call_sid, sip_call_id and trace_id.
import pino, {type Logger} from 'pino'

export const createLogger = (options: {readonly foreground: boolean; readonly logFile: string; readonly level?: string; readonly node?: string}): Logger =>
  pino(
    {
      level: options.level ?? 'info',
      base: options.node === undefined ? {pid: process.pid} : {pid: process.pid, node: options.node},
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: secrets are redacted from config before logging, and these paths never print.
      redact: {paths: ['*.password', '*.*.password', 'password', 'authorization'], censor: '********'},
    },
    options.foreground ? pino.destination({dest: 1, sync: true}) : pino.destination({dest: options.logFile, sync: true, mkdir: true}),
  )
