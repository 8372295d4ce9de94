// Checks that the headers every transaction and dialog depends on are
// present exactly once and well formed (RFC 3261 §8.1.1, §8.2.2, §16.3).
import {syntaxError} from './errors.js'
import {isValidCallId, parseContact, parseCSeq, parseMaxForwards} from './header-values.js'
import type {SipHeaders} from './headers.js'
import type {SipMessage} from './message.js'
import {parseNameAddr, parseNameAddrList} from './name-addr.js'
import {isToken} from './grammar.js'
import {parseVia} from './via.js'

/** The one value of a header that must appear exactly once. */
const single = (headers: SipHeaders, name: string): string => {
  const values = headers.getAll(name)
  if (values.length === 0) throw syntaxError(`missing ${name}`)
  if (values.length > 1) throw syntaxError(`more than one ${name}`)
  return values[0] as string
}

const atMostOnce = (headers: SipHeaders, name: string): string | undefined => {
  const values = headers.getAll(name)
  if (values.length > 1) throw syntaxError(`more than one ${name}`)
  return values[0]
}

const checkAddress = (value: string, name: string): void => {
  const params = parseNameAddr(value, name).params
  const tag = params.get('tag')
  if (params.has('tag') && (tag === null || tag === undefined || !isToken(tag))) throw syntaxError(`${name} tag is not a token`)
}

/**
 * Max-Forwards may be missing: RFC 3261 §8.1.1.6 makes it mandatory for a
 * UAC, but nothing breaks without it and real UAs omit it, so we assume 70
 * (maxForwardsOf) rather than reject the call. When present it must be valid.
 */
export const validateMessageHeaders = (message: SipMessage): void => {
  const {headers} = message
  const vias = headers.getAll('via')
  if (vias.length === 0) throw syntaxError('missing Via')
  for (const via of vias) parseVia(via)
  checkAddress(single(headers, 'From'), 'From')
  checkAddress(single(headers, 'To'), 'To')
  if (!isValidCallId(single(headers, 'Call-ID').trim())) throw syntaxError('malformed Call-ID')
  const cseq = parseCSeq(single(headers, 'CSeq'))
  if (message.kind === 'request' && cseq.method !== message.method) throw syntaxError('CSeq method does not match the request method')
  const maxForwards = atMostOnce(headers, 'Max-Forwards')
  if (maxForwards !== undefined) parseMaxForwards(maxForwards)
  atMostOnce(headers, 'Content-Length')
  const contacts = headers.getAll('contact')
  for (const contact of contacts) {
    if (parseContact(contact).star && contacts.length > 1) throw syntaxError('Contact * must stand alone')
  }
  for (const name of ['Route', 'Record-Route']) {
    for (const value of headers.getAll(name)) parseNameAddrList(value, name)
  }
}
