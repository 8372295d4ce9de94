// A strict reader of the XML subset reports use (prolog, elements, attributes,
// text, CDATA, comments, the five predefined entities and character
// references): enough to prove a JUnit file well-formed and to read it. It
// throws on anything not well-formed: unbalanced or mismatched tags, a
// duplicate attribute, an unescaped < or &, characters XML forbids.
export interface XmlElement {
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  readonly children: XmlElement[]
  text: string
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/
const ENTITIES: Readonly<Record<string, string>> = {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"}
const FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u

const decode = (raw: string, where: number): string =>
  raw.replace(/&([^;]*);|&/g, (whole, body: string | undefined) => {
    if (body === undefined) throw new Error(`bare & at ${where}`)
    if (body in ENTITIES) return ENTITIES[body] as string
    const numeric = /^#(x[0-9a-fA-F]+|\d+)$/.exec(body)
    if (numeric === null) throw new Error(`unknown entity &${body}; at ${where}`)
    const code = (numeric[1] as string).startsWith('x') ? Number.parseInt((numeric[1] as string).slice(1), 16) : Number(numeric[1])
    const char = String.fromCodePoint(code)
    if (FORBIDDEN.test(char)) throw new Error(`character reference to a forbidden character at ${where}`)
    return char
  })

export const parseXml = (text: string): XmlElement => {
  if (FORBIDDEN.test(text)) throw new Error('a character XML forbids')
  let position = 0
  const skipMisc = (): void => {
    for (;;) {
      const rest = text.slice(position)
      const space = /^\s+/.exec(rest)
      if (space) {
        position += space[0].length
        continue
      }
      if (rest.startsWith('<?')) {
        const end = text.indexOf('?>', position)
        if (end === -1) throw new Error('unterminated processing instruction')
        position = end + 2
        continue
      }
      if (rest.startsWith('<!--')) {
        const end = text.indexOf('-->', position)
        if (end === -1) throw new Error('unterminated comment')
        position = end + 3
        continue
      }
      return
    }
  }
  const element = (): XmlElement => {
    if (text[position] !== '<') throw new Error(`expected < at ${position}`)
    position++
    const name = NAME.exec(text.slice(position))?.[0]
    if (name === undefined) throw new Error(`bad element name at ${position}`)
    position += name.length
    const attributes: Record<string, string> = {}
    for (;;) {
      const space = /^\s*/.exec(text.slice(position))?.[0] ?? ''
      position += space.length
      if (text.startsWith('/>', position)) {
        position += 2
        return {name, attributes, children: [], text: ''}
      }
      if (text[position] === '>') {
        position++
        break
      }
      if (space === '') throw new Error(`expected whitespace before an attribute at ${position}`)
      const attribute = NAME.exec(text.slice(position))?.[0]
      if (attribute === undefined) throw new Error(`bad attribute name at ${position}`)
      position += attribute.length
      const open = /^\s*=\s*(["'])/.exec(text.slice(position))
      if (open === null) throw new Error(`attribute ${attribute} has no quoted value at ${position}`)
      position += open[0].length
      const quote = open[1] as string
      const end = text.indexOf(quote, position)
      if (end === -1) throw new Error(`unterminated attribute ${attribute}`)
      const raw = text.slice(position, end)
      if (raw.includes('<')) throw new Error(`< in attribute ${attribute}`)
      if (Object.hasOwn(attributes, attribute)) throw new Error(`duplicate attribute ${attribute} on <${name}>`)
      attributes[attribute] = decode(raw, position)
      position = end + 1
    }
    const node: XmlElement = {name, attributes, children: [], text: ''}
    for (;;) {
      if (position >= text.length) throw new Error(`<${name}> is not closed`)
      if (text.startsWith('</', position)) {
        position += 2
        const closing = NAME.exec(text.slice(position))?.[0]
        if (closing !== name) throw new Error(`</${closing ?? '?'}> closes <${name}>`)
        position += closing.length
        const end = /^\s*>/.exec(text.slice(position))
        if (end === null) throw new Error(`bad end tag </${name}`)
        position += end[0].length
        return node
      }
      if (text.startsWith('<![CDATA[', position)) {
        const end = text.indexOf(']]>', position)
        if (end === -1) throw new Error('unterminated CDATA')
        node.text += text.slice(position + 9, end)
        position = end + 3
        continue
      }
      if (text.startsWith('<!--', position)) {
        const end = text.indexOf('-->', position)
        if (end === -1) throw new Error('unterminated comment')
        position = end + 3
        continue
      }
      if (text[position] === '<') {
        node.children.push(element())
        continue
      }
      const next = text.indexOf('<', position)
      const raw = text.slice(position, next === -1 ? text.length : next)
      if (raw.includes(']]>')) throw new Error(']]> in text')
      node.text += decode(raw, position)
      position += raw.length
    }
  }
  skipMisc()
  const root = element()
  skipMisc()
  if (position !== text.length) throw new Error(`content after the root element at ${position}`)
  return root
}

/** Every descendant element named `name`, in document order. */
export const findAll = (root: XmlElement, name: string): XmlElement[] => [
  ...(root.name === name ? [root] : []),
  ...root.children.flatMap((child) => findAll(child, name)),
]
