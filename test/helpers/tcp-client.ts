// Plain TCP clients for tests of stream listeners: dial from a chosen
// loopback address, and tell whether the server closed the connection.
import {once} from 'node:events'
import {connect, type Socket} from 'node:net'

/** A socket to 127.0.0.1:`port` from `localAddress`, resolved once connected; errors (resets) are swallowed. */
export const dialTcp = async (port: number, localAddress = '127.0.0.1'): Promise<Socket> => {
  const socket = connect({port, host: '127.0.0.1', localAddress})
  socket.on('error', () => {})
  await once(socket, 'connect')
  return socket
}

/** Resolves true when the server closes `socket` within `ms`, false otherwise. */
export const closedWithin = (socket: Socket, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) return resolve(true)
    const timer = setTimeout(() => resolve(false), ms)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
    socket.resume()
  })
