// JSON-RPC 2.0 framing for the admin socket: one JSON object per line.
// Both ends use this codec, so a framing rule changes in one place.
import {CCError, isErrorCode, type ErrorDetails} from '../errors.js'

/** A line longer than this is refused before it is parsed. */
export const MAX_LINE_BYTES = 1024 * 1024

export type RpcId = string | number | null

export interface RpcRequest {
  readonly jsonrpc: '2.0'
  readonly id?: RpcId
  readonly method: string
  readonly params?: unknown
}

export interface RpcErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: {readonly cc_code: string; readonly hint: string; readonly details: ErrorDetails}
}

export type RpcResponse =
  | {readonly jsonrpc: '2.0'; readonly id: RpcId; readonly result: unknown}
  | {readonly jsonrpc: '2.0'; readonly id: RpcId; readonly error: RpcErrorObject}

export interface RpcNotification {
  readonly jsonrpc: '2.0'
  readonly method: string
  readonly params?: unknown
}

export const encodeLine = (message: RpcRequest | RpcResponse | RpcNotification): string => `${JSON.stringify(message)}\n`

export const errorObject = (error: CCError): RpcErrorObject => ({code: error.rpcCode, message: error.message, data: {cc_code: error.code, hint: error.hint, details: error.details}})

export const errorResponse = (id: RpcId, error: CCError): RpcResponse => ({jsonrpc: '2.0', id, error: errorObject(error)})

/** Rebuilds the registry error a daemon sent; an unknown code still keeps the daemon's words. */
export const errorFromResponse = (error: RpcErrorObject): CCError => {
  const code = error.data?.cc_code
  if (isErrorCode(code)) return new CCError(code, error.data?.details ?? {})
  return new CCError('CC_ERR_INTERNAL', {detail: `${error.message} (JSON-RPC ${error.code})`})
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value)
const isRpcId = (value: unknown): value is RpcId => value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))

/** Parses one request line; throws CCErrors that map to the JSON-RPC parse and invalid-request codes. */
export const decodeRequest = (line: string): RpcRequest => {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    throw new CCError('CC_ERR_ADMIN_PARSE', {detail: (error as Error).message})
  }
  if (!isRecord(value)) throw new CCError('CC_ERR_ADMIN_INVALID_REQUEST', {detail: 'a request must be a JSON object (batches are not supported)'})
  if (value.jsonrpc !== '2.0') throw new CCError('CC_ERR_ADMIN_INVALID_REQUEST', {detail: 'jsonrpc must be "2.0"'})
  if (typeof value.method !== 'string' || value.method.length === 0) throw new CCError('CC_ERR_ADMIN_INVALID_REQUEST', {detail: 'method must be a non-empty string'})
  if ('id' in value && !isRpcId(value.id)) throw new CCError('CC_ERR_ADMIN_INVALID_REQUEST', {detail: 'id must be a string, a number or null'})
  if ('params' in value && value.params !== undefined && !isRecord(value.params)) {
    throw new CCError('CC_ERR_ADMIN_INVALID_REQUEST', {detail: 'params must be an object (named parameters)'})
  }
  return value as unknown as RpcRequest
}

/** Best effort: the id of a request that failed validation, so its error can still be correlated. */
export const salvageId = (line: string): RpcId => {
  try {
    const value: unknown = JSON.parse(line)
    return isRecord(value) && isRpcId(value.id) ? value.id : null
  } catch {
    return null
  }
}

export const decodeMessage = (line: string): RpcResponse | RpcNotification => {
  const value: unknown = JSON.parse(line)
  if (!isRecord(value) || value.jsonrpc !== '2.0') throw new CCError('CC_ERR_INTERNAL', {detail: `daemon sent a non JSON-RPC line: ${line.slice(0, 200)}`})
  return value as unknown as RpcResponse | RpcNotification
}

/**
 * Splits a byte stream into lines. Calls onLine per complete line and onOverflow
 * (then drops bytes up to the next newline) when a line exceeds the limit.
 */
export class LineSplitter {
  private buffered = ''
  private discarding = false

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: () => void,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {}

  push(chunk: string): void {
    let text = this.buffered + chunk
    this.buffered = ''
    let newline = text.indexOf('\n')
    while (newline !== -1) {
      const line = text.slice(0, newline)
      text = text.slice(newline + 1)
      if (this.discarding) this.discarding = false
      else if (Buffer.byteLength(line) > this.maxBytes) this.onOverflow()
      else if (line.trim().length > 0) this.onLine(line)
      newline = text.indexOf('\n')
    }
    if (this.discarding) return
    if (Buffer.byteLength(text) > this.maxBytes) {
      this.discarding = true
      this.onOverflow()
      return
    }
    this.buffered = text
  }
}
