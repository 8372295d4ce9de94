// The WHIP-style HTTP endpoint of the SDK's WebRTC transport:
//   POST   /v1/webrtc       Authorization: Bearer <JWT>, Content-Type: application/sdp, body the offer
//          → 201 Created, Location: /v1/webrtc/<session>, body the answer (application/sdp)
//   DELETE /v1/webrtc/<session>  (same bearer tenant) → 204; the session's calls are hung up
// The token is checked before the offer is looked at: an unauthenticated client
// costs no peer connection. Errors are JSON {error: {code, message, hint}};
// 401s carry WWW-Authenticate (RFC 6750). CORS is open: the bearer token, not
// the origin, is the credential, so any page may call it.
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {Logger} from 'pino'
import {CCError, toCCError} from '../../src/errors.js'
import {httpListenerUrl, listenAddress, listenTcp, type BoundAddress} from '../net/listen.js'
import {bearerToken} from '../rpc/jwt.js'
import {SessionOpenTrace} from '../rpc/session-open.js'
import {WebRtcPeer, type PeerServices} from './peer.js'

const MAX_OFFER_BYTES = 64 * 1024
const BASE_PATH = '/v1/webrtc'
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, DELETE, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-expose-headers': 'location',
}

const HTTP_STATUS: Partial<Record<string, number>> = {
  CC_ERR_RPC_UNAUTHENTICATED: 401,
  CC_ERR_WEBRTC_OFFER: 400,
  CC_ERR_DRAINING: 503,
}

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * A refused body is read and thrown away, up to these bounds, before the
 * connection closes: closing a socket with unread bytes resets it, and the
 * client then sees a reset instead of the 413 it was sent.
 */
const DISCARD_MAX_BYTES = 1024 * 1024
const DISCARD_MAX_MS = 5_000

const tooLarge = () => new HttpRefusal(413, `the offer is larger than ${MAX_OFFER_BYTES} bytes`)

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const collect = (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_OFFER_BYTES) {
        // The rest of the body is discarded by the refusal (discardRest).
        request.off('data', collect)
        chunks.length = 0
        reject(tooLarge())
        return
      }
      chunks.push(chunk)
    }
    request.on('data', collect)
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })

/** Lets the client finish sending a refused body (bounded), then closes the connection once the answer is out. */
const discardRest = (request: IncomingMessage, response: ServerResponse): void => {
  const socket = request.socket
  let discarded = 0
  const cut = () => {
    clearTimeout(timer)
    socket.destroy()
  }
  const timer = setTimeout(cut, DISCARD_MAX_MS)
  timer.unref()
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > DISCARD_MAX_BYTES) cut()
  })
  request.once('end', () => {
    clearTimeout(timer)
    if (response.writableFinished) socket.end()
    else response.once('finish', () => socket.end())
  })
  request.resume()
}

export class WebRtcEndpoint {
  private readonly server: Server
  private readonly peers = new Map<string, WebRtcPeer>()
  private bound: BoundAddress | undefined
  private draining = false

