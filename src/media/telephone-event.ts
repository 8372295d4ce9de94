// RFC 4733 telephone-event payloads (DTMF in RTP): the 4-octet event format
// of §2.3, the DTMF code table of §3.2, and the packet sequence a sender emits
// for one event (§2.5.1).

export const TELEPHONE_EVENT_LENGTH = 4
/** Largest duration one event packet can carry (§2.5.1.3: longer events are segmented). */
export const MAX_EVENT_DURATION = 0xffff
/** Event code of a hook flash (§3.2). */
export const FLASH_EVENT = 16

export interface TelephoneEvent {
  /** Event code, 0..255 (0..15 are DTMF, see dtmfDigitToEvent). */
  readonly event: number
  /** E bit: this packet reports the end of the event. */
  readonly end: boolean
  /** Power level as −dBm0, 0..63 (§2.3.4); 0 for events without volume. */
  readonly volume: number
  /** Duration so far in timestamp units, 0..65535. */
  readonly duration: number
}

export type TelephoneEventParseResult = ({readonly ok: true} & TelephoneEvent) | {readonly ok: false; readonly reason: 'truncated'}

const TRUNCATED = Object.freeze({ok: false, reason: 'truncated'} as const)

/**
 * Parses the first event of a telephone-event payload. The R bit is reserved
 * and ignored (§2.3.3); octets after the first event are not interpreted.
 */
export const parseTelephoneEvent = (payload: Uint8Array): TelephoneEventParseResult => {
  if (payload.length < TELEPHONE_EVENT_LENGTH) return TRUNCATED
  const flags = payload[1] as number
  return {
    ok: true,
    event: payload[0] as number,
    end: (flags & 0x80) !== 0,
    volume: flags & 0x3f,
    duration: ((payload[2] as number) << 8) | (payload[3] as number),
  }
}

const checkField = (name: string, value: number, max: number): void => {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`telephone-event ${name} ${value} is outside 0..${max}`)
}

/** Writes the 4-octet payload into `target` at `offset` (reserved bit zero, §2.3.3). */
export const writeTelephoneEvent = (target: Uint8Array, offset: number, event: TelephoneEvent): number => {
  checkField('event', event.event, 0xff)
  checkField('volume', event.volume, 0x3f)
  checkField('duration', event.duration, MAX_EVENT_DURATION)
  if (offset < 0 || offset + TELEPHONE_EVENT_LENGTH > target.length) throw new RangeError(`telephone-event does not fit at offset ${offset}`)
  target[offset] = event.event
  target[offset + 1] = (event.end ? 0x80 : 0) | event.volume
  target[offset + 2] = event.duration >> 8
  target[offset + 3] = event.duration & 0xff
  return TELEPHONE_EVENT_LENGTH
}

export const serializeTelephoneEvent = (event: TelephoneEvent): Buffer => {
  const payload = Buffer.alloc(TELEPHONE_EVENT_LENGTH)
  writeTelephoneEvent(payload, 0, event)
  return payload
}

const DTMF_DIGITS = '0123456789*#ABCD'

/** DTMF digit (0-9, *, #, A-D, case-insensitive) → event code (§3.2), or undefined. */
export const dtmfDigitToEvent = (digit: string): number | undefined => {
  if (digit.length !== 1) return undefined
  const code = DTMF_DIGITS.indexOf(digit.toUpperCase())
  return code < 0 ? undefined : code
}

/** Event code → DTMF digit, or undefined for codes that are not DTMF. */
export const eventToDtmfDigit = (event: number): string | undefined =>
  Number.isInteger(event) && event >= 0 && event < DTMF_DIGITS.length ? DTMF_DIGITS[event] : undefined

export interface TelephoneEventPacketPlan {
  /** RTP marker bit: set on the first packet of the event only (§2.5.1.1). */
  readonly marker: boolean
  readonly payload: TelephoneEvent
}

export interface TelephoneEventPlanOptions {
  readonly event: number
  readonly durationMs: number
  /** −dBm0, default 10. */
  readonly volume?: number
  /** Default 8000. */
  readonly clockRate?: number
  /** Interval between updates; §2.5.1.2 recommends 50 ms. */
  readonly packetIntervalMs?: number
}

/**
 * The packets that signal one event: a first packet with the marker bit,
 * updates every interval with the growing duration, and the end packet sent
 * three times (§2.5.1.4). All share the RTP timestamp of the event start; the
 * caller gives each its own sequence number and sends one per interval (the
 * three end packets back to back or an interval apart).
 */
export const planTelephoneEvent = (options: TelephoneEventPlanOptions): TelephoneEventPacketPlan[] => {
  const volume = options.volume ?? 10
  const clockRate = options.clockRate ?? 8000
  const intervalMs = options.packetIntervalMs ?? 50
  if (!(intervalMs > 0) || !(options.durationMs > 0)) throw new RangeError('telephone-event duration and packet interval must be positive')
  const total = Math.round((options.durationMs * clockRate) / 1000)
  const step = Math.round((intervalMs * clockRate) / 1000)
  checkField('duration', total, MAX_EVENT_DURATION)
  checkField('event', options.event, 0xff)
  checkField('volume', volume, 0x3f)

  const packets: TelephoneEventPacketPlan[] = []
  for (let duration = step; duration < total; duration += step) {
    packets.push({marker: packets.length === 0, payload: {event: options.event, end: false, volume, duration}})
  }
  for (let copy = 0; copy < 3; copy++) {
    packets.push({marker: packets.length === 0, payload: {event: options.event, end: true, volume, duration: total}})
  }
  return packets
}
