// A run of synthetic calls: one SIP transport and user agent in this process,
// calls started at most --rate per second with at most --concurrency up at
// once, each with its own RTP port pair, until --count calls have ended.
// Loaded with a dynamic import by `synth call` and `smoke` only: the SIP
// stack and the media code stay out of every other command's start-up.
import {createSocket} from 'node:dgram'
import {setMaxListeners} from 'node:events'
import {isIPv6} from 'node:net'
import {monitorEventLoopDelay} from 'node:perf_hooks'
import {setTimeout as sleep} from 'node:timers/promises'
import {CCError} from '../errors.js'
import {resolveHost} from '../sip/transport/target.js'
import {SipTransport} from '../sip/transport/sip-transport.js'
import {UserAgent} from '../sip/user-agent.js'
import {placeCall, type CallContext} from './call.js'
import {summarize} from './summary.js'
import type {SynthCodec, SynthProgress, SynthReport, SynthSettings, SyntheticCallResult, Thresholds} from './types.js'

export interface RunOptions {
  readonly settings: SynthSettings
  readonly thresholds: Thresholds
  /** Called when a call starts or ends. */
  readonly onProgress?: ((progress: SynthProgress) => void) | undefined
  /** Called with each call's result as it ends (in the order they end). */
  readonly onCall?: ((call: SyntheticCallResult) => void) | undefined
  /** Stops starting calls, cancels ringing ones and hangs up answered ones; the report covers what ran. */
  readonly signal?: AbortSignal | undefined
  /** Called once the SIP transport is bound, before the first call starts. */
  readonly onReady?: ((info: {localAddress: string}) => void | Promise<void>) | undefined
}

/** Sampling interval of the event-loop delay monitor, ms. */
const LOOP_SAMPLE_MS = 10

const bracket = (address: string): string => (isIPv6(address) ? `[${address}]` : address)

/** The local address the system routes to `host` from (a connected UDP socket sends nothing). */
export const localAddressFor = async (host: string, port: number): Promise<string> => {
  let address: string
  try {
    address = await resolveHost(host)
  } catch (error) {
    throw new CCError('CC_ERR_SYNTH_LOCAL', {detail: (error as Error).message}, {cause: error})
  }
  const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4')
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.connect(port, address, () => resolve())
    })
    return socket.address().address
  } catch (error) {
    throw new CCError('CC_ERR_SYNTH_LOCAL', {detail: `no route to ${address}: ${(error as Error).message}`}, {cause: error})
  } finally {
    socket.close()
  }
}

/** --from as given (a sip: URI), or a user part on our address, or `synth@` our address. */
export const fromUri = (from: string | undefined, localAddress: string): string => {
  if (from !== undefined && /^sips?:/i.test(from)) return from
  return `sip:${from ?? 'synth'}@${bracket(localAddress)}`
}

export const offeredCodecNames = (codec: SynthCodec | undefined): SynthCodec[] => (codec === undefined ? ['PCMU', 'PCMA'] : [codec])

export const runSynth = async (options: RunOptions): Promise<SynthReport> => {
  const {settings, thresholds, signal} = options
  const startedAt = new Date()
  const started = performance.now()
  const localAddress = settings.localAddress ?? (await localAddressFor(settings.target.host, settings.target.port))
  let transport: SipTransport
  try {
    transport = await SipTransport.listen({listen: [{transport: 'udp', address: localAddress, port: 0}, {transport: 'tcp', address: localAddress, port: 0}]})
  } catch (error) {
    throw new CCError('CC_ERR_SYNTH_LOCAL', {detail: `cannot listen for SIP on ${localAddress}: ${(error as Error).message}`}, {cause: error})
  }
  const ua = new UserAgent({transport, product: 'clutchcall-synth', contactUser: 'synth'})
  const from = fromUri(settings.from, localAddress)
  const context: CallContext = {ua, settings, thresholds, localAddress, from, signal}
  // Each call up listens for the abort twice at most (while ringing, while held).
  if (signal !== undefined) setMaxListeners(2 * settings.concurrency + 10, signal)
  const results: SyntheticCallResult[] = []
  let startedCalls = 0
  let active = 0
  let passed = 0
  let failed = 0
  let fatal: unknown
  let last: SyntheticCallResult | undefined
  let slotFreed: (() => void) | undefined
  const progress = (): void =>
    options.onProgress?.({total: settings.count, started: startedCalls, active, finished: results.length, passed, failed, elapsedMs: performance.now() - started, last})
  const inFlight = new Set<Promise<void>>()
  const loopDelay = monitorEventLoopDelay({resolution: LOOP_SAMPLE_MS})
  loopDelay.enable()
  try {
    await options.onReady?.({localAddress})
    const intervalMs = 1000 / settings.rate
    let nextStart = performance.now()
    for (let index = 1; index <= settings.count; index++) {
      while (active >= settings.concurrency && fatal === undefined && !signal?.aborted) {
        await new Promise<void>((resolve) => (slotFreed = resolve))
      }
      if (fatal !== undefined || signal?.aborted) break
      const wait = nextStart - performance.now()
      if (wait > 0) await sleep(wait, undefined, {signal}).catch(() => undefined)
      if (fatal !== undefined || signal?.aborted) break
      // After a wait for a free slot the schedule restarts from now rather than bursting to catch up.
      nextStart = Math.max(nextStart, performance.now() - intervalMs) + intervalMs
      startedCalls++
      active++
      progress()
      const call: Promise<void> = placeCall(context, index)
        .then((result) => {
          results.push(result)
          last = result
          if (result.passed) passed++
          else failed++
          options.onCall?.(result)
        })
        .catch((error: unknown) => {
          fatal ??= error
        })
        .finally(() => {
          active--
          inFlight.delete(call)
          progress()
          slotFreed?.()
        })
      inFlight.add(call)
    }
    while (inFlight.size > 0) await Promise.all([...inFlight])
  } finally {
    loopDelay.disable()
    ua.close()
    await transport.close()
  }
  if (fatal !== undefined) throw fatal instanceof CCError ? fatal : new CCError('CC_ERR_SYNTH_LOCAL', {detail: (fatal as Error).message ?? String(fatal)}, {cause: fatal})
  results.sort((a, b) => a.index - b.index)
  return {
    target: settings.target.uri,
    transport: settings.target.transport,
    localAddress,
    settings: {
      durationS: settings.durationS,
      count: settings.count,
      concurrency: settings.concurrency,
      rate: settings.rate,
      codecs: offeredCodecNames(settings.codec),
      from,
      ringTimeoutS: settings.ringTimeoutS,
    },
    thresholds,
    startedAt: startedAt.toISOString(),
    // The histogram counts the sampling interval in: what is left is the lateness.
    summary: summarize(results, (performance.now() - started) / 1000, {p99: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_SAMPLE_MS), max: Math.max(0, loopDelay.max / 1e6 - LOOP_SAMPLE_MS)}),
    calls: results,
  }
}
