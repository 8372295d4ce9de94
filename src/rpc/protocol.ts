// The SDK RPC: the frames an SDK client exchanges with the gateway (one
// DataChannel message over WebRTC, one length-prefixed record on a QUIC stream:
// stream-frames.ts), and the method table. Shared by the daemon and the test
// clients; docs/sdk-rpc.md and docs/quic.md document it for SDK authors.
//
// A frame is a 10-byte big-endian header
//   version u8 (1) | kind u8 | method_id u32 | request_id u32
// then the payload, UTF-8 JSON (an object; empty means {}). Binary rather than
// JSON-RPC so a method is routed by its number before its payload is parsed,
// and so the header is the same on every transport.
import * as z from 'zod/mini'
import en from 'zod/v4/locales/en.js'
import {CALL_SID_PATTERN} from '../cdr/record.js'
import {CCError} from '../errors.js'

// zod/mini ships no messages: without a locale every problem reads "Invalid input".
z.config(en())

export const RPC_FRAME_VERSION = 1
export const RPC_HEADER_BYTES = 10
/** Larger frames are refused before parsing: no method needs more. */
export const RPC_MAX_FRAME_BYTES = 16 * 1024

export const FRAME_KIND = {request: 0, response: 1, error: 2, event: 3} as const
export type FrameKind = keyof typeof FRAME_KIND
const KIND_NAMES = Object.fromEntries(Object.entries(FRAME_KIND).map(([name, value]) => [value, name])) as Record<number, FrameKind>

export interface RpcFrame {
  readonly kind: FrameKind
  readonly methodId: number
  readonly requestId: number
  readonly payload: Record<string, unknown>
}

const isUint32 = (value: number): boolean => Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff

export const encodeFrame = (frame: RpcFrame): Buffer => {
  if (!isUint32(frame.methodId) || !isUint32(frame.requestId)) throw new RangeError('method_id and request_id are unsigned 32-bit integers')
  const body = Buffer.from(JSON.stringify(frame.payload), 'utf8')
  const out = Buffer.allocUnsafe(RPC_HEADER_BYTES + body.length)
  out.writeUInt8(RPC_FRAME_VERSION, 0)
  out.writeUInt8(FRAME_KIND[frame.kind], 1)
  out.writeUInt32BE(frame.methodId, 2)
  out.writeUInt32BE(frame.requestId, 6)
  body.copy(out, RPC_HEADER_BYTES)
  return out
}

const badFrame = (detail: string): CCError => new CCError('CC_ERR_RPC_BAD_FRAME', {detail})

/** Parses one frame; throws CC_ERR_RPC_BAD_FRAME saying what is wrong (an RpcFrameError, with the header ids, when only the payload is bad, so the error can answer the request). */
export const decodeFrame = (data: Uint8Array): RpcFrame => {
  if (data.length < RPC_HEADER_BYTES) throw badFrame(`${data.length} bytes is shorter than the ${RPC_HEADER_BYTES}-byte header`)
  if (data.length > RPC_MAX_FRAME_BYTES) throw badFrame(`${data.length} bytes is more than the ${RPC_MAX_FRAME_BYTES}-byte limit`)
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length)
  const version = bytes.readUInt8(0)
  if (version !== RPC_FRAME_VERSION) throw badFrame(`version ${version} (this gateway speaks ${RPC_FRAME_VERSION})`)
  const kind = KIND_NAMES[bytes.readUInt8(1)]
  if (kind === undefined) throw badFrame(`unknown frame kind ${bytes.readUInt8(1)}`)
  const methodId = bytes.readUInt32BE(2)
  const requestId = bytes.readUInt32BE(6)
  const text = bytes.subarray(RPC_HEADER_BYTES).toString('utf8')
  let payload: unknown = {}
  if (text.length > 0) {
    try {
      payload = JSON.parse(text)
    } catch (error) {
      throw new RpcFrameError(`payload is not JSON (${(error as Error).message})`, methodId, requestId)
    }
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new RpcFrameError('payload must be a JSON object', methodId, requestId)
  return {kind, methodId, requestId, payload: payload as Record<string, unknown>}
}

/** A frame whose header parsed but whose payload did not: the error can still name the request. */
export class RpcFrameError extends CCError {
  constructor(
    detail: string,
    readonly methodId: number,
    readonly requestId: number,
  ) {
    super('CC_ERR_RPC_BAD_FRAME', {detail})
  }
}

const callSid = z.string().check(z.regex(CALL_SID_PATTERN, 'must be a call_sid (CA + 32 hex digits)'))

/**
 * The method table. Ids are part of the wire contract: never renumber, only add.
 * 0 is `session.open`, what starts a session: over WebRTC the HTTP offer (not a frame; its trace carries method.id 0),
 * over QUIC the first request of the connection, with the JWT as `token`.
 */
export const RPC_METHODS = {
  'session.open': {id: 0, params: z.strictObject({token: z.optional(z.string().check(z.maxLength(8192)))})},
  'call.create': {
    id: 1,
    params: z.strictObject({
      /** A number (through `trunk`) or a sip:/sips: URI. */
      to: z.string().check(z.minLength(1), z.maxLength(256)),
      trunk: z.optional(z.string().check(z.minLength(1), z.maxLength(63))),
      from: z.optional(z.string().check(z.maxLength(64), z.regex(/^[+\w.*#-]*$/, 'must be a number or a plain user name'))),
      timeout_s: z._default(z.int().check(z.gte(1), z.lte(300)), 30),
    }),
  },
  'call.hangup': {id: 2, params: z.strictObject({call_sid: callSid, cause: z._default(z.int().check(z.gte(1), z.lte(127)), 16)})},
  'call.dtmf': {
    id: 3,
    params: z.strictObject({
      call_sid: callSid,
      digits: z.string().check(z.regex(/^[0-9*#A-D]{1,32}$/, 'must be 1-32 of 0-9 * # A-D')),
      duration_ms: z._default(z.int().check(z.gte(40), z.lte(2000)), 100),
    }),
  },
  /** Then `event` frames (method_id 4, the subscribe's request_id) with the tenant's call events. */
  'events.subscribe': {id: 4, params: z.strictObject({call_sid: z.optional(callSid)})},
} as const

export type RpcMethodName = keyof typeof RPC_METHODS
export type RpcParams<M extends RpcMethodName> = z.output<(typeof RPC_METHODS)[M]['params']>

const BY_ID = new Map<number, RpcMethodName>(Object.entries(RPC_METHODS).map(([name, spec]) => [spec.id, name as RpcMethodName]))

export const rpcMethodName = (methodId: number): RpcMethodName | undefined => BY_ID.get(methodId)

/** The request methods a client may send (all but `session.open`). */
export const knownMethodIds = (): string =>
  [...BY_ID.entries()]
    .filter(([id]) => id !== 0)
    .map(([id, name]) => `${id} ${name}`)
    .join(', ')

export const parseRpcParams = <M extends RpcMethodName>(method: M, payload: unknown): RpcParams<M> => {
  const parsed = RPC_METHODS[method].params.safeParse(payload)
  if (!parsed.success) {
    const detail = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'params'}: ${issue.message}`).join('; ')
    throw new CCError('CC_ERR_RPC_INVALID_PARAMS', {method, detail})
  }
  return parsed.data as RpcParams<M>
}

/** What a call.create answers at once (the call is ringing; its progress comes as events). */
export interface CallCreateResult {
  readonly call_sid: string
}

/** The payload of an `error` frame: the error registry's code crosses the wire, as on the admin socket. */
export interface RpcErrorPayload {
  readonly code: string
  readonly message: string
  readonly hint: string
}
