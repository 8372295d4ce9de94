// Writes a message to wire bytes. Header lines go out in order, as named;
// Content-Length is always present and always matches the body, which
// stream transports require (RFC 3261 §18.3) and datagrams tolerate.
import {isToken} from './grammar.js'
import {headerKey} from './headers.js'
import {SIP_VERSION, type SipMessage} from './message.js'

// Anything that would end a line early lets a value inject headers or a body.
const LINE_BREAK = /[\r\n]/

const check = (ok: boolean, problem: string): void => {
  if (!ok) throw new TypeError(`cannot serialize SIP message: ${problem}`)
}

const startLine = (message: SipMessage): string => {
  if (message.kind === 'request') {
    check(isToken(message.method), `method ${JSON.stringify(message.method)} is not a token`)
    check(message.uri !== '' && !/[\s]/.test(message.uri), `Request-URI ${JSON.stringify(message.uri)} is empty or has whitespace`)
    return `${message.method} ${message.uri} ${SIP_VERSION}`
  }
  check(Number.isInteger(message.status) && message.status >= 100 && message.status <= 699, `status ${message.status} is not 100-699`)
  check(!LINE_BREAK.test(message.reason), 'reason phrase has a line break')
  return `${SIP_VERSION} ${message.status} ${message.reason}`
}

export const serializeSipMessage = (message: SipMessage): Buffer => {
  const lines = [startLine(message)]
  let contentLengthWritten = false
  for (const {name, value} of message.headers) {
    check(isToken(name), `header name ${JSON.stringify(name)} is not a token`)
    check(!LINE_BREAK.test(value), `header ${name} has a line break`)
    if (headerKey(name) === 'content-length') {
      if (contentLengthWritten) continue
      contentLengthWritten = true
      lines.push(`${name}: ${message.body.length}`)
      continue
    }
    lines.push(`${name}: ${value}`)
  }
  if (!contentLengthWritten) lines.push(`Content-Length: ${message.body.length}`)
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), message.body])
}
