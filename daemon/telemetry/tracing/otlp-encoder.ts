// OTLP protobuf (opentelemetry-proto, ExportTraceServiceRequest) straight
// from the sink's span records, on the thread that records them, into one
// reused buffer. It writes what the OpenTelemetry JS serializer
// (@opentelemetry/otlp-transformer's ProtobufTraceSerializer) writes, field
// for field and byte for byte (test/unit/.../otlp-encoder.test.ts compares
// them), without building the SDK span objects that serializer reads: those
// objects, and copying records to another thread to build them there, were
// most of what tracing cost the call setup rate (README "Tracing cost").
import type {SpanRecord, SpanAttributes} from './span-record.js'

type AttributeValue = string | number | boolean

const LEN = 2
const VARINT = 0
const I64 = 1
const I32 = 5
/** OTLP span flags: bit 8 says whether bit 9 (the parent is remote) is known. */
const HAS_IS_REMOTE = 0x100
const IS_REMOTE = 0x200
const TWO_32 = 0x1_0000_0000

const HEX_VALUE = new Int8Array(128).fill(-1)
for (let digit = 0; digit < 16; digit++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(digit)] = digit
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(digit)] = digit
}
const utf8 = new TextEncoder()

/** A growable protobuf writer; lengths of nested messages are back-filled as minimal varints. */
class ProtoWriter {
  buffer: Uint8Array = Buffer.allocUnsafeSlow(64 * 1024)
  pos = 0
  private readonly float = new Float64Array(1)
  private readonly floatBytes = new Uint8Array(this.float.buffer)

  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buffer.length) return
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.pos + bytes))
    grown.set(this.buffer.subarray(0, this.pos))
    this.buffer = grown
  }

  tag(field: number, wireType: number): void {
    if (field > 15) {
      this.varint32((field << 3) | wireType)
      return
    }
    this.ensure(1)
    this.buffer[this.pos++] = (field << 3) | wireType
  }

  varint32(value: number): void {
    this.ensure(5)
    let rest = value >>> 0
    while (rest > 0x7f) {
      this.buffer[this.pos++] = (rest & 0x7f) | 0x80
      rest >>>= 7
    }
    this.buffer[this.pos++] = rest
  }

  /** An integer attribute (int64 varint; negatives as ten-byte two's complement). */
  int64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) {
      this.varint32(value)
      return
    }
    this.ensure(10)
    let rest = BigInt.asUintN(64, BigInt(value))
    while (rest > 0x7fn) {
      this.buffer[this.pos++] = Number(rest & 0x7fn) | 0x80
      rest >>= 7n
    }
    this.buffer[this.pos++] = Number(rest)
  }

  fixed32(value: number): void {
    this.ensure(4)
    const buffer = this.buffer
    buffer[this.pos++] = value & 0xff
    buffer[this.pos++] = (value >>> 8) & 0xff
    buffer[this.pos++] = (value >>> 16) & 0xff
    buffer[this.pos++] = (value >>> 24) & 0xff
  }

  fixed64(low: number, high: number): void {
    this.fixed32(low >>> 0)
    this.fixed32(high >>> 0)
  }

  double(value: number): void {
    this.ensure(8)
    this.float[0] = value
    this.buffer.set(this.floatBytes, this.pos)
    this.pos += 8
  }

  /** A length-prefixed UTF-8 string: ASCII copied by hand, anything else through TextEncoder. */
  string(value: string): void {
    const length = value.length
    const start = this.pos
    this.ensure(5 + length)
    this.varint32(length)
    const buffer = this.buffer
    let pos = this.pos
    for (let index = 0; index < length; index++) {
      const code = value.charCodeAt(index)
      if (code >= 0x80) {
        this.pos = start
        this.bytes(utf8.encode(value))
        return
      }
      buffer[pos++] = code
    }
    this.pos = pos
  }

  /** Bytes as they are (an already encoded part). */
  raw(value: Uint8Array): void {
    this.ensure(value.length)
    this.buffer.set(value, this.pos)
    this.pos += value.length
  }

  bytes(value: Uint8Array): void {
    this.varint32(value.length)
    this.ensure(value.length)
    this.buffer.set(value, this.pos)
    this.pos += value.length
  }

  /** A trace or span id: its hex as length-prefixed bytes (malformed hex digits count as 0, as the SDK's hexToBinary does). */
  hexId(hex: string): void {
    const length = hex.length >>> 1
    this.varint32(length)
    this.ensure(length)
    const buffer = this.buffer
    for (let index = 0; index < length; index++) {
      const high = HEX_VALUE[hex.charCodeAt(2 * index)] ?? -1
      const low = HEX_VALUE[hex.charCodeAt(2 * index + 1)] ?? -1
      buffer[this.pos++] = ((high < 0 ? 0 : high) << 4) | (low < 0 ? 0 : low)
    }
  }

  /** Starts a length-delimited message: one byte reserved for its length (most are shorter than 128 bytes). */
  begin(): number {
    this.ensure(1)
    return this.pos++
  }

  /** Ends the message begun at `at`, moving it forward when its length needs more than the reserved byte. */
  end(at: number): void {
    const length = this.pos - at - 1
    if (length < 0x80) {
      this.buffer[at] = length
      return
    }
    let size = 1
    for (let rest = length >>> 7; rest > 0; rest >>>= 7) size++
    this.ensure(size - 1)
    this.buffer.copyWithin(at + size, at + 1, this.pos)
    this.pos += size - 1
    let rest = length
    let pos = at
    while (rest > 0x7f) {
      this.buffer[pos++] = (rest & 0x7f) | 0x80
      rest >>>= 7
    }
    this.buffer[pos] = rest
  }

  /**
   * What was written; the writer goes on in a new buffer of the same size.
   * Not a copy (`slice` was 40 % of the encoding time, allocating and
   * zero-filling); `allocUnsafeSlow` gives a whole ArrayBuffer of its own
   * (transferable) without zero-filling it.
   */
  take(): Uint8Array {
    const written = this.buffer.subarray(0, this.pos)
    this.buffer = Buffer.allocUnsafeSlow(this.buffer.length)
    this.pos = 0
    return written
  }
}

