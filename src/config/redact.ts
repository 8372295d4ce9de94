// Secrets never leave the process: `config show`, logs and admin answers use
// the redacted copy. A secret is any key named in SECRET_KEYS, at any depth.
// JWK members k (a shared secret) and d, p, q, dp, dq, qi (private key parts) are secrets too.
const SECRET_KEYS = new Set(['password', 'secret', 'token', 'private_key', 'k', 'd', 'p', 'q', 'dp', 'dq', 'qi'])
export const REDACTED = '********'

export const redactSecrets = <T>(value: T): T => {
  if (Array.isArray(value)) return value.map((item: unknown) => redactSecrets(item)) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, SECRET_KEYS.has(key) && typeof item === 'string' && item.length > 0 ? REDACTED : redactSecrets(item)]),
    ) as T
  }
  return value
}
