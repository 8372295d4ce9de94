// Oversize WebRTC offers against a real daemon's offer endpoint: real HTTP
// clients (curl, node:http, a raw TCP client that sends slowly) post 120 KB
// and must read the documented 413, never a connection reset.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {request as httpRequest} from 'node:http'
import {connect} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {TestGateway, sleep} from '../../../helpers/gateway.js'
import {TestIssuer} from '../../../helpers/jwt.js'

const OVERSIZE_BYTES = 120 * 1024
const oversizeOffer = (): Buffer => Buffer.from(`v=0\r\n${'a=x-padding:0123456789abcdef0123456789abcdef\r\n'.repeat(OVERSIZE_BYTES / 45 + 1)}`).subarray(0, OVERSIZE_BYTES)

describe('WebRTC offer endpoint: an offer over 64 KiB', () => {
  const gw = new TestGateway()
  let issuer: TestIssuer
  let url: URL
  let token = ''

  before(async () => {
    issuer = await TestIssuer.create()
    await gw.start(`tracing:\n  enabled: false\nwebrtc:\n  enabled: true\n  listen: 127.0.0.1:0\n${issuer.configYaml()}`)
    const listener = gw.listeners.find((candidate) => candidate.name === 'webrtc') as {url?: string} | undefined
    assert.ok(listener?.url, `no webrtc listener in ${JSON.stringify(gw.listeners)}`)
    url = new URL(listener.url)
    token = await issuer.token('default')
  })
  after(() => gw.stop())

  it('curl posting 120 KB reads 413 with the JSON error', {timeout: 30_000}, async () => {
    const body = oversizeOffer()
    const {stdout, code} = await new Promise<{stdout: string; code: number}>((resolve) => {
      const child = execFile(
        'curl',
        ['-sS', '--max-time', '20', '-o', '-', '-w', '\\n%{http_code}', '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/sdp', '--data-binary', '@-', url.href],
        (error, out) => resolve({stdout: out, code: error ? Number(error.code ?? 1) : 0}),
      )
      child.stdin?.end(body)
    })
    assert.equal(code, 0, `curl failed (a reset is exit 56): ${stdout}`)
    const lines = stdout.trimEnd().split('\n')
    assert.equal(lines.at(-1), '413')
    assert.match(lines.slice(0, -1).join('\n'), /"code":"HTTP_413".*larger than 65536 bytes/)
  })

  for (const framing of ['content-length', 'chunked'] as const) {
    it(`node:http posting 120 KB (${framing}) reads 413`, {timeout: 30_000}, async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const headers: Record<string, string | number> = {authorization: `Bearer ${token}`, 'content-type': 'application/sdp'}
        if (framing === 'content-length') headers['content-length'] = OVERSIZE_BYTES
        const client = httpRequest(url, {method: 'POST', headers, agent: false}, (response) => {
          response.resume()
          resolve(response.statusCode ?? 0)
        })
        client.on('error', reject)
        const body = oversizeOffer()
        // In pieces, as a browser would send a large body.
        for (let offset = 0; offset < body.length; offset += 16 * 1024) client.write(body.subarray(offset, offset + 16 * 1024))
        client.end()
      })
      assert.equal(status, 413)
    })
  }

  it('a client declaring 120 KB and sending it slowly reads 413 at once, and the connection is closed within the bound', {timeout: 30_000}, async () => {
    const socket = connect(Number(url.port), url.hostname)
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
    let received = ''
    let closedAt = 0
    let resetSeen = false
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (received += chunk))
    socket.on('error', (error: NodeJS.ErrnoException) => (resetSeen = error.code === 'ECONNRESET'))
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        closedAt = Date.now()
        resolve()
      }),
    )
    const startedAt = Date.now()
    socket.write(`POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/sdp\r\nContent-Length: ${OVERSIZE_BYTES}\r\n\r\nv=0\r\n`)
    // 1 KB every 100 ms: the body would take 12 s to arrive.
    let sent = 0
    while (!received.includes('\r\n\r\n') && Date.now() - startedAt < 10_000) {
      socket.write('a'.repeat(1024))
      sent += 1024
      await sleep(100)
    }
    assert.match(received, /^HTTP\/1\.1 413 /, `the answer: ${received.slice(0, 200)}`)
    assert.ok(sent < OVERSIZE_BYTES / 2, `the 413 came before the body was sent (${sent} bytes sent)`)
    assert.match(received, /"code":"HTTP_413"/)
    // The client stops sending; the daemon gives up on the rest of the body after its time bound (5 s).
    await Promise.race([closed, sleep(15_000)])
    assert.ok(closedAt > 0, 'the daemon closes a connection whose refused body never ends')
    assert.ok(closedAt - startedAt < 12_000, `closed after ${closedAt - startedAt} ms`)
    assert.ok(!resetSeen || received.includes('HTTP/1.1 413'), 'whatever the close, the 413 was read first')
  })
})
