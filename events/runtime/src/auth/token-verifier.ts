/**
 * Verifies OIDC bearer tokens (JWTs) with `jose`: keys from the issuer's JWKS (discovered from
 * `/.well-known/openid-configuration`, or `OIDC_JWKS_URI`), algorithms pinned, `exp`, `nbf`, `iss`
 * and `aud` checked. The reasons it gives name the failed check, never the token's content.
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { BaseConfig } from '../config.js';
import type { Principal, Role } from './principal.js';

export type AuthConfig = Pick<
  BaseConfig,
  | 'OIDC_ISSUER'
  | 'OIDC_AUDIENCE'
  | 'OIDC_JWKS_URI'
  | 'OIDC_ALGORITHMS'
  | 'OIDC_ROLES_CLAIM'
  | 'OIDC_STUDENT_ROLE'
  | 'OIDC_STAFF_ROLE'
  | 'OIDC_CLOCK_TOLERANCE_S'
>;

/** The token is missing, malformed, or fails a check: 401 with RFC 6750's `invalid_token`. */
export class InvalidTokenError extends Error {}

/** The issuer's keys cannot be fetched: the server's problem, not the caller's (503). */
export class IssuerUnavailableError extends Error {}

export class TokenVerifier {
  private keys?: ReturnType<typeof createRemoteJWKSet>;
  private discovering?: Promise<ReturnType<typeof createRemoteJWKSet>>;

  constructor(private readonly config: AuthConfig) {}

  async verify(token: string): Promise<Principal> {
    const keys = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.config.OIDC_ISSUER as string,
        audience: this.config.OIDC_AUDIENCE as string,
        algorithms: this.config.OIDC_ALGORITHMS,
        clockTolerance: this.config.OIDC_CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw translate(error);
    }
    return { subject: payload.sub as string, roles: this.rolesOf(payload) };
  }

  private rolesOf(payload: JWTPayload): Set<Role> {
    const name = this.config.OIDC_ROLES_CLAIM;
    // A claim named with dots (Auth0's namespaced `https://soundgood.example/roles`) as it is, else a path.
    let claim: unknown = name in payload ? payload[name] : payload;
    if (!(name in payload)) {
      for (const part of name.split('.')) {
        claim = claim && typeof claim === 'object' ? (claim as Record<string, unknown>)[part] : undefined;
      }
    }
    const values = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(' ') : [];
    const roles = new Set<Role>();
    if (values.includes(this.config.OIDC_STUDENT_ROLE)) roles.add('student');
    if (values.includes(this.config.OIDC_STAFF_ROLE)) roles.add('staff');
    return roles;
  }

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.keys) return this.keys;
    this.discovering ??= this.discover().finally(() => {
      this.discovering = undefined;
    });
    this.keys = await this.discovering;
    return this.keys;
  }

  /** OpenID Connect Discovery 1.0 §4: the document's `issuer` must be the configured issuer. */
  private async discover(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const options = { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 };
    if (this.config.OIDC_JWKS_URI) return createRemoteJWKSet(new URL(this.config.OIDC_JWKS_URI), options);
    const url = `${(this.config.OIDC_ISSUER as string).replace(/\/$/, '')}/.well-known/openid-configuration`;
    let document: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch (error) {
      throw new IssuerUnavailableError(`OIDC discovery at ${url} failed: ${(error as Error).message}`);
    }
    if (document.issuer !== this.config.OIDC_ISSUER) {
      throw new IssuerUnavailableError(
        `OIDC discovery at ${url} names issuer ${String(document.issuer)}, not OIDC_ISSUER ${this.config.OIDC_ISSUER}`,
      );
    }
    if (typeof document.jwks_uri !== 'string') {
      throw new IssuerUnavailableError(`OIDC discovery at ${url} has no jwks_uri`);
    }
    return createRemoteJWKSet(new URL(document.jwks_uri), options);
  }
}

function translate(error: unknown): Error {
  if (error instanceof errors.JWTExpired) return new InvalidTokenError('the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    const reasons: Record<string, string> = {
      iss: 'the token is from an issuer this service does not accept',
      aud: 'the token is not meant for this audience',
      nbf: 'the token is not valid yet',
      iat: 'the token has an invalid issue time',
    };
    return new InvalidTokenError(
      reasons[error.claim] ??
        (error.reason === 'missing'
          ? `the token lacks the ${error.claim} claim`
          : `the token's ${error.claim} claim is invalid`),
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new InvalidTokenError('the token is signed with an algorithm this service does not accept');
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new InvalidTokenError("the token is signed with a key not among the issuer's keys");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new InvalidTokenError("the token's signature is invalid");
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return new InvalidTokenError('the token is not a well-formed signed JWT');
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new IssuerUnavailableError(`the issuer's keys could not be fetched: ${error.message}`);
  }
  if (error instanceof errors.JOSEError) return new InvalidTokenError('the token is invalid');
  // fetch() failures of the JWKS endpoint.
  return new IssuerUnavailableError(`the issuer's keys could not be fetched: ${(error as Error).message}`);
}
