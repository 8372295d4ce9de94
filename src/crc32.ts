// CRC-32 (IEEE 802.3, the polynomial of zlib and gzip). Node's native
// zlib.crc32 (from 20.15) when there is one, about a hundred times faster on
// a large checkpoint; the package supports 20.6, so a table-driven one otherwise.
import * as zlib from 'node:zlib'

const TABLE = (() => {
  const table = new Uint32Array(256)
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1
    table[byte] = crc >>> 0
  }
  return table
})()

/** The table-driven CRC-32 of `bytes[start, end)` (Node before 20.15). */
export const crc32Table = (bytes: Uint8Array, start = 0, end = bytes.length): number => {
  let crc = 0xffffffff
  for (let index = start; index < end; index++) crc = TABLE[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

const native = (zlib as {crc32?: (data: Uint8Array) => number}).crc32

/** The CRC-32 of `bytes[start, end)`, as an unsigned 32-bit integer. */
export const crc32: (bytes: Uint8Array, start?: number, end?: number) => number = native
  ? (bytes, start = 0, end = bytes.length) => native(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end))
  : crc32Table
