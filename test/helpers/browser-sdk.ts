// The SDK as a browser runs it: a headless Chromium (Debian's, driven by
// playwright-core) loads a tiny page from a loopback HTTP server, and the page
// script below does what an SDK author's code would: microphone (Chromium's
// fake device, a beep) on a sendrecv audio transceiver plus an `rpc`
// DataChannel, a non-trickle offer POSTed with a bearer JWT, the SDK RPC frames
// of src/rpc/protocol.ts built with DataView, and getStats() for the audio.
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {chromium, type Browser, type Page} from 'playwright-core'
import {RPC_METHODS, type RpcMethodName} from '../../src/rpc/protocol.js'
import {waitFor} from './gateway.js'

export const CHROMIUM = '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  // Needed: getUserMedia gets a synthetic microphone (a beep tone; without it "Requested device not found")
  // and is granted without a prompt (without it "Permission denied").
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // CI runs as root, where Chromium will not start sandboxed (Playwright passes this by default; said here so it stays).
  '--no-sandbox',
  // No component updates, safe-browsing or metrics traffic from a test machine.
  '--disable-background-networking',
  // Host candidates as real addresses, not .local mDNS names werift cannot resolve. Chromium 156 headless
  // gave real addresses without it here too; it is kept so no build or setting switches to mDNS names.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // Gather 127.0.0.1 too (Chromium skips loopback by default): on a host with no other interface up,
  // loopback is the only address both ends share (the gateway offers it as well).
  '--allow-loopback-in-peer-connection',
]

/** Runs in the page. Plain JS (the test's tsconfig has no DOM types); it exposes `window.sdk`. */
const PAGE_SCRIPT = String.raw`
const KINDS = ['request', 'response', 'error', 'event']
const encoder = new TextEncoder()
const decoder = new TextDecoder()

// One frame: version u8 | kind u8 | method_id u32 | request_id u32 (big-endian) | UTF-8 JSON.
const encodeFrame = (kind, methodId, requestId, payload) => {
  const body = encoder.encode(JSON.stringify(payload))
  const bytes = new Uint8Array(10 + body.length)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, 1)
  view.setUint8(1, KINDS.indexOf(kind))
  view.setUint32(2, methodId)
  view.setUint32(6, requestId)
  bytes.set(body, 10)
  return bytes
}

const decodeFrame = (buffer) => {
  const view = new DataView(buffer)
  const text = decoder.decode(new Uint8Array(buffer, 10))
  return {kind: KINDS[view.getUint8(1)], methodId: view.getUint32(2), requestId: view.getUint32(6), payload: text ? JSON.parse(text) : {}}
}

let pc
let channel
let nextRequestId = 1
const pending = new Map()

window.sdk = {
  async connect(endpoint, token) {
    const microphone = await navigator.mediaDevices.getUserMedia({audio: true})
    pc = new RTCPeerConnection({bundlePolicy: 'max-bundle'})
    pc.addTransceiver(microphone.getAudioTracks()[0], {direction: 'sendrecv'})
    channel = pc.createDataChannel('rpc')
    channel.binaryType = 'arraybuffer'
    channel.onmessage = ({data}) => {
      const frame = decodeFrame(data)
      if (frame.kind === 'event') window.ccEvent(frame.payload)
      else pending.get(frame.requestId)?.({kind: frame.kind, payload: frame.payload})
    }
    await pc.setLocalDescription(await pc.createOffer())
    // The gateway does not trickle: the offer it gets must already carry every candidate.
    if (pc.iceGatheringState !== 'complete') {
      await new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()))
    }
    const response = await fetch(endpoint, {method: 'POST', headers: {authorization: 'Bearer ' + token, 'content-type': 'application/sdp'}, body: pc.localDescription.sdp})
    const body = await response.text()
    if (response.status !== 201) throw new Error('HTTP ' + response.status + ': ' + body)
    await pc.setRemoteDescription({type: 'answer', sdp: body})
    if (channel.readyState !== 'open') await new Promise((resolve) => channel.addEventListener('open', resolve, {once: true}))
    return {location: response.headers.get('location'), answer: body}
  },

  request(methodId, params) {
    const requestId = nextRequestId++
    const reply = new Promise((resolve) => pending.set(requestId, resolve))
    channel.send(encodeFrame('request', methodId, requestId, params))
    return reply
  },

  async audioStats() {
    const stats = [...(await pc.getStats()).values()]
    const audio = (type) => stats.find((entry) => entry.type === type && entry.kind === 'audio')
    const inbound = audio('inbound-rtp')
    const outbound = audio('outbound-rtp')
    const codec = outbound && stats.find((entry) => entry.id === outbound.codecId)
    return {packetsReceived: inbound?.packetsReceived ?? 0, packetsSent: outbound?.packetsSent ?? 0, sendCodec: codec?.mimeType ?? ''}
  },

  close() {
    pc?.close()
  },
}
`

