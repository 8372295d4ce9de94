// The SDK over WebTransport as a browser runs it: headless Chromium (Debian's,
// driven by playwright-core) loads a tiny page from a loopback HTTP server, and
// the page script below does what an SDK author's code would: `new
// WebTransport(url?access_token=<JWT>, {serverCertificateHashes})` (the
// gateway's self-signed certificate is pinned by the SHA-256 `status` shows),
// one bidirectional stream per RPC with the length-prefixed frames of
// src/rpc/stream-frames.ts, and a 440 Hz tone as PCMU RTP in datagrams, with
// the audio that comes back counted.
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {chromium, type Browser, type Page} from 'playwright-core'
import {RPC_METHODS, type RpcMethodName} from '../../src/rpc/protocol.js'
import {CHROMIUM} from './browser-sdk.js'
import {waitFor} from './gateway.js'

/** Runs in the page. Plain JS (the test's tsconfig has no DOM types); it exposes `window.wt`. */
const PAGE_SCRIPT = String.raw`
const KINDS = ['request', 'response', 'error', 'event']
const encoder = new TextEncoder()
const decoder = new TextDecoder()

// One frame, preceded by its length (u32, big-endian): version u8 | kind u8 | method_id u32 | request_id u32 | UTF-8 JSON.
const encodeFrame = (kind, methodId, requestId, payload) => {
  const body = encoder.encode(JSON.stringify(payload))
  const bytes = new Uint8Array(4 + 10 + body.length)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, 10 + body.length)
  view.setUint8(4, 1)
  view.setUint8(5, KINDS.indexOf(kind))
  view.setUint32(6, methodId)
  view.setUint32(10, requestId)
  bytes.set(body, 14)
  return bytes
}

const decodeFrame = (bytes) => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const text = decoder.decode(bytes.subarray(10))
  return {kind: KINDS[view.getUint8(1)], methodId: view.getUint32(2), requestId: view.getUint32(6), payload: text ? JSON.parse(text) : {}}
}

// G.711 µ-law of one 16-bit sample.
const ulaw = (sample) => {
  const sign = sample < 0 ? 0x80 : 0
  let magnitude = Math.min(Math.abs(sample), 32635) + 0x84
  let exponent = 7
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f
  return ~(sign | (exponent << 4) | mantissa) & 0xff
}

let transport
let nextRequestId = 1
let toneTimer
const received = {datagrams: 0, tone: 0}

const readFrames = async (stream, onFrame) => {
  const reader = stream.readable.getReader()
  let pending = new Uint8Array(0)
  for (;;) {
    const {value, done} = await reader.read()
    if (done) return
    const joined = new Uint8Array(pending.length + value.length)
    joined.set(pending)
    joined.set(value, pending.length)
    pending = joined
    while (pending.length >= 4) {
      const length = new DataView(pending.buffer, pending.byteOffset).getUint32(0)
      if (pending.length < 4 + length) break
      onFrame(decodeFrame(pending.slice(4, 4 + length)))
      pending = pending.slice(4 + length)
    }
  }
}

window.wt = {
  async connect(url, hash, token) {
    try {
      const address = token === undefined ? url : url + '?access_token=' + encodeURIComponent(token)
      transport = new WebTransport(address, {serverCertificateHashes: [{algorithm: 'sha-256', value: new Uint8Array(hash)}]})
      await transport.ready
    } catch (error) {
      return {ok: false, error: String(error)}
    }
    // Audio that comes back: RTP, payload type 0, 160 bytes; µ-law silence is 0xff/0x7f, the echoed tone is not.
    ;(async () => {
      const reader = transport.datagrams.readable.getReader()
      for (;;) {
        const {value, done} = await reader.read()
        if (done) return
        received.datagrams++
        const payload = value.subarray(12)
        if ((value[1] & 0x7f) === 0 && payload.length === 160 && payload.some((byte) => byte !== 0xff && byte !== 0x7f)) received.tone++
      }
    })().catch(() => undefined)
    transport.closed.then((info) => window.ccClosed(JSON.stringify(info)), (error) => window.ccClosed(String(error)))
    return {ok: true}
  },

  // One RPC on its own stream; a subscription's stream keeps delivering events to ccEvent.
  async request(methodId, params) {
    const requestId = nextRequestId++
    const stream = await transport.createBidirectionalStream()
    const writer = stream.writable.getWriter()
    await writer.write(encodeFrame('request', methodId, requestId, params))
    await writer.close()
    return new Promise((resolve, reject) => {
      readFrames(stream, (frame) => {
        if (frame.kind === 'event') window.ccEvent(frame.payload)
        else resolve({kind: frame.kind, payload: frame.payload})
      }).then(() => resolve({kind: 'ended', payload: {}}), reject)
    })
  },

  startTone() {
    const writer = transport.datagrams.writable.getWriter()
    let sequence = 1000
    let sample = 0
    toneTimer = setInterval(() => {
      const packet = new Uint8Array(12 + 160)
      const view = new DataView(packet.buffer)
      packet[0] = 0x80
      packet[1] = 0
      view.setUint16(2, sequence++ & 0xffff)
      view.setUint32(4, sample >>> 0)
      view.setUint32(8, 0x0badcafe)
      for (let index = 0; index < 160; index++) packet[12 + index] = ulaw(Math.round(8000 * Math.sin((2 * Math.PI * 440 * (sample + index)) / 8000)))
      sample += 160
      writer.write(packet).catch(() => undefined)
    }, 20)
  },

  stopTone() {
    clearInterval(toneTimer)
  },

  received() {
    return {...received}
  },

  close() {
    clearInterval(toneTimer)
    transport?.close()
  },
}
`

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>ClutchCall WebTransport SDK test</title></head><body><script>${PAGE_SCRIPT}</script></body></html>`

export interface WtReply {
  readonly kind: 'response' | 'error' | 'ended'
  readonly payload: Record<string, unknown>
}

interface PageGlobals {
  wt: {
    connect(url: string, hash: number[], token: string | undefined): Promise<{ok: boolean; error?: string}>
    request(methodId: number, params: Record<string, unknown>): Promise<WtReply>
    startTone(): void
    stopTone(): void
    received(): {datagrams: number; tone: number}
    close(): void
  }
}
type PageWindow = typeof globalThis & PageGlobals

/** One Chromium and the loopback server of the page; `connect` opens a page that is one WebTransport client. */
export class BrowserWebTransport {
  private constructor(
    private readonly browser: Browser,
    private readonly server: Server,
    readonly pageUrl: string,
  ) {}

  static async launch(): Promise<BrowserWebTransport> {
    // http://127.0.0.1 is a secure context, where WebTransport exists.
    const server = createServer((_request, response) => response.writeHead(200, {'content-type': 'text/html; charset=utf-8'}).end(PAGE))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      // CI runs as root, where Chromium will not start sandboxed; no background traffic from a test machine.
      const browser = await chromium.launch({executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'], timeout: 60_000})
      return new BrowserWebTransport(browser, server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    } catch (error) {
      server.close()
      throw error
    }
  }

  /** Opens a session; `sha256` is the certificate's fingerprint as `status` prints it (colon-separated hex). Throws with the browser's error when it fails. */
  async connect(url: string, sha256: string, token: string | undefined): Promise<WtClient> {
    const page = await this.browser.newPage()
    const events: Array<Record<string, unknown>> = []
    const closes: string[] = []
    await page.exposeFunction('ccEvent', (event: Record<string, unknown>) => events.push(event))
    await page.exposeFunction('ccClosed', (info: string) => closes.push(info))
    await page.goto(this.pageUrl)
    const hash = sha256.split(':').map((byte) => Number.parseInt(byte, 16))
    const result = await page.evaluate(({url, hash, token}) => (globalThis as PageWindow).wt.connect(url, hash, token), {url, hash, token})
    if (!result.ok) {
      await page.close()
      throw new Error(result.error)
    }
    return new WtClient(page, events, closes)
  }

  async close(): Promise<void> {
    await this.browser.close()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

export class WtClient {
  constructor(
    readonly page: Page,
    readonly events: Array<Record<string, unknown>>,
    /** How the session ended, as the page saw it (WebTransportCloseInfo, or the error). */
    readonly closes: string[],
  ) {}

  request(method: RpcMethodName, params: Record<string, unknown> = {}): Promise<WtReply> {
    return this.send(RPC_METHODS[method].id, params)
  }

  send(methodId: number, params: Record<string, unknown>): Promise<WtReply> {
    return this.page.evaluate(({methodId, params}) => (globalThis as PageWindow).wt.request(methodId, params), {methodId, params})
  }

  /** events.subscribe: the page keeps its stream and hands each event over. */
  subscribe(params: Record<string, unknown> = {}): Promise<WtReply> {
    return this.request('events.subscribe', params)
  }

  event(predicate: (event: Record<string, unknown>) => boolean, what: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    return waitFor(what, () => this.events.find(predicate), timeoutMs)
  }

  startTone(): Promise<void> {
    return this.page.evaluate(() => (globalThis as PageWindow).wt.startTone())
  }

  received(): Promise<{datagrams: number; tone: number}> {
    return this.page.evaluate(() => (globalThis as PageWindow).wt.received())
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => (globalThis as PageWindow).wt.close()).catch(() => undefined)
    await this.page.close()
  }
}
