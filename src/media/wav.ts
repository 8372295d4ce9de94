// WAV (RIFF WAVE) files of mono audio: 16-bit PCM (format 1) at 8 or 16 kHz
// (wideband recordings and prompts), A-law (format 6) and µ-law (format 7) at
// 8 kHz. The writer streams frames to a file
// descriptor and rewrites the RIFF and data sizes on every flush, so a
// recording cut short by a crash is still a valid file up to its last flush.

import {closeSync, openSync, readFileSync, writeSync} from 'node:fs'
import {decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw} from './g711.js'

export type WavFormat = 'pcm16' | 'alaw' | 'ulaw'

export const WAV_SAMPLE_RATE = 8000
/** The rates a file may have: 8 kHz, and 16 kHz for PCM16 only (G.711 is 8 kHz by definition). */
export type WavSampleRate = 8000 | 16000
const ratesFor = (format: WavFormat): readonly number[] => (format === 'pcm16' ? [8000, 16000] : [8000])

const FORMAT_CODES: Readonly<Record<WavFormat, number>> = {pcm16: 1, alaw: 6, ulaw: 7}
const bytesPerSample = (format: WavFormat): number => (format === 'pcm16' ? 2 : 1)

// PCM: RIFF header, 16-octet fmt chunk, data header. Non-PCM formats carry an
// 18-octet fmt chunk (cbSize = 0) and a fact chunk with the sample count, as
// the RIFF WAVE specification requires for compressed formats.
const PCM_HEADER_LENGTH = 44
const G711_HEADER_LENGTH = 58
const MAX_RIFF_SIZE = 0xffffffff

const headerLength = (format: WavFormat): number => (format === 'pcm16' ? PCM_HEADER_LENGTH : G711_HEADER_LENGTH)

/** The header of a file holding `dataBytes` octets of audio in `format`. */
export const wavHeader = (format: WavFormat, dataBytes: number, sampleRate: WavSampleRate = WAV_SAMPLE_RATE): Buffer => {
  const length = headerLength(format)
  const header = Buffer.alloc(length)
  const width = bytesPerSample(format)
  header.write('RIFF', 0, 'latin1')
  // The RIFF size counts everything after its own field, including the pad octet of an odd data chunk.
  header.writeUInt32LE(length - 8 + dataBytes + (dataBytes % 2), 4)
  header.write('WAVE', 8, 'latin1')
  header.write('fmt ', 12, 'latin1')
  header.writeUInt32LE(format === 'pcm16' ? 16 : 18, 16)
  header.writeUInt16LE(FORMAT_CODES[format], 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE(sampleRate * width, 28)
  header.writeUInt16LE(width, 32)
  header.writeUInt16LE(width * 8, 34)
  let at = 36
  if (format !== 'pcm16') {
    header.writeUInt16LE(0, 36)
    header.write('fact', 38, 'latin1')
    header.writeUInt32LE(4, 42)
    header.writeUInt32LE(dataBytes, 46)
    at = 50
  }
  header.write('data', at, 'latin1')
  header.writeUInt32LE(dataBytes, at + 4)
  return header
}

const PENDING_BYTES = 16384
const PAD_OCTET = Buffer.alloc(1)

const writeFully = (fd: number, data: Uint8Array, position: number): void => {
  let done = 0
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done)
}

/** Streams mono audio into a WAV file. Synchronous I/O, buffered in 16 KiB writes. */
export class WavWriter {
  readonly format: WavFormat
  readonly sampleRate: WavSampleRate
  private readonly fd: number
  private readonly ownsFd: boolean
  private readonly dataStart: number
  private readonly pending = Buffer.allocUnsafe(PENDING_BYTES)
  private pendingLength = 0
  private written = 0
  private closed = false

  /** Creates (or truncates) `path` and writes to it; close() closes the file. */
  static create(path: string, format: WavFormat, sampleRate: WavSampleRate = WAV_SAMPLE_RATE): WavWriter {
    const fd = openSync(path, 'w')
    try {
      return new WavWriter(fd, format, {ownsFd: true, sampleRate})
    } catch (error) {
      closeSync(fd)
      throw error
    }
  }