/** Epoch milliseconds as the SDK's [seconds, nanoseconds] (span-record.ts's hrTime), written as fixed64 nanoseconds without a BigInt. */
const writeTime = (writer: ProtoWriter, epochMs: number): void => {
  const seconds = Math.floor(epochMs / 1000)
  const nanos = Math.round((epochMs - seconds * 1000) * 1e6)
  // seconds * 1e9 + nanos exceeds 2^53: split seconds at bit 16 so every product stays exact.
  const lowPart = (seconds % 0x10000) * 1e9 + nanos
  const highPart = Math.floor(seconds / 0x10000) * 1e9
  const highPartLow16 = highPart % 0x10000
  let low = (lowPart % TWO_32) + highPartLow16 * 0x10000
  const high = Math.floor(lowPart / TWO_32) + (highPart - highPartLow16) / 0x10000 + Math.floor(low / TWO_32)
  low %= TWO_32
  writer.fixed64(low, high)
}

const writeValue = (writer: ProtoWriter, value: AttributeValue): void => {
  if (typeof value === 'string') {
    writer.tag(1, LEN)
    writer.string(value)
  } else if (typeof value === 'boolean') {
    writer.tag(2, VARINT)
    writer.varint32(value ? 1 : 0)
  } else if (Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63) {
    writer.tag(3, VARINT)
    writer.int64(value)
  } else {
    writer.tag(4, I64)
    writer.double(value)
  }
}

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key)

const writeAttribute = (writer: ProtoWriter, field: number, key: string, value: AttributeValue | undefined | null): void => {
  if (value === undefined || value === null) return
  writer.tag(field, LEN)
  const keyValue = writer.begin()
  writer.tag(1, LEN)
  writer.string(key)
  writer.tag(2, LEN)
  const anyValue = writer.begin()
  writeValue(writer, value)
  writer.end(anyValue)
  writer.end(keyValue)
}

/**
 * Writes `common` then `own` in the order of `Object.assign({}, common, own)`
 * (toReadableSpan's merge): a key in both keeps its place in `common` and
 * takes the value from `own`.
 */
const writeAttributes = (writer: ProtoWriter, field: number, common: SpanAttributes | undefined, own: SpanAttributes): void => {
  if (common !== undefined) {
    for (const key in common) {
      if (hasOwn(common, key)) writeAttribute(writer, field, key, hasOwn(own, key) ? own[key] : common[key])
    }
  }
  for (const key in own) {
    if (hasOwn(own, key) && (common === undefined || !hasOwn(common, key))) writeAttribute(writer, field, key, own[key])
  }
}

export interface OtlpOrigin {
  readonly resource: Readonly<Record<string, AttributeValue>>
  readonly scope: {readonly name: string; readonly version?: string}
}

