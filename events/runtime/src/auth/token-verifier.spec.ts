import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseConfigSchema, loadConfig } from '../config.js';
import { type DevIssuer, startDevIssuer } from './dev-issuer.js';
import { InvalidTokenError, IssuerUnavailableError, TokenVerifier } from './token-verifier.js';

let issuer: DevIssuer;
const verifierFor = (env: Record<string, string> = {}) =>
  new TokenVerifier(
    loadConfig(baseConfigSchema, {
      DATABASE_URL: 'postgresql://localhost/x',
      EVENT_TRANSPORT: 'kafka',
      KAFKA_BROKERS: 'localhost:9092',
      ...issuer.env,
      ...env,
    }),
  );

beforeAll(async () => {
  issuer = await startDevIssuer();
});
afterAll(() => issuer.close());

describe('TokenVerifier', () => {
  it("accepts the issuer's token (keys by discovery) and reads subject and roles", async () => {
    const principal = await verifierFor().verify(await issuer.student('s-1'));
    expect(principal.subject).toBe('s-1');
    expect([...principal.roles]).toEqual(['student']);
  });

  it('reads the JWKS from OIDC_JWKS_URI and roles from a nested claim', async () => {
    const token = await issuer.mint('s-2', [], { claims: { realm_access: { roles: ['staff'] } } });
    const verifier = verifierFor({ OIDC_JWKS_URI: issuer.jwksUri, OIDC_ROLES_CLAIM: 'realm_access.roles' });
    expect([...(await verifier.verify(token)).roles]).toEqual(['staff']);
  });

  it('reads a namespaced roles claim whose name has dots (Auth0)', async () => {
    const claim = 'https://soundgood.example/roles';
    const token = await issuer.mint('s-3', [], { claims: { [claim]: ['student'] } });
    expect([...(await verifierFor({ OIDC_ROLES_CLAIM: claim }).verify(token)).roles]).toEqual(['student']);
  });

  it.each([
    ['expired', { expiresIn: -3600 }, /expired/],
    ['not yet valid', { notBefore: 3600 }, /not valid yet/],
    ['of another audience', { audience: 'someone-else' }, /audience/],
    ['of another issuer', { issuer: 'https://evil.example' }, /issuer/],
    ['signed with a key the issuer does not publish', { foreignKey: true }, /key|signature/],
  ])('refuses a token %s, naming why', async (_what, options, reason) => {
    const token = await issuer.student('s-1', options);
    const error = await verifierFor()
      .verify(token)
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain('s-1');
  });

  it('refuses alg none, and an algorithm it was not configured for', async () => {
    await expect(verifierFor().verify(issuer.unsigned())).rejects.toThrow(/algorithm/);
    await expect(verifierFor({ OIDC_ALGORITHMS: 'ES256' }).verify(await issuer.staff())).rejects.toThrow(
      /algorithm/,
    );
  });

  it('never accepts none or HS256 in OIDC_ALGORITHMS', () => {
    expect(() => verifierFor({ OIDC_ALGORITHMS: 'RS256,none' })).toThrow(/OIDC_ALGORITHMS/);
    expect(() => verifierFor({ OIDC_ALGORITHMS: 'HS256' })).toThrow(/OIDC_ALGORITHMS/);
  });

  it('says the issuer is unavailable (not that the token is bad) when discovery fails', async () => {
    const verifier = verifierFor({ OIDC_ISSUER: 'http://127.0.0.1:9/nowhere' });
    await expect(verifier.verify(await issuer.staff())).rejects.toBeInstanceOf(IssuerUnavailableError);
  });
});