  /** Writes into an open, writable, seekable descriptor, starting with the header at position 0. */
  constructor(fd: number, format: WavFormat, options: {readonly ownsFd?: boolean; readonly sampleRate?: WavSampleRate} = {}) {
    if (!Object.hasOwn(FORMAT_CODES, format)) throw new RangeError(`unknown WAV format ${String(format)}`)
    const sampleRate = options.sampleRate ?? WAV_SAMPLE_RATE
    if (!ratesFor(format).includes(sampleRate)) throw new RangeError(`${format} WAV files are not written at ${sampleRate} Hz`)
    this.fd = fd
    this.format = format
    this.sampleRate = sampleRate
    this.ownsFd = options.ownsFd ?? false
    this.dataStart = headerLength(format)
    writeFully(fd, wavHeader(format, 0, sampleRate), 0)
  }

  /** Octets of audio data appended so far. */
  get dataBytes(): number {
    return this.written + this.pendingLength
  }

  /** Appends linear samples, encoding them to the file's format. */
  appendPcm(samples: Int16Array): void {
    this.ensureOpen()
    const width = bytesPerSample(this.format)
    this.ensureRoom(samples.length * width)
    let index = 0
    while (index < samples.length) {
      if (this.pendingLength + width > PENDING_BYTES) this.flushPending()
      const end = Math.min(samples.length, index + Math.floor((PENDING_BYTES - this.pendingLength) / width))
      if (this.format === 'pcm16') {
        for (let sample = index; sample < end; sample++) {
          this.pending.writeInt16LE(samples[sample] ?? 0, this.pendingLength)
          this.pendingLength += 2
        }
      } else {
        const target = this.pending.subarray(this.pendingLength, this.pendingLength + (end - index))
        if (this.format === 'ulaw') encodeUlaw(samples.subarray(index, end), target)
        else encodeAlaw(samples.subarray(index, end), target)
        this.pendingLength += end - index
      }
      index = end
    }
  }

  /**
   * Appends octets already in the file's encoding: G.711 codes straight from
   * RTP payloads, or little-endian 16-bit samples (an even count of octets).
   */
  appendEncoded(data: Uint8Array): void {
    this.ensureOpen()
    if (this.format === 'pcm16' && data.length % 2 !== 0) throw new RangeError(`16-bit PCM data must be an even number of octets, got ${data.length}`)
    this.ensureRoom(data.length)
    let index = 0
    while (index < data.length) {
      if (this.pendingLength === PENDING_BYTES) this.flushPending()
      const count = Math.min(data.length - index, PENDING_BYTES - this.pendingLength)
      this.pending.set(data.subarray(index, index + count), this.pendingLength)
      this.pendingLength += count
      index += count
    }
  }

  /** Writes buffered audio and rewrites the sizes in the header. */
  flush(): void {
    this.ensureOpen()
    this.flushPending()
  }

  /** Flushes and closes the file if this writer opened it. */
  close(): void {
    if (this.closed) return
    this.flushPending()
    this.closed = true
    if (this.ownsFd) closeSync(this.fd)
  }

  private flushPending(): void {
    if (this.pendingLength > 0) {
      writeFully(this.fd, this.pending.subarray(0, this.pendingLength), this.dataStart + this.written)
      this.written += this.pendingLength
      this.pendingLength = 0
    }
    // RIFF pads an odd chunk to an even length; the next flush writes data over the pad octet.
    if (this.written % 2 === 1) writeFully(this.fd, PAD_OCTET, this.dataStart + this.written)
    writeFully(this.fd, wavHeader(this.format, this.written, this.sampleRate), 0)
  }

  private ensureRoom(extraBytes: number): void {
    if (this.dataStart - 8 + this.dataBytes + extraBytes + 1 > MAX_RIFF_SIZE) throw new RangeError('WAV data would exceed the 4 GiB RIFF limit')
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error('WAV writer is closed')
  }
}

export class WavFormatError extends Error {
  constructor(detail: string) {
    super(`not a usable WAV file: ${detail}`)
    this.name = 'WavFormatError'
  }
}

