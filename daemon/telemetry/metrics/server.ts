// The scrape endpoint: GET /metrics, Prometheus text or OpenMetrics by the
// Accept header. Anything else is a 404; a scrape never blocks call handling
// beyond rendering the registry.
import {createServer, type Server} from 'node:http'
import type {Registry} from 'prom-client'
import {httpListenerUrl, listenAddress, listenTcp, type BoundAddress} from '../../net/listen.js'
import {renderMetrics} from './exposition.js'

export class MetricsServer {
  private readonly server: Server
  private bound: BoundAddress | undefined

  constructor(
    private readonly registry: Registry,
    private readonly listen: string,
  ) {
    this.server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]
      if (path !== '/metrics') {
        response.writeHead(404, {'content-type': 'text/plain; charset=utf-8'}).end('Not found: the metrics are at /metrics\n')
        return
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, {allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8'}).end('Method not allowed\n')
        return
      }
      renderMetrics(this.registry, request.headers.accept).then(
        ({contentType, body}) => response.writeHead(200, {'content-type': contentType}).end(request.method === 'HEAD' ? undefined : body),
        (error: Error) => response.writeHead(500, {'content-type': 'text/plain; charset=utf-8'}).end(`metrics collection failed: ${error.message}\n`),
      )
    })
    this.server.keepAliveTimeout = 65_000
  }

  get address(): {host: string; port: number} {
    return listenAddress(this.listen, this.bound, 'metrics.listen')
  }

  get url(): string {
    return httpListenerUrl(this.address, '/metrics')
  }

  async start(): Promise<void> {
    const {host, port} = this.address
    this.bound = await listenTcp(this.server, {address: host, port, purpose: 'metrics', key: 'metrics.listen'})
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }
}