const overrides = (common: SpanAttributes, own: SpanAttributes): boolean => {
  for (const key in own) if (hasOwn(common, key)) return true
  return false
}

export class OtlpTraceEncoder {
  private readonly writer = new ProtoWriter()
  /**
   * The encoded KeyValues of each shared attribute object (a call's
   * tenant.id, call.sid and transport): encoded for its first span, copied
   * for the others. Shared objects are never changed once a span uses them.
   */
  private readonly encodedCommon = new WeakMap<SpanAttributes, Uint8Array>()
  /** ResourceSpans.resource and ScopeSpans.scope, tags included: the same for every request. */
  private readonly resourceField: Uint8Array
  private readonly scopeField: Uint8Array

  constructor(origin: OtlpOrigin) {
    const writer = this.writer
    writer.tag(1, LEN)
    const resource = writer.begin()
    writeAttributes(writer, 1, undefined, origin.resource as SpanAttributes)
    writer.tag(2, VARINT)
    writer.varint32(0)
    writer.end(resource)
    this.resourceField = writer.take()
    writer.tag(1, LEN)
    const scope = writer.begin()
    writer.tag(1, LEN)
    writer.string(origin.scope.name)
    if (origin.scope.version) {
      writer.tag(2, LEN)
      writer.string(origin.scope.version)
    }
    writer.end(scope)
    this.scopeField = writer.take()
  }

  /** One ExportTraceServiceRequest with every record: one resource, one scope. */
  encode(records: readonly SpanRecord[]): Uint8Array {
    const writer = this.writer
    writer.tag(1, LEN)
    const resourceSpans = writer.begin()
    writer.ensure(this.resourceField.length)
    writer.buffer.set(this.resourceField, writer.pos)
    writer.pos += this.resourceField.length
    writer.tag(2, LEN)
    const scopeSpans = writer.begin()
    writer.ensure(this.scopeField.length)
    writer.buffer.set(this.scopeField, writer.pos)
    writer.pos += this.scopeField.length
    for (const record of records) {
      writer.tag(2, LEN)
      this.span(record)
    }
    writer.end(scopeSpans)
    writer.end(resourceSpans)
    return writer.take()
  }

  private attributes(common: SpanAttributes | undefined, own: SpanAttributes): void {
    const writer = this.writer
    if (common === undefined || overrides(common, own)) {
      writeAttributes(writer, 9, common, own)
      return
    }
    const encoded = this.encodedCommon.get(common)
    if (encoded) writer.raw(encoded)
    else {
      const start = writer.pos
      writeAttributes(writer, 9, undefined, common)
      // A copy (the writer's buffer is reused; Buffer#slice would be a view).
      this.encodedCommon.set(common, new Uint8Array(writer.buffer.subarray(start, writer.pos)))
    }
    writeAttributes(writer, 9, undefined, own)
  }

  private span(record: SpanRecord): void {
    const writer = this.writer
    const span = writer.begin()
    writer.tag(1, LEN)
    writer.hexId(record.traceId)
    writer.tag(2, LEN)
    writer.hexId(record.spanId)
    if (record.traceState) {
      writer.tag(3, LEN)
      writer.string(record.traceState)
    }
    if (record.parentSpanId) {
      writer.tag(4, LEN)
      writer.hexId(record.parentSpanId)
    }
    writer.tag(5, LEN)
    writer.string(record.name)
    // OTLP's SpanKind counts from 1 (0 is unspecified).
    writer.tag(6, VARINT)
    writer.varint32(record.kind + 1)
    writer.tag(7, I64)
    writeTime(writer, record.startMs)
    writer.tag(8, I64)
    writeTime(writer, record.endMs)
    this.attributes(record.common, record.attributes)
    // dropped attributes, events and links: none.
    writer.tag(10, VARINT)
    writer.varint32(0)
    writer.tag(12, VARINT)
    writer.varint32(0)
    writer.tag(14, VARINT)
    writer.varint32(0)
    writer.tag(15, LEN)
    const status = writer.begin()
    if (record.error) {
      writer.tag(2, LEN)
      writer.string(record.error)
    }
    writer.tag(3, VARINT)
    // Status codes: 0 unset, 2 error.
    writer.varint32(record.error === undefined ? 0 : 2)
    writer.end(status)
    writer.tag(16, I32)
    writer.fixed32((record.flags & 0xff) | HAS_IS_REMOTE | (record.parentSpanId !== undefined && record.parentIsRemote ? IS_REMOTE : 0))
    writer.end(span)
  }
}
