// The CLI's side of the admin socket. `AdminClient.connect` opens the socket
// and performs the protocol-version handshake; `call` is typed by the method
// table, so a command cannot ask for a method or read a field that isn't there.
import {createConnection, type Socket} from 'node:net'
import type {CallEvent, CallSummary} from '../calls/events.js'
import {isPermissionError, permissionDenied} from '../permissions.js'
import {CCError} from '../errors.js'
import {decodeMessage, encodeLine, errorFromResponse, LineSplitter, type RpcErrorObject, type RpcNotification} from './codec.js'
import {ADMIN_PROTOCOL_VERSION, CALLS_EVENT_NOTIFICATION, STREAM_ERROR_NOTIFICATION, type AdminMethod, type AdminParams, type AdminResult, type HelloResult} from './protocol.js'

interface Pending {
  readonly method: string
  readonly resolve: (value: unknown) => void
  readonly reject: (error: CCError) => void
  readonly timer: NodeJS.Timeout
}

export interface ConnectOptions {
  readonly timeoutMs?: number
  readonly client?: string
}

export class AdminClient {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly notificationHandlers = new Set<(notification: RpcNotification) => void>()
  private closedError: CCError | undefined
  private pausedFor: NodeJS.WritableStream | undefined
  hello: HelloResult | undefined

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('utf8')
    const splitter = new LineSplitter(
      (line) => this.onLine(line),
      () => this.failAll(new CCError('CC_ERR_INTERNAL', {detail: 'daemon sent an oversized line'})),
    )
    socket.on('data', (chunk: string) => splitter.push(chunk))
    socket.on('close', () => this.failAll(new CCError('CC_ERR_ADMIN_CONNECTION_LOST')))
    socket.on('error', () => {
      // 'close' follows and fails whatever is pending.
    })
  }

  /** Connects and says hello. Throws CC_ERR_DAEMON_NOT_RUNNING when nothing listens on the socket. */
  static async connect(socketPath: string, options: ConnectOptions = {}): Promise<AdminClient> {
    const timeoutMs = options.timeoutMs ?? 10_000
    const socket = await new Promise<Socket>((resolve, reject) => {
      const candidate = createConnection(socketPath)
      candidate.once('connect', () => resolve(candidate))
      candidate.once('error', (error: NodeJS.ErrnoException) => {
        const notRunning = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'ENOTSOCK'
        if (notRunning) reject(new CCError('CC_ERR_DAEMON_NOT_RUNNING', {socket: socketPath}))
        else if (isPermissionError(error)) reject(permissionDenied(socketPath, 'cannot connect to', error))
        else reject(new CCError('CC_ERR_INTERNAL', {detail: `cannot connect to ${socketPath}: ${error.message}`}))
      })
    })
    const client = new AdminClient(socket, timeoutMs)
    try {
      client.hello = await client.call('daemon.hello', {protocol: ADMIN_PROTOCOL_VERSION, client: options.client ?? 'clutchcall-cli'})
    } catch (error) {
      client.close()
      throw error
    }
    return client
  }

  call<M extends AdminMethod>(method: M, params?: AdminParams<M>): Promise<AdminResult<M>> {
    if (this.closedError) return Promise.reject(this.closedError)
    const id = this.nextId++
    return new Promise<AdminResult<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new CCError('CC_ERR_ADMIN_TIMEOUT', {method, seconds: this.timeoutMs / 1000}))
      }, this.timeoutMs)
      this.pending.set(id, {method, resolve: resolve as (value: unknown) => void, reject, timer})
      this.socket.write(encodeLine({jsonrpc: '2.0', id, method, params: params ?? {}}))
    })
  }

  /** Receives notifications (such as `calls.event`) sent on this connection. */
  onNotification(handler: (notification: RpcNotification) => void): () => void {
    this.notificationHandlers.add(handler)
    return () => this.notificationHandlers.delete(handler)
  }

  /**
   * `calls.subscribe`: resolves with the calls up now, then hands every
   * `calls.event` notification on this connection to onEvent, in order, until
   * the connection closes. Events that arrive with or right after the answer
   * are held and delivered from the next turn of the event loop, so the caller
   * has the initial calls in hand before the first event reaches it.
   */
  async subscribeCalls(filter: AdminParams<'calls.subscribe'>, onEvent: (event: CallEvent) => void): Promise<readonly CallSummary[]> {
    const early: CallEvent[] = []
    let deliver = (event: CallEvent) => {
      early.push(event)
    }
    const unsubscribe = this.onNotification((notification) => {
      if (notification.method === CALLS_EVENT_NOTIFICATION) deliver(notification.params as CallEvent)
    })
    const subscribed = await this.call('calls.subscribe', filter).catch((error: unknown) => {
      unsubscribe()
      throw error
    })
    setImmediate(() => {
      for (const event of early) onEvent(event)
      deliver = onEvent
    })
    return subscribed.calls
  }

  /**
   * Why the connection ended: the daemon's own reason when it sent one (a
   * `stream.error`, such as CC_ERR_ADMIN_SUBSCRIBER_LAGGING), else
   * CC_ERR_ADMIN_CONNECTION_LOST; undefined while it is open.
   */
  get closeReason(): CCError | undefined {
    return this.closedError
  }

  /**
   * Stops reading from the daemon until `output` drains (or fails): a consumer
   * that cannot keep up (a stdout pipe that is full) pushes back on the daemon
   * instead of piling events up in this process. Call it when write() returned false.
   */
  pauseUntilDrained(output: NodeJS.WritableStream): void {
    if (this.pausedFor !== undefined) return
    this.pausedFor = output
    const resume = () => {
      output.off('drain', resume)
      output.off('error', resume)
      output.off('close', resume)
      this.pausedFor = undefined
      this.socket.resume()
    }
    output.on('drain', resume)
    output.on('error', resume)
    output.on('close', resume)
    this.socket.pause()
  }

  /** Resolves when the daemon closes the connection (for example when it exits after a stop). */
  closed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve()
    return new Promise((resolve) => this.socket.once('close', () => resolve()))
  }

  close(): void {
    this.socket.end()
    this.socket.destroy()
  }

  private onLine(line: string): void {
    let message
    try {
      message = decodeMessage(line)
    } catch (error) {
      this.failAll(error as CCError)
      return
    }
    if (!('id' in message)) {
      // The daemon's last word before it closes the connection: it is why the connection ends.
      if (message.method === STREAM_ERROR_NOTIFICATION) this.failAll(errorFromResponse(message.params as RpcErrorObject))
      for (const handler of this.notificationHandlers) handler(message)
      return
    }
    const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined
    if (!pending || typeof message.id !== 'number') return
    this.pending.delete(message.id)
    clearTimeout(pending.timer)
    if ('error' in message) pending.reject(errorFromResponse(message.error))
    else pending.resolve(message.result)
  }

  private failAll(error: CCError): void {
    this.closedError ??= error
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer)
      pending.reject(error)
      this.pending.delete(id)
    }
  }
}

/** Connects, runs one call, and closes: what most commands need. */
export const adminCall = async <M extends AdminMethod>(socketPath: string, method: M, params?: AdminParams<M>): Promise<AdminResult<M>> => {
  const client = await AdminClient.connect(socketPath)
  try {
    return await client.call(method, params)
  } finally {
    client.close()
  }
}
