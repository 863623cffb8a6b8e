/**
 * A development OIDC issuer: an RS256 key pair (kept in `keyFile` when given, so tokens survive a
 * restart), its JWKS and discovery document over HTTP, and tokens minted with `jose`. Used by
 * `npm start`, docker-compose's issuer service and every test; never by a running service.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from 'jose';

export const DEV_AUDIENCE = 'soundgood';
export const STAFF_SUBJECT = 'staff-dev';

export interface DevIssuerOptions {
  /** 0 (default): any free port. */
  port?: number;
  host?: string;
  /** The issuer URL the tokens carry; default http://<host>:<port>. */
  issuer?: string;
  audience?: string;
  /** Where the private key is kept (JWK, mode 0600); a new key each start when absent. */
  keyFile?: string;
}

export interface MintOptions {
  /** Seconds from now; negative for an expired token. Default 3600. */
  expiresIn?: number;
  notBefore?: number;
  issuer?: string;
  audience?: string;
  /** Sign with a key the issuer does not publish. */
  foreignKey?: boolean;
  /** Extra claims, e.g. another roles claim. */
  claims?: JWTPayload;
}

export interface DevIssuer {
  issuer: string;
  audience: string;
  jwksUri: string;
  /** The environment a service needs to accept this issuer's tokens. */
  env: { OIDC_ISSUER: string; OIDC_AUDIENCE: string };
  mint(subject: string, roles: string[], options?: MintOptions): Promise<string>;
  student(id: string, options?: MintOptions): Promise<string>;
  staff(options?: MintOptions): Promise<string>;
  /** An `alg: none` token claiming staff: must always be refused. */
  unsigned(subject?: string, roles?: string[]): string;
  close(): Promise<void>;
}

async function loadOrCreateKey(keyFile?: string): Promise<JWK> {
  if (keyFile && existsSync(keyFile)) return JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  if (keyFile) {
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, JSON.stringify(jwk), { mode: 0o600 });
  }
  return jwk;
}

export async function startDevIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  const host = options.host ?? '127.0.0.1';
  const privateJwk = await loadOrCreateKey(options.keyFile);
  const { d, p, q, dp, dq, qi, ...publicParts } = privateJwk;
  const kid = await calculateJwkThumbprint(publicParts);
  const publicJwk = { ...publicParts, kid, alg: 'RS256', use: 'sig' };
  const privateKey = await importJWK(privateJwk, 'RS256');
  const foreignKey = (await generateKeyPair('RS256')).privateKey;

  let issuer = options.issuer ?? '';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (body: unknown) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path?.endsWith('/.well-known/openid-configuration')) {
      send({
        issuer,
        jwks_uri: `${issuer.replace(/\/$/, '')}/jwks`,
        id_token_signing_alg_values_supported: ['RS256'],
        subject_types_supported: ['public'],
        response_types_supported: ['token'],
      });
    } else if (path?.endsWith('/jwks')) {
      send({ keys: [publicJwk] });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  issuer ||= `http://${host}:${port}`;
  const audience = options.audience ?? DEV_AUDIENCE;

  const mint = async (subject: string, roles: string[], mintOptions: MintOptions = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ roles, ...mintOptions.claims })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setSubject(subject)
      .setIssuer(mintOptions.issuer ?? issuer)
      .setAudience(mintOptions.audience ?? audience)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + (mintOptions.expiresIn ?? 3600));
    if (mintOptions.notBefore !== undefined) jwt.setNotBefore(now + mintOptions.notBefore);
    return jwt.sign(mintOptions.foreignKey ? foreignKey : privateKey);
  };

  return {
    issuer,
    audience,
    jwksUri: `${issuer.replace(/\/$/, '')}/jwks`,
    env: { OIDC_ISSUER: issuer, OIDC_AUDIENCE: audience },
    mint,
    student: (id, mintOptions) => mint(id, ['student'], mintOptions),
    staff: (mintOptions) => mint(STAFF_SUBJECT, ['staff'], mintOptions),
    unsigned: (subject = STAFF_SUBJECT, roles = ['staff']) =>
      new UnsecuredJWT({ roles })
        .setSubject(subject)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('1h')
        .encode(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A token a service must refuse with 401, and the reason its answer must name. */
export interface RejectedToken {
  what: string;
  /** null: no Authorization header at all. */
  token: string | null;
  reason: RegExp;
}

/** Every kind of bad token, each claiming staff (which any route would otherwise let in). */
export async function rejectedTokens(issuer: DevIssuer): Promise<RejectedToken[]> {
  const staff = (options: MintOptions) => issuer.mint(STAFF_SUBJECT, ['staff'], options);
  return [
    { what: 'no token', token: null, reason: /bearer token is required/ },
    { what: 'expired', token: await staff({ expiresIn: -3600 }), reason: /expired/ },
    { what: 'not yet valid', token: await staff({ notBefore: 3600 }), reason: /not valid yet/ },
    { what: 'wrong audience', token: await staff({ audience: 'another-api' }), reason: /audience/ },
    { what: 'wrong issuer', token: await staff({ issuer: 'https://evil.example' }), reason: /issuer/ },
    { what: 'alg none', token: issuer.unsigned(), reason: /algorithm/ },
    { what: 'unknown key', token: await staff({ foreignKey: true }), reason: /key|signature/ },
    { what: 'malformed', token: 'not-a-jwt', reason: /well-formed/ },
  ];
}

/**
 * Calls a route with each rejected token and lists what is wrong with the answers (empty: all
 * refused as RFC 6750 §3 says: 401, a Bearer challenge, `error="invalid_token"` when a token was
 * sent, a message naming the reason and echoing nothing of the token).
 */
export async function authProblems(
  issuer: DevIssuer,
  call: (token: string | null) => Promise<{ status: number; headers: Headers; body: unknown }>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const { what, token, reason } of await rejectedTokens(issuer)) {
    const response = await call(token);
    const body = JSON.stringify(response.body);
    const challenge = response.headers.get('www-authenticate') ?? '';
    if (response.status !== 401) problems.push(`${what}: ${response.status} ${body}, not 401`);
    if (!challenge.startsWith('Bearer realm="soundgood"')) {
      problems.push(`${what}: WWW-Authenticate is "${challenge}"`);
    }
    if ((token !== null) !== challenge.includes('error="invalid_token"')) {
      problems.push(`${what}: WWW-Authenticate "${challenge}" has the wrong error code`);
    }
    if (!reason.test(body)) problems.push(`${what}: the answer ${body} does not name the reason ${reason}`);
    if (
      token &&
      token.length > 20 &&
      (body.includes(token.slice(-20)) || challenge.includes(token.slice(-20)))
    ) {
      problems.push(`${what}: the answer echoes the token`);
    }
  }
  return problems;
}
