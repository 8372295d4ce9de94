// The SDK client over QUIC for tests: src/quic/rpc-client.ts (what `clutchcall
// smoke` uses) on 127.0.0.1, plus what only tests do with it: wait for events
// and for the gateway's close, vanish mid-call, and stall a handshake.
import {QUICClient, QUICSocket} from '@matrixai/quic'
import {libraryLogger} from '../../src/quic/library.js'
import {clientCrypto, dialQuic, QUIC_SDK_ALPN, QuicRpcClient, quietLog, type QuicClose, type QuicConnectOptions} from '../../src/quic/rpc-client.js'
import {waitFor} from './gateway.js'

export {RpcStream, type QuicClose, type QuicConnectOptions, type QuicReply} from '../../src/quic/rpc-client.js'

export class QuicSdkClient extends QuicRpcClient {
  /** The QUIC handshake to 127.0.0.1; `handshakeMs` is how long it took here. */
  static override async connect(port: number, options: QuicConnectOptions = {}): Promise<{client: QuicSdkClient; handshakeMs: number}> {
    const {connection, handshakeMs} = await dialQuic(port, options)
    return {client: new QuicSdkClient(connection), handshakeMs}
  }

  /**
   * A client that starts a handshake and goes silent in the middle of it: its first `packets` UDP datagrams
   * (the Initial, and the Initial with the Retry token) leave, nothing after them, so the gateway never gets
   * its Finished. (Its own side may consider the handshake done: a client is established before the server.)
   */
  static async stallHandshake(port: number, packets = 2, giveUpMs = 4000): Promise<void> {
    const socket = new QUICSocket({logger: libraryLogger(quietLog)})
    await socket.start({host: '127.0.0.1'})
    // Both ways out are counted: the library's send (send_) and an established connection's short path on the dgram socket (src/quic/library.ts).
    const internals = socket as unknown as {send_: (...args: unknown[]) => Promise<void>; socket: {send: (...args: unknown[]) => void}}
    const send = internals.send_.bind(socket)
    const dgramSend = internals.socket.send.bind(internals.socket)
    let sent = 0
    internals.send_ = async (...args) => {
      if (++sent <= packets) await send(...args)
    }
    internals.socket.send = (...args) => {
      if (++sent <= packets) dgramSend(...args)
    }
    try {
      const client = await QUICClient.createQUICClient(
        {
          host: '127.0.0.1',
          port,
          socket,
          logger: libraryLogger(quietLog),
          crypto: clientCrypto,
          config: {applicationProtos: [QUIC_SDK_ALPN], verifyPeer: false, maxIdleTimeout: 0},
        },
        {timer: giveUpMs},
      )
      await client.destroy({force: true}).catch(() => undefined)
    } catch {
      // Given up: the point is what the gateway does meanwhile.
    } finally {
      await socket.stop({force: true}).catch(() => undefined)
    }
  }

  event(predicate: (event: Record<string, unknown>) => boolean, what: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    return waitFor(what, () => this.events.find(predicate), timeoutMs)
  }

  /** Waits for the gateway to close the connection; resolves with what it said. */
  closedBy(timeoutMs = 10_000): Promise<QuicClose> {
    return waitFor('the gateway to close the connection', () => (this.closed ? (this.closeInfo ?? {isApp: false, code: -1, reason: 'closed without a close frame'}) : undefined), timeoutMs)
  }

  /** Vanishes: from now on nothing it would send leaves (a client that lost its network); the gateway hears only silence. */
  vanish(): void {
    this.stopTone()
    // Both ways out go quiet: the library's send (its socket's send_) and an established connection's short path (src/quic/library.ts), which sends on the dgram socket itself.
    const socket = (this.client as unknown as {socket: {send_: (...args: unknown[]) => Promise<void>; socket: {send: (...args: unknown[]) => void}}}).socket
    socket.send_ = async () => {}
    socket.socket.send = () => {}
  }
}