  constructor(
    private readonly listen: string,
    private services: PeerServices,
    private readonly log: Logger,
  ) {
    this.server = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => this.fail(request, response, error))
    })
  }

  get address(): {host: string; port: number} {
    return listenAddress(this.listen, this.bound, 'webrtc.listen')
  }

  get url(): string {
    return httpListenerUrl(this.address, BASE_PATH)
  }

  get sessions(): number {
    return this.peers.size
  }

  async start(): Promise<void> {
    const {host, port} = this.address
    this.bound = await listenTcp(this.server, {address: host, port, purpose: 'WebRTC offers', key: 'webrtc.listen'})
  }

  /**
   * A config reload: sessions opened from now on verify tokens against the new tenants and place
   * calls through the new trunks; a session already open keeps the config it opened with.
   */
  reconfigure(changes: Pick<PeerServices, 'config' | 'dialer'> & Partial<Pick<PeerServices, 'verifier'>>): void {
    this.services = {...this.services, ...changes}
  }

  /** New offers get 503; sessions already up keep their calls until the drain ends them. */
  drain(): void {
    this.draining = true
  }

  async stop(): Promise<void> {
    await Promise.all([...this.peers.values()].map((peer) => peer.close('gateway stopping')))
    if (!this.server.listening) return
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] ?? '/'
    if (request.method === 'OPTIONS') {
      response.writeHead(204, CORS).end()
      return
    }
    if (path === BASE_PATH) {
      if (request.method !== 'POST') throw new HttpRefusal(405, `${BASE_PATH} takes POST (an SDP offer)`)
      await this.offer(request, response)
      return
    }
    const session = path.startsWith(`${BASE_PATH}/`) ? path.slice(BASE_PATH.length + 1) : undefined
    if (session === undefined) throw new HttpRefusal(404, `not found: the WebRTC endpoint is ${BASE_PATH}`)
    if (request.method !== 'DELETE') throw new HttpRefusal(405, 'a session resource takes DELETE')
    const principal = await this.services.verifier.verify(bearerToken(request.headers.authorization))
    const peer = this.peers.get(session)
    // Another tenant's session is answered like a missing one.
    if (!peer || peer.principal.tenant !== principal.tenant) throw new HttpRefusal(404, `no WebRTC session ${session}`)
    await peer.close('client sent DELETE')
    response.writeHead(204, CORS).end()
  }

  /** session.open: method id 0 in traces; its JWT validation is the full signature check. */
  private async offer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const {activity, verifier} = this.services
    const trace = new SessionOpenTrace(activity, 'webrtc')
    try {
      if (this.draining) throw new CCError('CC_ERR_DRAINING')
      // A declared size over the limit is refused before anything else is done for it.
      if (Number(request.headers['content-length'] ?? 0) > MAX_OFFER_BYTES) throw tooLarge()
      const principal = await trace.timed('jwt', () => verifier.verify(bearerToken(request.headers.authorization)))
      trace.tenant = principal.tenant
      const offer = await trace.timed('parse', async () => {
        const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
        if (contentType !== 'application/sdp') throw new HttpRefusal(415, 'the offer must be sent as Content-Type: application/sdp')
        const body = await readBody(request)
        if (!body.startsWith('v=0')) throw new CCError('CC_ERR_WEBRTC_OFFER', {detail: 'the body is not an SDP offer (it must start with v=0)'})
        return body
      })
      trace.begin()
      const peer = new WebRtcPeer(principal, this.services)
      let answer: string
      try {
        answer = await peer.answer(offer)
      } catch (error) {
        await peer.close('offer refused')
        throw error
      }
      this.peers.set(peer.id, peer)
      void peer.closed.then(() => this.peers.delete(peer.id))
      response.writeHead(201, {...CORS, 'content-type': 'application/sdp', location: `${BASE_PATH}/${peer.id}`}).end(answer)
      trace.succeeded()
    } catch (error) {
      trace.failed(error, error instanceof HttpRefusal ? `HTTP_${error.status}` : undefined)
      throw error
    }
  }

  private fail(request: IncomingMessage, response: ServerResponse, error: unknown): void {
    if (response.headersSent) return
    if (error instanceof HttpRefusal) {
      response.writeHead(error.status, {...CORS, 'content-type': 'application/json'}).end(JSON.stringify({error: {code: `HTTP_${error.status}`, message: error.message, hint: 'See docs/sdk-rpc.md.'}}))
      if (error.status === 413 && !request.complete) discardRest(request, response)
      return
    }
    const failure = toCCError(error)
    if (failure.code === 'CC_ERR_INTERNAL') this.log.error({err: error}, 'WebRTC endpoint failed')
    const status = HTTP_STATUS[failure.code] ?? 500
    const headers: Record<string, string> = {...CORS, 'content-type': 'application/json'}
    if (status === 401) headers['www-authenticate'] = `Bearer error="invalid_token", error_description="${failure.message.replace(/["\\]/g, "'")}"`
    response.writeHead(status, headers).end(JSON.stringify({error: {code: failure.code, message: failure.message, hint: failure.hint}}))
  }
}
