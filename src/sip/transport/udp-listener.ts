// One bound UDP socket: receives datagrams and sends from the same socket,
// so that the peer sees our listening port as the source (RFC 3261 §18.1.1,
// and what rport relies on).
import {createSocket, type Socket} from 'node:dgram'
import {isIP} from 'node:net'
import {networkInterfaces} from 'node:os'
import {requestReceiveBuffer, type ReceiveBufferOutcome} from '../../net/receive-buffer.js'
import {defaultAdvertise, SipTransportError, type BoundListener, type ListenSpec, type SocketAddress} from './types.js'

/** Large enough to absorb a burst of a few thousand call setups; the kernel caps it at net.core.rmem_max. */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024

export type DatagramHandler = (bytes: Buffer, remote: SocketAddress, listener: UdpListener) => void

export class UdpListener {
  private socket: Socket | undefined
  private bound: BoundListener | undefined
  private receiveBufferGiven: ReceiveBufferOutcome | undefined

  constructor(private readonly spec: ListenSpec, private readonly onDatagram: DatagramHandler) {}

  get listener(): BoundListener {
    if (this.bound === undefined) throw new Error('UDP listener is not bound')
    return this.bound
  }

  /** What the kernel gave the socket's receive buffer when it was bound. */
  get receiveBuffer(): ReceiveBufferOutcome | undefined {
    return this.receiveBufferGiven
  }

  get family(): 4 | 6 {
    return isIP(this.spec.address) === 6 ? 6 : 4
  }

  bind(): Promise<BoundListener> {
    const socket = createSocket({type: this.family === 6 ? 'udp6' : 'udp4', ipv6Only: this.family === 6})
    this.socket = socket
    return new Promise((resolve, reject) => {
      socket.once('error', reject)
      socket.bind({address: this.spec.address, port: this.spec.port, exclusive: true}, () => {
        socket.off('error', reject)
        // A socket error after bind (e.g. ICMP-induced on some platforms) must not crash the process.
        socket.on('error', () => {})
        // Short of it (the kernel's cap), the listener still works at lower rates: the engine warns at start.
        this.receiveBufferGiven = requestReceiveBuffer(socket, RECEIVE_BUFFER_BYTES)
        const {address, port} = socket.address()
        this.bound = {transport: 'udp', address, port, advertise: this.spec.advertise ?? defaultAdvertise(address, networkInterfaces())}
        socket.on('message', (bytes, rinfo) => this.onDatagram(bytes, {address: rinfo.address, port: rinfo.port}, this))
        resolve(this.bound)
      })
    })
  }

  send(bytes: Buffer, remote: SocketAddress): Promise<void> {
    const socket = this.socket
    if (socket === undefined) return Promise.reject(new SipTransportError('UDP socket is closed', {transport: 'udp', ...remote}))
    const failed = (error: Error): SipTransportError =>
      new SipTransportError(`UDP send to ${remote.address}:${remote.port} failed: ${error.message}`, {transport: 'udp', ...remote}, {cause: error})
    return new Promise((resolve, reject) => {
      try {
        socket.send(bytes, remote.port, remote.address, (error) => (error ? reject(failed(error)) : resolve()))
      } catch (error) {
        // Thrown synchronously when the socket closed meanwhile or the address is invalid.
        reject(failed(error as Error))
      }
    })
  }

  close(): Promise<void> {
    const socket = this.socket
    this.socket = undefined
    if (socket === undefined) return Promise.resolve()
    return new Promise((resolve) => socket.close(() => resolve()))
  }
}
