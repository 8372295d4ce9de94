// A token issuer for tests: a real ES256 key pair made by jose, the auth.jwt
// config that trusts it, and tokens with any claims (or broken on purpose).
import {webcrypto} from 'node:crypto'
import {exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload} from 'jose'

export const ISSUER = 'https://auth.test/'
export const AUDIENCE = 'clutchcall'

export class TestIssuer {
  private constructor(
    private readonly privateKey: webcrypto.CryptoKey,
    readonly publicJwk: JWK,
    readonly kid: string,
  ) {}

  static async create(kid = 'test-key-1'): Promise<TestIssuer> {
    const {privateKey, publicKey} = await generateKeyPair('ES256', {extractable: true})
    return new TestIssuer(privateKey, {...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig'}, kid)
  }

  /** The `auth.jwt` section (YAML flow style, so it nests under any indentation). */
  configYaml(extraKeys: readonly JWK[] = []): string {
    return `auth:\n  jwt: ${JSON.stringify({keys: [this.publicJwk, ...extraKeys], issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256']})}\n`
  }

  /** A valid token for `tenant` (5 minutes), with claims and header fields overridden as given. */
  async token(tenant: string, options: {claims?: JWTPayload; expiresIn?: string | number; notBefore?: string | number; kid?: string; issuer?: string; audience?: string} = {}): Promise<string> {
    let jwt = new SignJWT({tenant, ...options.claims})
      .setProtectedHeader({alg: 'ES256', kid: options.kid ?? this.kid})
      .setIssuedAt()
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setSubject('test-client')
      .setExpirationTime(options.expiresIn ?? '5m')
    if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore)
    return jwt.sign(this.privateKey)
  }
}

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url')

/** An unsigned token (`alg: none`) with the given claims. */
export const unsignedToken = (claims: JWTPayload): string => `${base64url(JSON.stringify({alg: 'none', typ: 'JWT'}))}.${base64url(JSON.stringify(claims))}.`

/** The token with one character of its payload changed and the signature kept. */
export const tamperedToken = (token: string): string => {
  const [header = '', payload = '', signature = ''] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JWTPayload
  return `${header}.${base64url(JSON.stringify({...claims, tenant: `${String(claims.tenant)}x`}))}.${signature}`
}
