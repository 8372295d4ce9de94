// The admin socket server: JSON-RPC 2.0 lines over a Unix socket (mode 0600).
// A bad line gets a JSON-RPC error and the connection stays open; nothing a
// client sends can take the daemon down, and nothing a client leaves unread
// grows the daemon without bound: past maxQueuedBytes of unread answers the
// connection's requests are no longer read (the kernel then pushes back on the
// client), and an event subscriber that falls that far behind is told so and
// disconnected.
import {chmodSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import type {Logger} from 'pino'
import {decodeRequest, encodeLine, errorObject, errorResponse, LineSplitter, salvageId, type RpcId, type RpcNotification, type RpcResponse} from '../../src/admin/codec.js'
import {
  ADMIN_METHOD_NAMES,
  ADMIN_METHODS,
  ADMIN_PROTOCOL_VERSION,
  isAdminMethod,
  STREAM_ERROR_NOTIFICATION,
  type AdminMethod,
  type AdminParsedParams,
  type AdminResult,
  type HelloResult,
} from '../../src/admin/protocol.js'
import {CCError, toCCError} from '../../src/errors.js'

export interface AdminConnection {
  /**
   * Sends a stream notification (no id) on this connection, e.g. `calls.event`.
   * When the client has left more than the cap unread, it gets a final
   * `stream.error` (CC_ERR_ADMIN_SUBSCRIBER_LAGGING) instead and the connection closes.
   */
  notify(method: string, params: unknown): void
  /** Runs when the connection closes: subscriptions unsubscribe here. */
  onClose(cleanup: () => void): void
}

type HandledMethod = Exclude<AdminMethod, 'daemon.hello'>
export type AdminHandlers = {
  [M in HandledMethod]: (params: AdminParsedParams<M>, connection: AdminConnection) => Promise<AdminResult<M>> | AdminResult<M>
}

/** `method` label values are bounded: anything not in the table counts as `unknown`. */
export type AdminRequestObserver = (method: AdminMethod | 'unknown' | 'invalid', result: 'ok' | 'error') => void

export interface AdminServerOptions {
  readonly socketPath: string
  readonly version: string
  readonly handlers: AdminHandlers
  readonly onRequest: AdminRequestObserver
  readonly log: Logger
  /** Unread bytes one connection may hold in the daemon (admin.max_queued_bytes, default 1 MiB). */
  readonly maxQueuedBytes?: number
}

export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024
/** Requests of one connection being answered at once; more wait unread until one is done. */
export const MAX_REQUESTS_IN_FLIGHT = 64
/** On stop, a connection whose client does not read its last answers is destroyed after this long. */
export const STOP_GRACE_MS = 2_000
/** A lagging subscriber's last notification gets this long to reach it before the connection is destroyed. */
export const LAGGING_CLOSE_GRACE_MS = 10_000

export class AdminServer {
  private readonly server: Server
  private readonly sockets = new Set<Socket>()

  constructor(private readonly options: AdminServerOptions) {
    this.server = createServer((socket) => this.accept(socket))
  }

  async start(): Promise<void> {
    // The umask makes the socket 0600 from its first instant; chmod is the belt to those braces.
    const previous = process.umask(0o177)
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject)
        this.server.listen(this.options.socketPath, () => {
          this.server.off('error', reject)
          resolve()
        })
      })
    } finally {
      process.umask(previous)
    }
    chmodSync(this.options.socketPath, 0o600)
  }

  /** Stops accepting; open connections are closed after the last answers are written. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      for (const socket of this.sockets) {
        // Reading again lets the client's end be seen; a client that never reads its last answers is not waited for long.
        socket.resume()
        socket.end()
        setTimeout(() => socket.destroy(), STOP_GRACE_MS).unref()
      }
    })
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket)
    socket.setEncoding('utf8')
    const {maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES, log} = this.options
    // Set synchronously by a successful hello, so a request pipelined right behind it is accepted.
    const state = {greeted: false}
    const cleanups: Array<() => void> = []
    // Lines read but not yet handled: at most what one read brought in, because reading stops while any wait.
    const waiting: string[] = []
    let inFlight = 0
    let closing = false
    const writable = () => !socket.destroyed && socket.writable && !closing
    const congested = () => socket.writableLength >= maxQueuedBytes || inFlight >= MAX_REQUESTS_IN_FLIGHT
    const pump = () => {
      if (closing) return
      while (waiting.length > 0 && !congested()) start(waiting.shift() as string)
      if (waiting.length > 0 || congested()) socket.pause()
      else socket.resume()
    }
    const start = (line: string) => {
      inFlight++
      void this.handleLine(line, state, connection).then((response) => {
        inFlight--
        // The log file gets a turn's lines at the turn's end (daemon/log.ts): a client that reads it on this reply finds what led to it.
        log.flush()
        if (response && writable()) socket.write(encodeLine(response))
        pump()
      })
    }
    const closeLagging = (method: string) => {
      closing = true
      const failure = new CCError('CC_ERR_ADMIN_SUBSCRIBER_LAGGING', {max_bytes: maxQueuedBytes})
      log.warn({method, queued_bytes: socket.writableLength, max_queued_bytes: maxQueuedBytes}, 'admin subscriber lagging: disconnected')
      socket.end(encodeLine({jsonrpc: '2.0', method: STREAM_ERROR_NOTIFICATION, params: errorObject(failure)}))
      // Its own cleanups run now: no more events are produced for a connection that is going away.
      for (const cleanup of cleanups.splice(0)) cleanup()
      socket.resume()
      setTimeout(() => socket.destroy(), LAGGING_CLOSE_GRACE_MS).unref()
    }
    const connection: AdminConnection = {
      notify: (method, params) => {
        if (!writable()) return
        if (socket.writableLength >= maxQueuedBytes) return closeLagging(method)
        log.flush()
        socket.write(encodeLine({jsonrpc: '2.0', method, params} satisfies RpcNotification))
      },
      onClose: (cleanup) => cleanups.push(cleanup),
    }
    const splitter = new LineSplitter(
      (line) => waiting.push(line),
      () => {
        this.options.onRequest('invalid', 'error')
        if (writable()) socket.write(encodeLine(errorResponse(null, new CCError('CC_ERR_ADMIN_INVALID_REQUEST', {detail: 'line longer than 1 MiB'}))))
      },
    )
    socket.on('data', (chunk: string) => {
      // Closing for lagging: what the client still sends is read (so its end is seen) and ignored.
      if (closing) return
      splitter.push(chunk)
      pump()
    })
    socket.on('drain', pump)
    socket.on('error', (error) => log.debug({err: error}, 'admin connection error'))
    socket.on('close', () => {
      this.sockets.delete(socket)
      for (const cleanup of cleanups.splice(0)) cleanup()
    })
  }

  private async handleLine(line: string, state: {greeted: boolean}, connection: AdminConnection): Promise<RpcResponse | undefined> {
    let id: RpcId = null
    let label: AdminMethod | 'unknown' | 'invalid' = 'invalid'
    try {
      const request = decodeRequest(line)
      id = request.id ?? null
      const isNotification = !('id' in request)
      if (!isAdminMethod(request.method)) {
        label = 'unknown'
        throw new CCError('CC_ERR_ADMIN_UNKNOWN_METHOD', {method: request.method, known: ADMIN_METHOD_NAMES.join(', ')})
      }
      label = request.method
      const method = request.method
      const parsed = ADMIN_METHODS[method].params.safeParse(request.params)
      if (!parsed.success) {
        const detail = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'params'}: ${issue.message}`).join('; ')
        throw new CCError('CC_ERR_ADMIN_INVALID_PARAMS', {method, detail})
      }
      if (method === 'daemon.hello') {
        const hello = this.hello(parsed.data as AdminParsedParams<'daemon.hello'>)
        state.greeted = true
        this.options.onRequest(label, 'ok')
        return isNotification ? undefined : {jsonrpc: '2.0', id, result: hello}
      }
      if (!state.greeted) throw new CCError('CC_ERR_ADMIN_HANDSHAKE_REQUIRED')
      const handler = this.options.handlers[method] as (params: unknown, connection: AdminConnection) => unknown
      const result = await handler(parsed.data, connection)
      this.options.onRequest(label, 'ok')
      return isNotification ? undefined : {jsonrpc: '2.0', id, result: result ?? null}
    } catch (error) {
      const failure = toCCError(error)
      if (failure.code === 'CC_ERR_INTERNAL') this.options.log.error({err: error, method: label}, 'admin request failed')
      this.options.onRequest(label, 'error')
      return errorResponse(id ?? salvageId(line), failure)
    }
  }

  private hello(params: AdminParsedParams<'daemon.hello'>): HelloResult {
    if (params.protocol !== ADMIN_PROTOCOL_VERSION) {
      throw new CCError('CC_ERR_ADMIN_PROTOCOL_MISMATCH', {cli: params.protocol, daemon: ADMIN_PROTOCOL_VERSION})
    }
    return {protocol: ADMIN_PROTOCOL_VERSION, version: this.options.version, pid: process.pid}
  }
}
