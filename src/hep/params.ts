// The values `hep enable` takes, checked the same way by the CLI (before
// anything is sent) and by the daemon's params schema: a collector endpoint,
// a capture TTL, a capture id. Each check returns a sentence that says what
// is wrong, for CC_ERR_USAGE and for -32602 invalid params alike.
import {isIP} from 'node:net'
import {parseHostPort} from '../config/schema.js'
import {crc32} from '../crc32.js'

export const HEP_CAPTURE_ID_MAX = 4_294_967_295
/**
 * The capture id a gateway sends (heplify.capture_id): the number configured, or with `node` the
 * CRC-32 (IEEE) of the node name's UTF-8 bytes: the same on every start of a node, and distinct
 * node names give distinct ids except for a 1 in 2^32 collision per pair (docs/fleet.md).
 */
export const hepCaptureId = (configured: number | 'node', nodeName: string): number =>
  configured === 'node' ? crc32(Buffer.from(nodeName, 'utf8')) : configured

/** A TTL switches capture off by itself; longer captures are left on without one, on purpose. */
export const HEP_TTL_MAX_S = 86_400
/** Chunk lengths are 16 bits; a key is a short shared secret anyway. */
export const HEP_PASSWORD_MAX_LENGTH = 1024

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 253 characters at most. */
const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/
const isHostName = (host: string): boolean => host.length <= 253 && host.split('.').every((label) => HOST_LABEL.test(label)) && !/^[0-9.]+$/.test(host)

export type Checked<T> = {readonly ok: true; readonly value: T} | {readonly ok: false; readonly problem: string}

/**
 * A collector endpoint: `HOST:PORT`, `[IPv6]:PORT`; HOST an IP literal or a
 * DNS name; PORT 1..65535 (a collector cannot listen on port 0).
 */
export const checkHepEndpoint = (value: string): Checked<{host: string; port: number}> => {
  const shown = JSON.stringify(value)
  if (value.trim() === '') return {ok: false, problem: 'the endpoint is empty: give the collector as HOST:PORT, e.g. 192.0.2.10:9060'}
  const shape = /^(?:\[(?<v6>[^\]]*)\]|(?<host>[^[\]]*)):(?<port>\d+)$/.exec(value)?.groups
  if (shape === undefined) return {ok: false, problem: `${shown} has no port: give the collector as HOST:PORT (IPv6 as [ADDR]:PORT), e.g. 192.0.2.10:9060`}
  const port = Number(shape.port)
  if (port < 1 || port > 65_535) return {ok: false, problem: `${shown}: port ${shape.port} is outside 1-65535`}
  if (shape.v6 !== undefined) {
    if (isIP(shape.v6) !== 6) return {ok: false, problem: `${shown}: ${JSON.stringify(shape.v6)} in brackets is not an IPv6 address`}
  } else if (shape.host === undefined || shape.host === '') {
    return {ok: false, problem: `${shown} has no host: give the collector as HOST:PORT, e.g. 192.0.2.10:9060`}
  } else if (shape.host.includes(':')) {
    return {ok: false, problem: `${shown}: an IPv6 address goes in brackets, as [ADDR]:PORT`}
  } else if (isIP(shape.host) !== 4 && !isHostName(shape.host)) {
    return {ok: false, problem: `${shown}: ${JSON.stringify(shape.host)} is not an IPv4 address or a host name`}
  }
  // The config's own HOST:PORT grammar must agree, so a value accepted here also reads back from a config file.
  const parsed = parseHostPort(value)
  if (parsed === undefined) return {ok: false, problem: `${shown} is not HOST:PORT (IPv6 as [ADDR]:PORT)`}
  return {ok: true, value: {host: parsed.host, port}}
}

const UNIT_SECONDS: Record<string, number> = {s: 1, m: 60, h: 3600}

/** A TTL such as `90s`, `15m`, `1h`, `1h30m` or plain seconds (`600`); 1 s to 24 h. */
export const checkHepTtl = (value: string): Checked<number> => {
  const shown = JSON.stringify(value)
  const text = value.trim().toLowerCase()
  let seconds: number
  if (/^\d+$/.test(text)) {
    seconds = Number(text)
  } else if (/^(?:\d+[hms])+$/.test(text)) {
    seconds = 0
    const units = new Set<string>()
    for (const [, amount, unit] of text.matchAll(/(\d+)([hms])/g)) {
      if (unit === undefined || units.has(unit)) return {ok: false, problem: `TTL ${shown} names a unit twice`}
      units.add(unit)
      seconds += Number(amount) * (UNIT_SECONDS[unit] ?? 0)
    }
  } else {
    return {ok: false, problem: `TTL ${shown} is not a duration: use seconds, minutes or hours such as 90s, 15m, 1h or 1h30m`}
  }
  if (seconds < 1) return {ok: false, problem: `TTL ${shown} is zero: give at least 1s (or leave --ttl out to capture until \`hep disable\`)`}
  if (seconds > HEP_TTL_MAX_S) return {ok: false, problem: `TTL ${shown} is longer than 24h; capture that long is left on without a TTL on purpose`}
  return {ok: true, value: seconds}
}