export interface WavContents {
  readonly format: WavFormat
  readonly sampleRate: WavSampleRate
  /** Decoded linear samples. */
  readonly samples: Int16Array
  /** The data chunk as stored (G.711 codes or little-endian PCM16), a view into the file. */
  readonly data: Buffer
}

const formatFromCode = (code: number): WavFormat | undefined =>
  (Object.keys(FORMAT_CODES) as WavFormat[]).find((format) => FORMAT_CODES[format] === code)

/**
 * Parses a WAV file of mono PCM16 (8 or 16 kHz), A-law or µ-law (8 kHz). Throws
 * WavFormatError naming what is wrong: a file is not on any hot path, and a
 * corrupt recording or prompt must be reported, not skipped.
 */
export const parseWav = (file: Buffer): WavContents => {
  if (file.length < 12 || file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WAVE') {
    throw new WavFormatError('no RIFF/WAVE header')
  }
  const riffEnd = 8 + file.readUInt32LE(4)
  if (riffEnd > file.length) throw new WavFormatError(`RIFF size says ${riffEnd} octets, the file has ${file.length}`)

  let format: WavFormat | undefined
  let rate: WavSampleRate = WAV_SAMPLE_RATE
  let data: Buffer | undefined
  let at = 12
  while (at + 8 <= riffEnd && data === undefined) {
    const id = file.toString('latin1', at, at + 4)
    const size = file.readUInt32LE(at + 4)
    const bodyStart = at + 8
    if (bodyStart + size > riffEnd) throw new WavFormatError(`chunk '${id}' of ${size} octets runs past the end of the file`)
    if (id === 'fmt ') {
      if (size < 16) throw new WavFormatError(`fmt chunk of ${size} octets is shorter than 16`)
      const code = file.readUInt16LE(bodyStart)
      format = formatFromCode(code)
      if (format === undefined) throw new WavFormatError(`format code ${code} is not PCM (1), A-law (6) or µ-law (7)`)
      const channels = file.readUInt16LE(bodyStart + 2)
      const sampleRate = file.readUInt32LE(bodyStart + 4)
      const byteRate = file.readUInt32LE(bodyStart + 8)
      const blockAlign = file.readUInt16LE(bodyStart + 12)
      const bits = file.readUInt16LE(bodyStart + 14)
      const width = bytesPerSample(format)
      if (channels !== 1) throw new WavFormatError(`${channels} channels, only mono is supported`)
      if (!ratesFor(format).includes(sampleRate)) throw new WavFormatError(`sample rate ${sampleRate} Hz, only ${ratesFor(format).join(' or ')} Hz is supported for ${format}`)
      rate = sampleRate as WavSampleRate
      if (bits !== width * 8 || blockAlign !== width || byteRate !== sampleRate * width) {
        throw new WavFormatError(`inconsistent fmt chunk for ${format}: ${bits} bits, block align ${blockAlign}, byte rate ${byteRate}`)
      }
    } else if (id === 'data') {
      if (format === undefined) throw new WavFormatError('data chunk before the fmt chunk')
      if (size % bytesPerSample(format) !== 0) throw new WavFormatError(`data chunk of ${size} octets is not a whole number of samples`)
      data = file.subarray(bodyStart, bodyStart + size)
    }
    // Chunks are padded to an even length (RIFF).
    at = bodyStart + size + (size % 2)
  }
  if (format === undefined) throw new WavFormatError('no fmt chunk')
  if (data === undefined) throw new WavFormatError('no data chunk')

  let samples: Int16Array
  if (format === 'pcm16') {
    samples = new Int16Array(data.length / 2)
    for (let index = 0; index < samples.length; index++) samples[index] = data.readInt16LE(index * 2)
  } else {
    samples = format === 'ulaw' ? decodeUlaw(data) : decodeAlaw(data)
  }
  return {format, sampleRate: rate, samples, data}
}

/** Reads and parses a WAV file from disk. */
export const readWavFile = (path: string): WavContents => parseWav(readFileSync(path))
