// Source-address matching shared by trunk admission and SIP abuse control:
// CIDR lists compiled once into node's BlockList (checked per request).
import {BlockList, isIP} from 'node:net'

export const addressFamily = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4')

/** `203.0.113.0/24`, `2001:db8::/32` or a bare address; undefined for an empty list (nothing matches). */
export const cidrBlockList = (cidrs: readonly string[]): BlockList | undefined => {
  if (cidrs.length === 0) return undefined
  const list = new BlockList()
  for (const cidr of cidrs) {
    const [address = '', bits] = cidr.split('/')
    if (bits === undefined) list.addAddress(address, addressFamily(address))
    else list.addSubnet(address, Number(bits), addressFamily(address))
  }
  return list
}

/** An IPv4 peer may show up as ::ffff:a.b.c.d on a dual-stack socket. */
export const plainAddress = (address: string): string => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address)
