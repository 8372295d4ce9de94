#!/usr/bin/env node
// SRTP per-packet cost: SrtpSession.protectRtp and unprotectRtp of the build
// (dist/src/media/srtp.js) for both SDES suites, against the same packet
// protected with node:crypto's objects made per packet (a new AES-CTR cipher
// and a new HMAC, as RFC 3711 reads), in one process, alternating, `ROUNDS`
// rounds of `PACKETS` packets; medians printed. A 160-octet payload (20 ms
// of G.711) behind a 12-octet header. The in-gateway cost, with sockets and
// threads, is `npm run bench:calls:srtp`.
//
//   npm run bench:srtp            # ROUNDS=6 PACKETS=100000 PAYLOAD=160
// Needs a build (npm run build).
import {createCipheriv, createHmac, randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'

const here = new URL('../dist/src/media/srtp.js', import.meta.url)
if (!existsSync(here)) {
  console.error('bench:srtp: no build found (dist/src/media/srtp.js): run npm run build first')
  process.exit(1)
}
const {SrtpSession, deriveKeys} = await import(here.href)

const ROUNDS = Number(process.env.ROUNDS ?? 6)
const PACKETS = Number(process.env.PACKETS ?? 100_000)
const PAYLOAD = Number(process.env.PAYLOAD ?? 160)

const packet = (sequence) => {
  const buffer = randomBytes(12 + PAYLOAD)
  buffer[0] = 0x80
  buffer[1] = 8
  buffer.writeUInt16BE(sequence & 0xffff, 2)
  buffer.writeUInt32BE(0x1234abcd, 8)
  return buffer
}

/** RFC 3711 with node:crypto's objects made for each packet: the cost before any reuse. */
const perPacketObjects = (keys, tagLength) => (plain) => {
  const iv = Buffer.alloc(16)
  keys.salt.copy(iv)
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ plain.readUInt32BE(8)) >>> 0, 4)
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ plain.readUInt16BE(2)) >>> 0, 10)
  const cipher = createCipheriv('aes-128-ctr', keys.encryption, iv)
  const body = Buffer.concat([plain.subarray(0, 12), cipher.update(plain.subarray(12))])
  const tag = createHmac('sha1', keys.authentication).update(body).update(Buffer.alloc(4)).digest().subarray(0, tagLength)
  return Buffer.concat([body, tag])
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const microsPerPacket = (started) => Number(process.hrtime.bigint() - started) / PACKETS / 1000

const inputs = Array.from({length: PACKETS}, (_, index) => packet(index))
const results = new Map()
const record = (name, value) => results.set(name, [...(results.get(name) ?? []), value])

for (let round = 0; round < ROUNDS; round++) {
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']) {
    const aliceKey = randomBytes(30)
    const bobKey = randomBytes(30)
    const alice = new SrtpSession(suite, aliceKey, bobKey)
    const bob = new SrtpSession(suite, bobKey, aliceKey)
    const wire = new Array(PACKETS)
    let started = process.hrtime.bigint()
    for (let index = 0; index < PACKETS; index++) wire[index] = alice.protectRtp(inputs[index])
    record(`${suite} protect`, microsPerPacket(started))
    started = process.hrtime.bigint()
    let refused = 0
    for (let index = 0; index < PACKETS; index++) if (bob.unprotectRtp(wire[index]) === undefined) refused++
    record(`${suite} unprotect`, microsPerPacket(started))
    if (refused > 0) throw new Error(`${suite}: ${refused} of our own packets refused`)
  }
  const reference = perPacketObjects(deriveKeys(randomBytes(30), 'rtp'), 10)
  const started = process.hrtime.bigint()
  for (let index = 0; index < PACKETS; index++) reference(inputs[index])
  record('node:crypto objects per packet, protect (reference)', microsPerPacket(started))
}

console.log(`SRTP per packet: ${PAYLOAD}-octet payload, ${PACKETS} packets a round, median of ${ROUNDS} rounds (node ${process.version})`)
const reference = median(results.get('node:crypto objects per packet, protect (reference)'))
for (const [name, values] of results) {
  const value = median(values)
  console.log(`  ${name.padEnd(52)} ${value.toFixed(2).padStart(6)} µs  (${(value / reference).toFixed(2)}× the reference; range ${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`)
}
