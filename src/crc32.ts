// CRC-32 (IEEE 802.3, the polynomial of zlib and gzip). Node's zlib.crc32 only
// exists from 20.15, and the package supports 20.6: a table-driven one here.

const TABLE = (() => {
  const table = new Uint32Array(256)
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1
    table[byte] = crc >>> 0
  }
  return table
})()

/** The CRC-32 of `bytes[start, end)`, as an unsigned 32-bit integer. */
export const crc32 = (bytes: Uint8Array, start = 0, end = bytes.length): number => {
  let crc = 0xffffffff
  for (let index = start; index < end; index++) crc = TABLE[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
