import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {WavFormatError, WavWriter, parseWav, readWavFile, wavHeader, type WavFormat} from '../../../../src/media/wav.js'
import {alawToLinear, linearToAlaw, linearToUlaw, ulawToLinear} from '../../../../src/media/g711.js'

let directory = ''
before(() => {
  directory = mkdtempSync(join(tmpdir(), 'clutchcall-wav-'))
})
after(() => {
  rmSync(directory, {recursive: true, force: true})
})

// 161 samples: an odd count, so the G.711 data chunks need a pad octet.
const SAMPLES = Int16Array.from({length: 161}, (_, index) => Math.round(12000 * Math.sin(index / 3)) - (index === 7 ? 20000 : 0))

const expectedDecoded = (format: WavFormat, samples: Int16Array): number[] => {
  if (format === 'ulaw') return [...samples].map((sample) => ulawToLinear(linearToUlaw(sample)))
  if (format === 'alaw') return [...samples].map((sample) => alawToLinear(linearToAlaw(sample)))
  return [...samples]
}

const expectCorrupt = (bytes: Buffer, pattern: RegExp): void => {
  assert.throws(() => parseWav(bytes), (error: unknown) => error instanceof WavFormatError && pattern.test(error.message))
}

describe('WAV writer and reader', () => {
  for (const [format, code, width, headerLength] of [
    ['pcm16', 1, 2, 44],
    ['ulaw', 7, 1, 58],
    ['alaw', 6, 1, 58],
  ] as const) {
    it(`round-trips ${format}`, () => {
      const path = join(directory, `round-trip-${format}.wav`)
      const writer = WavWriter.create(path, format)
      writer.appendPcm(SAMPLES.subarray(0, 100))
      writer.appendPcm(SAMPLES.subarray(100))
      writer.close()
      writer.close()

      const file = readFileSync(path)
      const dataBytes = SAMPLES.length * width
      const pad = dataBytes % 2
      assert.equal(file.length, headerLength + dataBytes + pad)
      // Header fields checked by offset against the RIFF WAVE layout.
      assert.equal(file.toString('latin1', 0, 4), 'RIFF')
      assert.equal(file.readUInt32LE(4), file.length - 8)
      assert.equal(file.toString('latin1', 8, 16), 'WAVEfmt ')
      assert.equal(file.readUInt32LE(16), format === 'pcm16' ? 16 : 18)
      assert.equal(file.readUInt16LE(20), code)
      assert.equal(file.readUInt16LE(22), 1)
      assert.equal(file.readUInt32LE(24), 8000)
      assert.equal(file.readUInt32LE(28), 8000 * width)
      assert.equal(file.readUInt16LE(32), width)
      assert.equal(file.readUInt16LE(34), width * 8)
      if (format !== 'pcm16') {
        assert.equal(file.toString('latin1', 38, 42), 'fact')
        assert.equal(file.readUInt32LE(46), SAMPLES.length)
      }
      assert.equal(file.toString('latin1', headerLength - 8, headerLength - 4), 'data')
      assert.equal(file.readUInt32LE(headerLength - 4), dataBytes)

      const contents = readWavFile(path)
      assert.equal(contents.format, format)
      assert.equal(contents.sampleRate, 8000)
      assert.deepEqual([...contents.samples], expectedDecoded(format, SAMPLES))
    })
  }

  it('stores G.711 codes from RTP payloads as they are', () => {
    const path = join(directory, 'codes.wav')
    const codes = Buffer.from([0xff, 0x7f, 0x80, 0x00, 0xce])
    const writer = WavWriter.create(path, 'ulaw')
    writer.appendEncoded(codes)
    writer.close()
    const contents = readWavFile(path)
    assert.deepEqual([...contents.data], [...codes])
    assert.deepEqual([...contents.samples], [0, 0, 32124, -32124, 988])
  })

  it('leaves a readable file at every flush, before close', () => {
    const path = join(directory, 'flushed.wav')
    const writer = WavWriter.create(path, 'pcm16')
    writer.appendPcm(SAMPLES.subarray(0, 50))
    writer.flush()
    assert.deepEqual([...readWavFile(path).samples], [...SAMPLES.subarray(0, 50)])
    // Larger than the 16 KiB write buffer.
    const long = Int16Array.from({length: 20000}, (_, index) => (index * 37) % 30000)
    writer.appendPcm(long)
    writer.flush()
    assert.equal(readWavFile(path).samples.length, 50 + 20000)
    writer.close()
    assert.deepEqual([...readWavFile(path).samples.subarray(50)], [...long])
    assert.throws(() => writer.appendPcm(SAMPLES), /closed/)
  })

  it('keeps an odd-length µ-law file valid at an intermediate flush', () => {
    const path = join(directory, 'odd.wav')
    const writer = WavWriter.create(path, 'ulaw')
    writer.appendEncoded(Buffer.from([1, 2, 3]))
    writer.flush()
    assert.deepEqual([...readWavFile(path).data], [1, 2, 3])
    writer.appendEncoded(Buffer.from([4]))
    writer.close()
    assert.deepEqual([...readWavFile(path).data], [1, 2, 3, 4])
    assert.equal(readFileSync(path).length, 58 + 4)
  })

  it('skips unknown chunks such as LIST', () => {
    const header = wavHeader('pcm16', 4)
    const list = Buffer.concat([Buffer.from('LIST', 'latin1'), Buffer.from([3, 0, 0, 0, 0x61, 0x62, 0x63, 0])])
    // RIFF, WAVE, fmt (36 octets), then LIST with a pad octet, then data.
    const file = Buffer.concat([header.subarray(0, 36), list, header.subarray(36), Buffer.from([0x10, 0x00, 0xf0, 0xff])])
    file.writeUInt32LE(file.length - 8, 4)
    assert.deepEqual([...parseWav(file).samples], [16, -16])
  })

  it('rejects corrupt headers', () => {
    const good = Buffer.concat([wavHeader('pcm16', 4), Buffer.from([1, 0, 2, 0])])
    assert.doesNotThrow(() => parseWav(good))
    const corrupt = (edit: (file: Buffer) => void): Buffer => {
      const copy = Buffer.from(good)
      edit(copy)
      return copy
    }
    expectCorrupt(corrupt((file) => file.write('RIFX', 0, 'latin1')), /RIFF\/WAVE/)
    expectCorrupt(corrupt((file) => file.write('AVI ', 8, 'latin1')), /RIFF\/WAVE/)
    expectCorrupt(good.subarray(0, 30), /RIFF size/)
    expectCorrupt(corrupt((file) => file.writeUInt16LE(3, 20)), /format code 3/)
    expectCorrupt(corrupt((file) => file.writeUInt16LE(2, 22)), /2 channels/)
    expectCorrupt(corrupt((file) => file.writeUInt32LE(22050, 24)), /22050 Hz/)
    expectCorrupt(corrupt((file) => file.writeUInt16LE(8, 34)), /inconsistent fmt/)
    expectCorrupt(corrupt((file) => file.writeUInt32LE(400, 40)), /runs past the end/)
    expectCorrupt(corrupt((file) => file.writeUInt32LE(3, 40)), /whole number of samples/)
    expectCorrupt(corrupt((file) => file.write('junk', 12, 'latin1')), /data chunk before the fmt chunk/)
    expectCorrupt(corrupt((file) => file.write('junk', 36, 'latin1')), /no data chunk/)
    expectCorrupt(Buffer.alloc(0), /RIFF\/WAVE/)
  })

  it('reads a file written by hand with node:fs', () => {
    const path = join(directory, 'hand.wav')
    // 44-octet PCM header for 2 samples, then 0x7FFF and 0x8000 little-endian.
    const header = Buffer.from('524946462800000057415645666d74201000000001000100401f0000803e0000020010006461746104000000', 'hex')
    writeFileSync(path, Buffer.concat([header, Buffer.from([0xff, 0x7f, 0x00, 0x80])]))
    assert.deepEqual([...readWavFile(path).samples], [32767, -32768])
  })
})