const PAGE = `<!doctype html><meta charset="utf-8"><title>ClutchCall SDK test page</title><script>${PAGE_SCRIPT}</script>`

export interface RpcReply {
  readonly kind: 'response' | 'error'
  readonly payload: Record<string, unknown>
}

export interface AudioStats {
  /** inbound-rtp packetsReceived of the audio track: what the gateway sent the browser. */
  readonly packetsReceived: number
  /** outbound-rtp packetsSent of the audio track: what the browser sent the gateway. */
  readonly packetsSent: number
  /** The mime type of the codec the browser sends, e.g. audio/PCMU. */
  readonly sendCodec: string
}

/** What the page script puts on `window` (typed here, since the page is plain JS). */
interface PageGlobals {
  sdk: {
    connect(endpoint: string, token: string): Promise<{location: string | null; answer: string}>
    request(methodId: number, params: Record<string, unknown>): Promise<RpcReply>
    audioStats(): Promise<AudioStats>
    close(): void
  }
}
// The page's global object as the callbacks below see it: Playwright sends their source to the page,
// so they may use nothing from this module's scope.
type PageWindow = typeof globalThis & PageGlobals

/** One Chromium and the loopback server of the SDK page; `connect` opens a page that is one SDK client. */
export class BrowserSdk {
  private constructor(
    private readonly browser: Browser,
    private readonly server: Server,
    readonly pageUrl: string,
  ) {}

  static async launch(): Promise<BrowserSdk> {
    // Served over http://127.0.0.1, a secure context: getUserMedia does not exist on about:blank or other http origins.
    const server = createServer((_request, response) => response.writeHead(200, {'content-type': 'text/html; charset=utf-8'}).end(PAGE))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const browser = await chromium.launch({executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000})
      return new BrowserSdk(browser, server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    } catch (error) {
      server.close()
      throw error
    }
  }

  async connect(endpoint: string, token: string): Promise<BrowserClient> {
    const page = await this.browser.newPage()
    const events: Array<Record<string, unknown>> = []
    // Exposed before the page loads, so no event frame can arrive before it exists.
    await page.exposeFunction('ccEvent', (event: Record<string, unknown>) => events.push(event))
    await page.goto(this.pageUrl)
    const {answer} = await page.evaluate(({endpoint, token}) => (globalThis as PageWindow).sdk.connect(endpoint, token), {endpoint, token})
    return new BrowserClient(page, answer, events)
  }

  async close(): Promise<void> {
    await this.browser.close()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

export class BrowserClient {
  constructor(
    readonly page: Page,
    /** The gateway's SDP answer. */
    readonly answer: string,
    /** Every event frame received, in order. */
    readonly events: Array<Record<string, unknown>>,
  ) {}

  /** The codec the answer puts first on the audio m-line (what both ends send), e.g. `audio/PCMU`. */
  get answeredCodec(): string {
    const payloadType = /^m=audio \d+ \S+ (\d+)/m.exec(this.answer)?.[1]
    const name = new RegExp(`^a=rtpmap:${payloadType ?? 'none'} ([^/\\s]+)/`, 'm').exec(this.answer)?.[1]
    return `audio/${name ?? 'none'}`
  }

  /** Sends a request frame from the page and resolves with the response or error frame of its request id. */
  request(method: RpcMethodName, params: Record<string, unknown> = {}): Promise<RpcReply> {
    return this.page.evaluate(({methodId, params}) => (globalThis as PageWindow).sdk.request(methodId, params), {methodId: RPC_METHODS[method].id, params})
  }

  event(predicate: (event: Record<string, unknown>) => boolean, what: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    return waitFor(what, () => this.events.find(predicate), timeoutMs)
  }

  audioStats(): Promise<AudioStats> {
    return this.page.evaluate(() => (globalThis as PageWindow).sdk.audioStats())
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => (globalThis as PageWindow).sdk.close()).catch(() => undefined)
    await this.page.close()
  }
}
