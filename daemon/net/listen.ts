// Binding a listener, with the failure turned into a registry error that names
// the address, the port and the config key to change.
import type {Server} from 'node:net'
import {parseHostPort} from '../../src/config/schema.js'
import {CCError} from '../../src/errors.js'
import {hostForPort, localAddressFor} from '../../src/net/addresses.js'

export interface ListenTarget {
  readonly address: string
  readonly port: number
  /** What the listener is for, in an operator's words: `metrics`, `SIP over UDP`, … */
  readonly purpose: string
  /** The config key that sets this address. */
  readonly key: string
}

export const listenError = (error: NodeJS.ErrnoException, target: ListenTarget): CCError =>
  error.code === 'EADDRINUSE'
    ? new CCError('CC_ERR_PORT_IN_USE', {...target}, {cause: error})
    : new CCError('CC_ERR_LISTEN_FAILED', {...target, detail: error.code ?? error.message}, {cause: error})

/** An address a listener holds: the IP and port the kernel bound, not the config's spelling. */
export interface BoundAddress {
  readonly host: string
  readonly port: number
}

/** Listens and resolves with the address bound: the OS's port for port 0, the IP a host name such as `localhost` resolved to. */
export const listenTcp = (server: Server, target: ListenTarget): Promise<BoundAddress> =>
  new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, target))
    server.once('error', onError)
    server.listen({host: target.address, port: target.port, exclusive: true}, () => {
      server.off('error', onError)
      const bound = server.address()
      resolve(typeof bound === 'object' && bound ? {host: bound.address, port: bound.port} : {host: target.address, port: target.port})
    })
  })

/** Where a config `host:port` listener is: what was bound once listening, else what the config asks for; a checked config never fails here. */
export const listenAddress = (listen: string, bound: BoundAddress | undefined, key: string): BoundAddress => {
  if (bound) return bound
  const parsed = parseHostPort(listen)
  if (!parsed) throw new Error(`invalid ${key} ${listen}`)
  return parsed
}

/** The URL a client on this host uses for an HTTP listener: a wildcard address is reached on loopback; IPv6 in brackets. */
export const httpListenerUrl = ({host, port}: BoundAddress, path: string): string => {
  return `http://${hostForPort(localAddressFor(host))}:${port}${path}`
}
