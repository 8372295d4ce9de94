// Wildcard listen addresses. A listener bound to 0.0.0.0 (or ::) accepts on
// every address of the host, so printing it as 127.0.0.1 would hide that it
// is reachable from the network; printing only the wildcard would not say how
// to reach it. The CLI shows both: the bound address and a loopback one.

/** `0.0.0.0` (every IPv4 address) or `::` (every IPv6 address, and IPv4 too on a dual-stack socket). */
export const isWildcardAddress = (address: string): boolean => address === '0.0.0.0' || address === '::'

/** The address a client on this host uses to reach a listener bound to `address`: loopback for a wildcard, else the address itself. */
export const localAddressFor = (address: string): string => (address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address)

/** An address as it goes before `:port`: IPv6 in brackets. */
export const hostForPort = (address: string): string => (address.includes(':') ? `[${address}]` : address)
