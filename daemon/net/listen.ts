// Binding a listener, with the failure turned into a registry error that names
// the address, the port and the config key to change.
import type {Server} from 'node:net'
import {parseHostPort} from '../../src/config/schema.js'
import {CCError} from '../../src/errors.js'

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

/** Listens and resolves with the bound port (useful when the config asks for port 0). */
export const listenTcp = (server: Server, target: ListenTarget): Promise<number> =>
  new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, target))
    server.once('error', onError)
    server.listen({host: target.address, port: target.port, exclusive: true}, () => {
      server.off('error', onError)
      const bound = server.address()
      resolve(typeof bound === 'object' && bound ? bound.port : target.port)
    })
  })

/** Where a config `host:port` listener is (the bound port once listening, for port 0); a checked config never fails here. */
export const listenAddress = (listen: string, boundPort: number | undefined, key: string): {host: string; port: number} => {
  const parsed = parseHostPort(listen)
  if (!parsed) throw new Error(`invalid ${key} ${listen}`)
  return {host: parsed.host, port: boundPort ?? parsed.port}
}

/** The URL a local client uses for an HTTP listener: a wildcard address is reached on loopback; IPv6 in brackets. */
export const httpListenerUrl = ({host, port}: {host: string; port: number}, path: string): string => {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}${path}`
}
